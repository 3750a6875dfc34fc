"""Virtual time and scripted processes: run the real driver and machines without waiting.

:class:`FakeClock` is a scheduler whose time only moves when told to; :class:`FakeLauncher`
"runs" programs whose lives are scripted. Together with :class:`nbsup.runtime.driver.Driver`
they give the exact transitions the real supervisor would make, in milliseconds. They are
public so that tests, and users scripting what-ifs, can use them.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from .core.events import ExitStatus
from .core.options import ProgramOptions
from .runtime.commands import CommandError
from .runtime.launcher_interface import ExitCallback, OutputCallback, SpawnError
from .runtime.spawner import spawn_error_message

__all__ = ["FakeClock", "FakeLauncher", "FakeProcess", "Life"]


class _Timer:
    def __init__(self, when: float, order: int, callback: Callable[[], None]) -> None:
        self.when = when
        self.order = order
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: _Timer) -> bool:
        return (self.when, self.order) < (other.when, other.order)


class FakeClock:
    """A scheduler on virtual time.

    Parameters
    ----------
    start
        The initial monotonic time.
    wall_start
        The epoch time that ``start`` corresponds to.
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._timers: list[_Timer] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self, monotonic: float) -> float:
        return monotonic + self._wall_offset

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(max(when, self._now), next(self._order), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        return self.call_at(self._now + delay, callback)

    def next_time(self) -> float | None:
        """When the next pending timer fires, or None."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].when if self._timers else None

    def step(self) -> bool:
        """Fire the next timer (moving time to it); False when none is pending."""
        when = self.next_time()
        if when is None:
            return False
        timer = heapq.heappop(self._timers)
        self._now = max(self._now, when)
        timer.callback()
        return True

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer due on the way, in order."""
        self.run_until(self._now + seconds)

    def run_until(self, until: float, condition: Callable[[], bool] | None = None) -> bool:
        """Fire timers up to time ``until``, or until ``condition()`` is true."""
        while True:
            if condition is not None and condition():
                return True
            when = self.next_time()
            if when is None or when > until:
                break
            self.step()
        self._now = max(self._now, until)
        return condition() if condition is not None else True


@dataclass(frozen=True)
class Life:
    """How one spawn of a fake program behaves.

    ``runs`` seconds after the spawn it exits with ``exit`` (a code, or a signal name such
    as ``"SIGSEGV"``); ``runs=None`` never exits on its own. ``spawn_error`` makes the spawn
    itself fail with that message; ``spawn_errno`` makes it fail as a real spawn does on
    that ``OSError`` (``EMFILE``, ``EAGAIN``...: the launcher's wording). Signals in
    ``ignores`` are ignored; any other signal of the stop kind (TERM, INT, QUIT, HUP,
    KILL...) kills it, except the first ``survives_sigkill`` SIGKILLs (a process stuck in
    the kernel).

    ``output`` and ``stderr`` are written at the spawn; ``writes`` are written later, each
    ``(seconds after the spawn, "stdout" or "stderr", bytes)``, while the process lives
    (a write due at the exit's time comes before the exit). With ``redirect_stderr`` the
    stderr bytes arrive on stdout, as from a real process.
    """

    runs: float | None = None
    exit: int | str = 0
    spawn_error: str | None = None
    spawn_errno: int | None = None
    ignores: frozenset[int] = frozenset()
    survives_sigkill: int = 0
    output: bytes = b""
    stderr: bytes = b""
    writes: tuple[tuple[float, str, bytes], ...] = ()


@dataclass(eq=False)
class FakeProcess:
    pid: int
    name: str
    life: Life
    on_exit: ExitCallback
    on_output: OutputCallback
    alive: bool = True
    signals: list[tuple[int, bool]] = field(default_factory=list)
    sigkills_survived: int = 0
    timer: _Timer | None = None


_HARMLESS = {signal.SIGCHLD, signal.SIGWINCH, signal.SIGURG, signal.SIGCONT}


class FakeLauncher:
    """A launcher whose programs follow scripted :class:`Life` values.

    Parameters
    ----------
    clock
        The :class:`FakeClock` that times the scripted exits.
    lives
        Default behaviour: a function of (program name, attempt number from 1) returning a
        :class:`Life`. Programs without a script run until they are signalled.
    """

    def __init__(self, clock: FakeClock, lives: Callable[[str, int], Life] | None = None) -> None:
        self.clock = clock
        self.lives = lives or (lambda name, attempt: Life())
        self.scripts: dict[str, Callable[[int], Life]] = {}
        self.attempts: dict[str, int] = {}
        self.processes: list[FakeProcess] = []
        self.missing_commands: set[str] = set()
        self._pids = itertools.count(1000)

    def script(self, name: str, lives: Callable[[int], Life] | list[Life] | Life) -> None:
        """Script program ``name``: one Life, a list (one per attempt; the last repeats)
        or a function of the attempt number."""
        if isinstance(lives, Life):
            single = lives
            self.scripts[name] = lambda attempt: single
        elif isinstance(lives, list):
            items = list(lives)
            self.scripts[name] = lambda attempt: items[min(attempt, len(items)) - 1]
        else:
            self.scripts[name] = lives

    def check(self, options: ProgramOptions) -> CommandError | None:
        from .core.errors import FaultCode

        if options.name in self.missing_commands:
            return CommandError(f"can't find command {options.command!r}", FaultCode.NO_FILE)
        return None

    def spawn(
        self, options: ProgramOptions, on_output: OutputCallback, on_exit: ExitCallback
    ) -> FakeProcess:
        attempt = self.attempts.get(options.name, 0) + 1
        self.attempts[options.name] = attempt
        script = self.scripts.get(options.name)
        life = script(attempt) if script else self.lives(options.name, attempt)
        if life.spawn_error is not None:
            raise SpawnError(life.spawn_error)
        if life.spawn_errno is not None:
            error = OSError(life.spawn_errno, os.strerror(life.spawn_errno))
            raise SpawnError(spawn_error_message(options.name, options.command, error))
        process = FakeProcess(next(self._pids), options.name, life, on_exit, on_output)
        self.processes.append(process)
        redirect = options.redirect_stderr

        def write(channel: str, data: bytes) -> None:
            if process.alive and data:
                on_output("stdout" if redirect else channel, data)

        write("stdout", life.output)
        write("stderr", life.stderr)
        for delay, channel, data in life.writes:
            self.clock.call_later(delay, functools.partial(write, channel, data))
        if life.runs is not None:
            process.timer = self.clock.call_later(life.runs, lambda: self._end(process, life.exit))
        return process

    def signal(self, process: object, sig: int, group: bool) -> None:
        assert isinstance(process, FakeProcess)
        if not process.alive:
            raise ProcessLookupError(3, "No such process")
        process.signals.append((sig, group))
        if (sig in process.life.ignores and sig != signal.SIGKILL) or sig in _HARMLESS:
            return
        if sig == signal.SIGKILL and process.sigkills_survived < process.life.survives_sigkill:
            process.sigkills_survived += 1
            return
        self.clock.call_later(0.0, lambda: self._end(process, signal.Signals(sig).name))

    def reap(self, process: object) -> ExitStatus | None:
        return None

    def finish(self, process: object) -> None:
        pass

    def close(self) -> None:
        pass

    def _end(self, process: FakeProcess, how: int | str) -> None:
        if not process.alive:
            return
        process.alive = False
        if process.timer is not None:
            process.timer.cancel()
        if isinstance(how, str):
            status = ExitStatus(
                signal=signal.Signals[how if how.startswith("SIG") else "SIG" + how]
            )
        else:
            status = ExitStatus(code=how)
        process.on_exit(status, self.clock.now())
