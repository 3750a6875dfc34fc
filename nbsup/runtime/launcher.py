"""The local launcher: starts, signals and reaps programs' processes on this machine.

:class:`LocalLauncher` implements :class:`~.launcher_interface.Launcher` event-driven on an
asyncio loop: a pidfd tells when a child exits (no polling, no reap race) and readers on
its pipes deliver output as it comes. :class:`nbsup.testing.FakeLauncher` implements the
same interface on virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..core.events import ExitStatus
from ..core.options import ProgramOptions
from .commands import CommandError, ResolvedCommand, resolve
from .environment import Environment, StartEnvironments, child_environment
from .exitdates import ExitDates
from .gil import PROMPTER
from .launcher_interface import ExitCallback, OutputCallback, ProcessHandle, SpawnError
from .readers import Readers
from .spawner import Child, ChildPipes, spawn_error_message, start_child
from .watchdog import Watchdog

READ_SIZE = 1 << 18
DRAIN_READS = 64  # at exit, read at most this many chunks (a grandchild may keep writing)
#: Shortest interval between two SIGKILLs to what is left of an ended program's group.
SWEEP_REPEAT = 0.1
#: Most commands remembered resolved (the cache is emptied when full).
KNOWN_COMMANDS = 1024
#: How often a process is checked for its exit when no pidfd could be opened for it.
EXIT_POLL_INTERVAL = 0.05


#: Pipe capacity asked for (Linux's unprivileged maximum) once a pipe carries output: a
#: child writes this much before it waits for the supervisor, instead of 64 KiB; fewer
#: wake-ups, and a busy kernel (the supervisor's thread waits for the GIL) does not stall a
#: fast writer. A pipe nothing comes through (a program restarting at once) is not widened:
#: that is 2 x 4 us of each restart.
PIPE_SIZE = 1 << 20


def _widen_pipe(fd: int) -> None:
    """Grow a pipe to :data:`PIPE_SIZE` where the system allows it (best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


#: The exit statuses of the 256 exit codes, made once (they are immutable).
_EXIT_CODES = tuple(ExitStatus(code=code) for code in range(256))


def decode_wait_status(status: int) -> ExitStatus:
    """An ``os.waitpid`` status as an :class:`ExitStatus`."""
    if os.WIFEXITED(status):
        return _EXIT_CODES[os.WEXITSTATUS(status)]
    if os.WIFSIGNALED(status):
        return ExitStatus(signal=os.WTERMSIG(status), core_dumped=os.WCOREDUMP(status))
    return ExitStatus()


@dataclass(eq=False)
class LocalProcess:
    """One running child of a :class:`LocalLauncher`."""

    pid: int
    on_output: OutputCallback
    on_exit: ExitCallback
    #: This process's end of the child's stdin (-1 once closed).
    stdin: int = -1
    pidfd: int = -1
    #: The read ends of its output pipes, by descriptor: "stdout" or "stderr".
    pipes: dict[int, str] = field(default_factory=dict)
    status: ExitStatus | None = None
    stopsignal: int = signal.SIGTERM
    stopwaitsecs: float = 10.0
    #: Kill what is left of the process group when the process ends (``killasgroup``).
    sweep: bool = True
    #: Loop time the stop signal was sent to the group, if it was.
    stop_sent_at: float | None = None
    #: Its last output was delivered and its pipes closed (:meth:`LocalLauncher.finish`).
    finished: bool = False


class LocalLauncher:
    """Runs programs as children of this process, each in a session of its own.

    Parameters
    ----------
    loop
        The supervisor's event loop; every method must be called on its thread.
    watchdog
        Kills the programs' groups if this process dies (created when omitted).
    reported_at
        When the loop's selector last returned (monotonic seconds), to date the exits it
        reports (:mod:`nbsup.runtime.exitdates`).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        watchdog: Watchdog | None = None,
        reported_at: Callable[[], float] | None = None,
    ):
        self.loop = loop
        #: The children's pipes and pidfds, behind one reader of the loop.
        self.readers = Readers(loop)
        #: The pipes widened to :data:`PIPE_SIZE` (those output came through).
        self._widened: set[int] = set()
        self.watchdog = watchdog if watchdog is not None else Watchdog()
        self.exit_dates = ExitDates(loop.time, reported_at)
        self.base_environment: Mapping[str, str] = os.environ
        #: The children not reaped yet, by pid.
        self.children: dict[int, LocalProcess] = {}
        #: Pipes made after a start for the next one (off the path from an exit to a start).
        self._next_pipes: ChildPipes | None = None
        self.environments = StartEnvironments()
        #: Commands started before, resolved, by (command, PATH): checked again on failure.
        self._commands: dict[tuple[str, str | None], ResolvedCommand] = {}
        self._guard_fd = -1
        self._watch_guard()

    def check(self, options: ProgramOptions) -> CommandError | None:
        try:
            resolve(options.command, child_environment(options, self.base_environment))
        except CommandError as error:
            return error
        return None

    def spawn(
        self, options: ProgramOptions, on_output: OutputCallback, on_exit: ExitCallback
    ) -> LocalProcess:
        PROMPTER.hold()  # a spawn lets go of the GIL at each system call (gil.py)
        try:
            return self._spawn(options, on_output, on_exit)
        finally:
            PROMPTER.release()
            self.exit_dates.look()  # programs that exited meanwhile

    def _spawn(
        self, options: ProgramOptions, on_output: OutputCallback, on_exit: ExitCallback
    ) -> LocalProcess:
        env = self.environments.get(options, self.base_environment)
        key = (options.command, env.get("PATH") or os.environ.get("PATH"))
        command = self._commands.get(key)
        if command is None:
            command = self._resolve(options.command, env, key)
        if options.directory is not None and not os.path.isdir(options.directory):
            reason = "ENOENT" if not os.path.exists(options.directory) else "ENOTDIR"
            raise SpawnError(f"couldn't chdir to {options.directory}: {reason}")
        pipes, self._next_pipes = self._next_pipes, None
        try:
            child = self._start(command, env, options, pipes)
        except OSError as error:
            # supervisord checks the command before each spawn; a command that started
            # before is checked again only once it fails (the same messages), and started
            # again if it is now found elsewhere on PATH
            del self._commands[key]
            again = self._resolve(options.command, env, key)
            if again.filename == command.filename:
                raise SpawnError(
                    spawn_error_message(options.name, command.filename, error)
                ) from None
            try:
                child = self._start(again, env, options, None)
            except OSError as error:
                raise SpawnError(spawn_error_message(options.name, again.filename, error)) from None
        process = LocalProcess(
            child.pid,
            on_output,
            on_exit,
            stdin=child.stdin,
            stopsignal=int(options.stopsignal),
            stopwaitsecs=options.stopwaitsecs,
            sweep=options.killasgroup,
        )
        self.children[child.pid] = process
        self.watchdog.watch(child.pid, options.stopsignal)
        for channel, fd in (("stdout", child.stdout), ("stderr", child.stderr)):
            if fd is not None:
                os.set_blocking(fd, False)
                process.pipes[fd] = channel
                self.readers.add(fd, self._on_readable, process, fd)
        try:
            process.pidfd = open_pidfd(child.pid)
        except OSError:
            # no pidfd support (Linux < 5.3, some sandboxes), or no descriptor left (EMFILE:
            # another thread took the last one): fall back to polling for the exit
            process.pidfd = -1
            self.loop.call_soon(self._poll_exit, process)
        else:
            self.readers.add(process.pidfd, self._on_pidfd_ready, process)
            self.exit_dates.watch(process.pidfd)
        try:
            self._next_pipes = ChildPipes(options.redirect_stderr).prepare()
        except OSError:  # no descriptor left (EMFILE): the next start makes its own, or fails
            self._next_pipes = None
        return process

    def _resolve(
        self, command: str, env: Mapping[str, str], key: tuple[str, str | None]
    ) -> ResolvedCommand:
        """Resolve ``command`` with supervisord's checks; remember it for the next start."""
        try:
            resolved = resolve(command, env)
        except CommandError as error:
            raise SpawnError(error.message) from None
        if len(self._commands) >= KNOWN_COMMANDS:
            self._commands.clear()
        self._commands[key] = resolved
        return resolved

    def _start(
        self,
        command: ResolvedCommand,
        env: Environment,
        options: ProgramOptions,
        pipes: ChildPipes | None,
    ) -> Child:
        with self.exit_dates.during_spawn():
            return start_child(
                command.filename,
                command.argv,
                env,
                directory=options.directory,
                umask=options.umask,
                merge_stderr=options.redirect_stderr,
                pipes=pipes,
            )

    def signal(self, process: ProcessHandle, sig: int, group: bool) -> None:
        assert isinstance(process, LocalProcess)
        if process.status is not None:
            raise ProcessLookupError(errno.ESRCH, "No such process")
        if group:
            os.killpg(process.pid, sig)
            if sig == process.stopsignal and process.stop_sent_at is None:
                process.stop_sent_at = self.loop.time()
        else:
            os.kill(process.pid, sig)

    def reap(self, process: ProcessHandle) -> ExitStatus | None:
        assert isinstance(process, LocalProcess)
        if process.status is not None:
            return None
        return self._collect(process)

    def finish(self, process: ProcessHandle) -> None:
        assert isinstance(process, LocalProcess)
        if process.status is None or process.finished:
            return
        process.finished = True
        if process.pidfd >= 0:
            self.readers.remove(process.pidfd)
            os.close(process.pidfd)
            process.pidfd = -1
        for fd in list(process.pipes):
            self._drain(process, fd)
            self._close_pipe(process, fd)
        if process.stdin >= 0:
            os.close(process.stdin)
            process.stdin = -1
        _release_callbacks(process)
        # A pid in use again is a new child's (the kernel reuses no pid while a group or
        # session still has it), so the ended one's group is empty and its watch is gone.
        if process.pid in self.children:
            return
        if not _group_alive(process.pid):
            self.watchdog.forget(process.pid)
        elif process.sweep:
            self._start_sweep(process)

    def close(self) -> None:
        if self._next_pipes is not None:
            self._next_pipes.close()
            self._next_pipes = None
        self._unwatch_guard()
        self.readers.close()
        self.watchdog.close()
        self.exit_dates.close()

    def _watch_guard(self) -> None:
        """Replace the watchdog's guard as soon as it dies (someone killed it)."""
        try:
            self._guard_fd = open_pidfd(self.watchdog.pid)
        except OSError:  # no pidfd: the guard is not replaced
            self._guard_fd = -1
            return
        self.loop.add_reader(self._guard_fd, self._on_guard_exit)

    def _unwatch_guard(self) -> None:
        if self._guard_fd >= 0:
            self.loop.remove_reader(self._guard_fd)
            os.close(self._guard_fd)
            self._guard_fd = -1

    def _on_guard_exit(self) -> None:
        self._unwatch_guard()
        if self.watchdog.restart():
            self._watch_guard()

    # ------------------------------------------------------------------ internals

    def _on_pidfd_ready(self, process: LocalProcess) -> None:
        # dated before the reap and the drain, which may wait for the GIL
        self._on_exit_ready(process, self.exit_dates.date(process.pidfd))

    def _on_exit_ready(self, process: LocalProcess, seen: float) -> None:
        if process.status is not None:
            return
        status = self._collect(process)
        if status is not None:
            try:
                process.on_exit(status, seen)
            finally:
                self.finish(process)

    def _poll_exit(self, process: LocalProcess) -> None:
        self._on_exit_ready(process, self.loop.time())
        if process.status is None:
            self.loop.call_later(EXIT_POLL_INTERVAL, self._poll_exit, process)

    def _collect(self, process: LocalProcess) -> ExitStatus | None:
        """Reap the process if it has ended (its pipes are left to :meth:`finish`)."""
        try:
            pid, raw = os.waitpid(process.pid, os.WNOHANG)
        except ChildProcessError:  # someone else reaped it
            pid, raw = process.pid, -1
        if pid == 0:
            return None
        status = decode_wait_status(raw) if raw >= 0 else ExitStatus()
        process.status = status
        if self.children.get(process.pid) is process:
            del self.children[process.pid]
        if process.pidfd >= 0:  # its reader and descriptor go in finish, after the next start
            self.exit_dates.forget(process.pidfd)
        return status

    def _start_sweep(self, process: LocalProcess) -> None:
        """The process ended but its group lives on (grandchildren it forked, a background
        job of its shell, or members still dying). They get what a stop would give them:
        the stop signal (unless a stop already sent it to the group), then SIGKILL
        ``stopwaitsecs`` after it, repeated while any is left (by the watchdog, which can
        afford to scan ``/proc`` for live members). So no orphan outlives its program long."""
        sent = process.stop_sent_at
        if sent is None:
            _killpg(process.pid, process.stopsignal)
            sent = self.loop.time()
        delay = sent + process.stopwaitsecs - self.loop.time()
        self.watchdog.sweep(process.pid, delay, max(process.stopwaitsecs, SWEEP_REPEAT))

    def _on_readable(self, process: LocalProcess, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            if fd not in self._widened:
                self._widened.add(fd)
                _widen_pipe(fd)
            process.on_output(process.pipes[fd], data)
        else:
            self._close_pipe(process, fd)

    def _drain(self, process: LocalProcess, fd: int) -> None:
        channel = process.pipes[fd]
        for _ in range(DRAIN_READS):
            try:
                data = os.read(fd, READ_SIZE)
            except OSError:
                return
            if not data:
                return
            process.on_output(channel, data)

    def _close_pipe(self, process: LocalProcess, fd: int) -> None:
        if process.pipes.pop(fd, None) is None:
            return
        self.readers.remove(fd)
        self._widened.discard(fd)
        os.close(fd)


def open_pidfd(pid: int) -> int:
    """A pidfd of process ``pid``: readable once it exits (raise OSError)."""
    return os.pidfd_open(pid)


def _group_alive(pgid: int) -> bool:
    """True while group ``pgid`` has a member (a zombie counts)."""
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def _ignore(*args: object) -> None:
    pass


def _release_callbacks(process: LocalProcess) -> None:
    """Drop an ended process's callbacks: they usually refer back to it (the driver's
    closure does), and a cycle per spawn would leave every ended process to the garbage
    collector, whose full passes then stall the kernel."""
    process.on_exit = _ignore
    process.on_output = _ignore


__all__ = [
    "LocalLauncher",
    "LocalProcess",
    "decode_wait_status",
]
