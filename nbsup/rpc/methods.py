"""supervisord's ``supervisor.*`` XML-RPC methods over an nbsup :class:`~nbsup.Supervisor`.

Names, arguments, results and faults follow ``supervisor/rpcinterface.py`` (4.3.0,
semantics.md §10 and §14). Each method's docstring is what ``system.methodHelp`` returns
and its ``@signature`` what ``system.methodSignature`` returns. Methods that wait (a start
with ``wait=True``, a stop) block only the calling thread: the server runs each request on
its own thread, and the supervisor's loop thread keeps supervising meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ..control import start_together, stop_together
from ..core.errors import Fault, FaultCode
from ..core.states import RUNNING_STATES, SIGNALLABLE_STATES
from ..core.values import signal_number
from ..program import Program
from ..supervisor import Supervisor
from . import names
from .logmethods import LogMethods, log_path
from .names import Result, outcome, signature

#: The API version supervisorctl checks (``rpcinterface.API_VERSION``).
API_VERSION = "3.0"
#: The supervisord version whose interface and semantics nbsup implements.
SUPERVISOR_VERSION = "4.3.0"


def _each(
    programs: list[Program],
    together: Callable[[list[Program], bool], list[Fault | None]],
    wait: bool,
) -> list[Result]:
    """Start or stop programs as supervisord's ``make_allfunc``: every request is made
    first, then all are waited for side by side (:mod:`nbsup.control`)."""
    outcomes = together(programs, wait)
    return [
        names.result(p) if fault is None else names.result(p, fault.code, str(fault))
        for p, fault in zip(programs, outcomes, strict=True)
    ]


def _seconds(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class SupervisorNamespace(LogMethods):
    """The ``supervisor.*`` methods for one supervisor.

    Parameters
    ----------
    supervisor
        The supervisor the methods act on.
    """

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor

    # ------------------------------------------------------------------ the daemon

    @signature("string")
    def getAPIVersion(self) -> str:
        """Return the version of the RPC API used by supervisord.

        @return string version id
        """
        return API_VERSION

    @signature("string")
    def getSupervisorVersion(self) -> str:
        """Return the version of supervisord nbsup implements (4.3.0).

        @return string version id
        """
        return SUPERVISOR_VERSION

    @signature("string")
    def getIdentification(self) -> str:
        """Return the identifying string of the server ("nbsup").

        @return string identifier identifying string
        """
        return "nbsup"

    @signature("struct")
    def getState(self) -> Result:
        """Return the supervisor's state as a struct (RUNNING while it serves).

        @return struct A struct with keys int statecode, string statename
        """
        return {"statecode": 1, "statename": "RUNNING"}

    @signature("int")
    def getPID(self) -> int:
        """Return the PID of the supervisor: the kernel's (or Python's) process.

        @return int PID
        """
        return os.getpid()

    # ------------------------------------------------------------------ information

    @signature("struct", "string")
    def getProcessInfo(self, name: object) -> Result:
        """Get info about a process named name.

        @param string name The name of the process (or 'group:name')
        @return struct result     A structure containing data about the process
        """
        program = names.find_program(self.supervisor, name)
        info: Result = self.supervisor._runner.call(program.info)
        return info

    @signature("array")
    def getAllProcessInfo(self) -> list[Result]:
        """Get info about all processes, by group then name.

        @return array result  An array of process status results
        """
        programs = sorted(self.supervisor.programs, key=lambda p: (p.group, p.name))
        infos: list[Result] = self.supervisor._runner.call(lambda: [p.info() for p in programs])
        return infos

    @signature("array")
    def getAllConfigInfo(self) -> list[Result]:
        """Get info about all available process configurations, by name.

        @return array result  An array of process config info structs
        """
        return sorted((self._config_info(p) for p in self.supervisor.programs), key=_by_name)

    def _config_info(self, program: Program) -> Result:
        options = program.options
        logs = {c: log_path(program, c) for c in ("stdout", "stderr")}
        group = [p.options.priority for p in self.supervisor.programs if p.group == program.group]
        return {
            "autostart": options.autostart,
            "directory": options.directory or "none",
            "uid": "none",
            "command": options.command,
            "exitcodes": list(options.exitcodes),
            "group": program.group,
            "group_prio": min(group, default=options.priority),
            "inuse": True,
            "killasgroup": options.killasgroup,
            "name": program.name,
            "process_prio": options.priority,
            "redirect_stderr": options.redirect_stderr,
            "startretries": options.startretries,
            "startsecs": _seconds(options.startsecs),
            "stdout_capture_maxbytes": 0,
            "stdout_events_enabled": False,
            "stdout_logfile": str(logs["stdout"] or "none"),
            "stdout_logfile_backups": options.stdout_logfile_backups,
            "stdout_logfile_maxbytes": options.stdout_logfile_maxbytes,
            "stdout_syslog": False,
            "stopsignal": int(options.stopsignal),
            "stopwaitsecs": _seconds(options.stopwaitsecs),
            "stderr_capture_maxbytes": 0,
            "stderr_events_enabled": False,
            "stderr_logfile": str(logs["stderr"] or "none"),
            "stderr_logfile_backups": options.stderr_logfile_backups,
            "stderr_logfile_maxbytes": options.stderr_logfile_maxbytes,
            "stderr_syslog": False,
            "serverurl": "AUTO",
        }

    # ------------------------------------------------------------------ start

    @signature("boolean", "string", "boolean")
    def startProcess(self, name: object, wait: object = True) -> bool | list[Result]:
        """Start a process.

        @param string name Process name (or ``group:name``, or ``group:*``)
        @param boolean wait Wait for process to be fully started
        @return boolean result     Always true unless error
        """
        waiting = names.flag(wait, "wait")
        group, program = names.find(self.supervisor, name)
        if program is None:
            return self.startProcessGroup(group, waiting)
        program.start(wait=waiting)
        return True

    @signature("array", "string", "boolean")
    def startProcessGroup(self, name: object, wait: object = True) -> list[Result]:
        """Start all processes in the group named 'name'.

        @param string name     The group name
        @param boolean wait    Wait for each process to be fully started
        @return array result   An array of process status info structs
        """
        waiting = names.flag(wait, "wait")
        programs = names.group_programs(self.supervisor, names.text(name, "name"))
        return self._start(programs, waiting)

    @signature("array", "boolean")
    def startAllProcesses(self, wait: object = True) -> list[Result]:
        """Start all processes, by priority.

        @param boolean wait    Wait for each process to be fully started
        @return array result   An array of process status info structs
        """
        return self._start(self.supervisor.programs, names.flag(wait, "wait"))

    def _start(self, programs: list[Program], wait: bool) -> list[Result]:
        targets = [p for p in programs if p.state not in RUNNING_STATES]
        return _each(targets, start_together, wait)

    # ------------------------------------------------------------------ stop

    @signature("boolean", "string", "boolean")
    def stopProcess(self, name: object, wait: object = True) -> bool | list[Result]:
        """Stop a process named by name.

        @param string name  The name of the process to stop (or 'group:name')
        @param boolean wait        Wait for the process to be fully stopped
        @return boolean result     Always return True unless error
        """
        waiting = names.flag(wait, "wait")
        group, program = names.find(self.supervisor, name)
        if program is None:
            return self.stopProcessGroup(group, waiting)
        program.stop(wait=waiting)
        return True

    @signature("array", "string", "boolean")
    def stopProcessGroup(self, name: object, wait: object = True) -> list[Result]:
        """Stop all processes in the process group named 'name'.

        @param string name     The group name
        @param boolean wait    Wait for each process to be fully stopped
        @return array result   An array of process status info structs
        """
        waiting = names.flag(wait, "wait")
        programs = names.group_programs(self.supervisor, names.text(name, "name"))
        return self._stop(programs, waiting)

    @signature("array", "boolean")
    def stopAllProcesses(self, wait: object = True) -> list[Result]:
        """Stop all processes in the process list.

        @param  boolean wait   Wait for each process to be fully stopped
        @return array result   An array of process status info structs
        """
        return self._stop(self.supervisor.programs, names.flag(wait, "wait"))

    def _stop(self, programs: list[Program], wait: bool) -> list[Result]:
        targets = [p for p in programs if p.state in RUNNING_STATES]
        return _each(targets, stop_together, wait)  # supervisord's order, not reversed

    # ------------------------------------------------------------------ signals

    @signature("boolean", "string", "string")
    def signalProcess(self, name: object, signal: object) -> bool | list[Result]:
        """Send an arbitrary UNIX signal to the process named by name.

        @param string name    Name of the process to signal (or 'group:name')
        @param string signal  Signal to send, as name ('HUP') or number ('1')
        @return boolean
        """
        group, program = names.find(self.supervisor, name)
        if program is None:
            return self.signalProcessGroup(group, signal)
        program.signal(_signal(signal))
        return True

    @signature("array", "string", "string")
    def signalProcessGroup(self, name: object, signal: object) -> list[Result]:
        """Send a signal to all processes in the group named 'name'.

        @param string name    The group name
        @param string signal  Signal to send, as name ('HUP') or number ('1')
        @return array
        """
        programs = names.group_programs(self.supervisor, names.text(name, "name"))
        return self._signal(programs, signal)

    @signature("array", "string")
    def signalAllProcesses(self, signal: object) -> list[Result]:
        """Send a signal to all processes in the process list.

        @param string signal  Signal to send, as name ('HUP') or number ('1')
        @return array         An array of process status info structs
        """
        return self._signal(self.supervisor.programs, signal)

    def _signal(self, programs: list[Program], signal: object) -> list[Result]:
        targets = [p for p in programs if p.state in SIGNALLABLE_STATES]
        return [outcome(p, lambda p: p.signal(_signal(signal))) for p in targets]


def _signal(value: object) -> int:
    try:
        return int(signal_number("signal", value))
    except ValueError:
        raise Fault(FaultCode.BAD_SIGNAL, str(value)) from None


def _by_name(info: Result) -> str:
    return str(info["name"])


#: Older names supervisord still answers to (``rpcinterface.py``: b/w compatibility).
ALIASES = {
    "getVersion": "getAPIVersion",
    "readMainLog": "readLog",
    "readProcessLog": "readProcessStdoutLog",
    "tailProcessLog": "tailProcessStdoutLog",
    "clearProcessLog": "clearProcessLogs",
}


def published(namespace: SupervisorNamespace) -> dict[str, Callable[..., Any]]:
    """Every ``supervisor.*`` method of ``namespace`` by its XML-RPC name, aliases included."""
    methods = {
        f"supervisor.{attr}": getattr(namespace, attr)
        for attr in dir(type(namespace))
        if hasattr(getattr(type(namespace), attr), "rpc_signature")
    }
    for alias, target in ALIASES.items():
        methods[f"supervisor.{alias}"] = methods[f"supervisor.{target}"]
    return methods
