"""supervisorctl's command language over a :class:`~nbsup.Supervisor`.

``Supervisorctl(sup).run("status")`` writes what ``supervisorctl status`` would print; the
``%supervisorctl`` magic is a thin wrapper around it. Messages and formats follow
``supervisor/supervisorctl.py`` (4.3.0).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable

from .core.errors import Fault, FaultCode
from .program import Program
from .supervisor import Supervisor

Write = Callable[[str], None]

_START_ERRORS = {
    FaultCode.BAD_NAME: "no such process",
    FaultCode.NO_FILE: "no such file",
    FaultCode.NOT_EXECUTABLE: "file is not executable",
    FaultCode.ALREADY_STARTED: "already started",
    FaultCode.SPAWN_ERROR: "spawn error",
    FaultCode.ABNORMAL_TERMINATION: "abnormal termination",
}
_SIGNAL_ERRORS = {
    FaultCode.BAD_NAME: "no such process",
    FaultCode.BAD_SIGNAL: "bad signal name",
    FaultCode.NOT_RUNNING: "not running",
}

HELP = """\
status [name ...]            status of all programs or the named ones
start name [...] | all       start programs and wait until they run (or fail)
stop name [...] | all        stop programs by their stop rules
restart name [...] | all     stop, then start
signal SIG name [...] | all  send a signal (HUP, USR1, 15...) to programs
tail [-f] [-BYTES] name [stdout|stderr]
                             the end of a program's output (-f: follow until interrupted)
clear name [...] | all       empty programs' output logs
pid [name | all]             the kernel's pid, or programs' pids
remove name [...]            forget stopped programs
serve [address] | serve stop serve supervisord's XML-RPC (the real supervisorctl connects)
help                         this text"""


class Supervisorctl:
    """Runs supervisorctl commands against a supervisor.

    Parameters
    ----------
    supervisor
        The supervisor to control.
    follow_timeout
        For ``tail -f``: stop following after this many seconds (None: until interrupted).
    """

    def __init__(self, supervisor: Supervisor, follow_timeout: float | None = None) -> None:
        self.supervisor = supervisor
        self.follow_timeout = follow_timeout

    def run(self, line: str, write: Write = print) -> None:
        """Run one command line, writing its output line by line."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            write(f"*** Bad syntax: {error}")
            return
        if not words:
            words = ["status"]
        command, args = words[0].lower(), words[1:]
        handler = getattr(self, f"do_{command}", None)
        if handler is None:
            write(f"*** Unknown syntax: {line.strip()}")
            return
        handler(args, write)

    # ------------------------------------------------------------------ commands

    def do_help(self, args: list[str], write: Write) -> None:
        write(HELP)

    def do_status(self, args: list[str], write: Write) -> None:
        sup = self.supervisor
        known = [name for name in args if name in sup]
        for name in args:
            if name not in sup:
                write(f"{name}: ERROR (no such process)")
        if args and not known:
            return
        text = sup.status(*known)
        if text:
            write(text)

    def do_start(self, args: list[str], write: Write) -> None:
        if args == ["all"]:  # supervisord's startAllProcesses: all together
            for name, fault in self.supervisor.start_all().items():
                self._started(name, fault, write)
            return
        for program in self._targets("start", args, write, reverse=False):
            try:
                program.start(wait=True)
            except Fault as fault:
                self._started(program.name, fault, write)
            else:
                self._started(program.name, None, write)

    def do_stop(self, args: list[str], write: Write) -> None:
        if args == ["all"]:  # supervisord's stopAllProcesses: all together
            for name, fault in self.supervisor.stop_all().items():
                if fault is None:
                    write(f"{name}: stopped")
                else:
                    write(f"{name}: ERROR ({_SIGNAL_ERRORS.get(fault.code, str(fault))})")
            return
        for program in self._targets("stop", args, write, reverse=True):
            self._stop(program, write)

    @staticmethod
    def _started(name: str, fault: Fault | None, write: Write) -> None:
        if fault is None:
            write(f"{name}: started")
        else:
            write(f"{name}: ERROR ({_START_ERRORS.get(fault.code, str(fault))})")

    def _stop(self, program: Program, write: Write) -> bool:
        try:
            program.stop(wait=True)
        except Fault as fault:
            write(f"{program.name}: ERROR ({_SIGNAL_ERRORS.get(fault.code, str(fault))})")
            return False
        write(f"{program.name}: stopped")
        return True

    def do_restart(self, args: list[str], write: Write) -> None:
        targets = self._targets("restart", args, write, reverse=True)
        for program in targets:
            self._stop(program, write)
        for program in reversed(targets):
            self.do_start([program.name], write)

    def do_signal(self, args: list[str], write: Write) -> None:
        if len(args) < 2:
            write("Error: signal requires a signal name and a process name")
            return
        sig, names = args[0], args[1:]
        for program in self._targets("signal", names, write, reverse=False):
            try:
                program.signal(sig)
            except Fault as fault:
                write(f"{program.name}: ERROR ({_SIGNAL_ERRORS.get(fault.code, str(fault))})")
            else:
                write(f"{program.name}: signalled")

    def do_pid(self, args: list[str], write: Write) -> None:
        if not args:
            write(str(os.getpid()))
            return
        if args == ["all"]:
            for program in self.supervisor.programs:
                write(str(program.pid))
            return
        for name in args:
            if name in self.supervisor:
                write(str(self.supervisor[name].pid))
            else:
                write(f"No such process {name}")

    def do_clear(self, args: list[str], write: Write) -> None:
        for program in self._targets("clear", args, write, reverse=False):
            program.clear_log()
            write(f"{program.name}: cleared")

    def do_remove(self, args: list[str], write: Write) -> None:
        if not args:
            write("Error: remove requires a process name")
            return
        for name in args:
            try:
                self.supervisor.remove_program(name)
            except Fault as fault:
                if fault.code is FaultCode.BAD_NAME:
                    write(f"ERROR: no such process/group: {name}")
                else:
                    write(f"ERROR: process/group still running: {name}")
            else:
                write(f"{name}: removed process group")

    def do_tail(self, args: list[str], write: Write) -> None:
        if not args:
            write("Error: too few arguments")
            return
        if len(args) > 3:
            write("Error: too many arguments")
            return
        modifier = args.pop(0) if args[0].startswith("-") else None
        if not args:
            write("Error: tail requires process name")
            return
        name = args[0]
        channel = args[1].lower() if len(args) > 1 else "stdout"
        if channel not in ("stdout", "stderr"):
            write(f"Error: bad channel {channel!r}")
            return
        nbytes: int | None = 1600
        follow = False
        if modifier is not None:
            what = modifier[1:]
            if what == "f":
                follow = True
            else:
                try:
                    nbytes = int(what)
                except ValueError:
                    write(f"Error: bad argument {modifier}")
                    return
        if name not in self.supervisor:
            write(f"{name}: ERROR (no such process)")
            return
        program = self.supervisor[name]
        try:
            output = program.output_channel(channel)
        except Fault:
            write(f"{name}: ERROR (no log file)")
            return
        text = output.tail(nbytes)
        if follow:
            self._follow(output, write)
        else:
            write(text.decode("utf-8", "replace"))

    def _follow(self, output: object, write: Write) -> None:
        from .runtime.output import OutputChannel

        assert isinstance(output, OutputChannel)
        write("==> Press the stop button (interrupt the kernel) to stop following <==")
        data, position = output.read_since(max(0, output.total - 1600))
        if data:
            write(data.decode("utf-8", "replace").rstrip("\n"))
        waited = 0.0
        try:
            while self.follow_timeout is None or waited < self.follow_timeout:
                if output.wait_for_more(position, 0.25):
                    data, position = output.read_since(position)
                    write(data.decode("utf-8", "replace").rstrip("\n"))
                else:
                    waited += 0.25
        except KeyboardInterrupt:
            return

    def do_serve(self, args: list[str], write: Write) -> None:
        sup = self.supervisor
        if args == ["stop"]:
            serving = sup.rpc_info is not None
            sup.rpc_enabled = False
            write("stopped serving XML-RPC" if serving else "Error: not serving XML-RPC")
            return
        if len(args) > 1:
            write("Error: serve takes one address (unix:///path, host:port) or stop")
            return
        previous = sup.rpc_address
        try:
            if args:
                sup.rpc_address = args[0]
            sup.rpc_enabled = True
        except (OSError, ValueError) as error:
            sup.rpc_address = previous
            write(f"Error: cannot serve XML-RPC: {error}")
            return
        info = sup.rpc_info
        write(f"serving supervisord's XML-RPC interface on {info.url}")
        write("connect with:")
        write(f"  {info.command('status')}")
        write(f"  supervisorctl -c {shlex.quote(str(info.config_path))} status")

    # ------------------------------------------------------------------ helpers

    def _targets(self, command: str, args: list[str], write: Write, reverse: bool) -> list[Program]:
        sup = self.supervisor
        if not args:
            write(f"Error: {command} requires a process name")
            return []
        if "all" in args:
            programs = sup.programs
            return list(reversed(programs)) if reverse else programs
        targets = []
        for name in args:
            if name in sup:
                targets.append(sup[name])
            else:
                write(f"{name}: ERROR (no such process)")
        return targets
