"""supervisord 4.x's process state machine, as a pure function of events and time.

One :class:`Machine` per program. :meth:`Machine.handle` takes an event and the current
monotonic time and returns the effects to carry out; :meth:`Machine.next_deadline` says
when it next needs a :class:`~nbsup.core.events.Tick`. The branches follow
``supervisor/process.py`` (4.3.0) and are labelled with the transition numbers of
semantics.md §5. Deliberate differences (README): deadlines fire exactly on time, an exit
is classified by when it happened, a program gives up (FATAL) as soon as its last retry
fails, and an autorestart from EXITED waits ``restartpause`` seconds.
"""

from __future__ import annotations

import signal as signals

from . import wording
from .errors import Fault, FaultCode
from .events import (
    Effect,
    Event,
    Exited,
    ExitStatus,
    Kill,
    LogLine,
    ProgramStatus,
    SendSignal,
    Shutdown,
    SignalFailed,
    Spawn,
    Spawned,
    SpawnFailed,
    Start,
    Stop,
    Tick,
    Transition,
    signal_name,
)
from .options import ProgramOptions
from .states import RUNNING_STATES, SIGNALLABLE_STATES, ProcessState
from .values import AutoRestart
from .wording import TOO_QUICKLY

S = ProcessState
#: Shortest interval between repeated SIGKILLs (when ``stopwaitsecs`` is shorter).
MIN_KILL_REPEAT = 0.1


class Machine:
    """The state of one supervised program and the rules that change it.

    Parameters
    ----------
    options
        The program's checked options.

    Attributes mirror supervisord's per-process variables (semantics.md §2): ``state``,
    ``pid`` (0 when no process), ``backoff`` (the consecutive-failure counter, "tries"),
    ``delay`` (the deadline of the current state), ``laststart``/``laststop`` (monotonic
    times, None before the first), ``exitstatus``, ``spawnerr`` and ``killing``.
    """

    def __init__(self, options: ProgramOptions) -> None:
        self.options = options
        self.state = S.STOPPED
        self.pid = 0
        self.backoff = 0
        self.delay = 0.0
        self.laststart: float | None = None
        self.laststop: float | None = None
        self.exitstatus: int | None = None
        self.spawnerr: str | None = None
        self.killing = False
        self.shutting_down = False
        self.spawning = False
        self.reset_at: float | None = None
        self._spawn_from = S.STOPPED

    # ------------------------------------------------------------------ public API

    @property
    def name(self) -> str:
        return self.options.name

    def status(self) -> ProgramStatus:
        """The program's variables now."""
        return ProgramStatus(
            self.state,
            self.pid,
            self.backoff,
            self.exitstatus,
            self.spawnerr,
            self.laststart,
            self.laststop,
        )

    def handle(self, event: Event, now: float) -> list[Effect]:
        """Apply one event at monotonic time ``now``; return the effects, in order.

        Raises
        ------
        Fault
            When a user request is refused (e.g. ``ALREADY_STARTED``); nothing changed.
        """
        match event:
            case Tick():
                return self._tick(now)
            case Exited(status):
                return self._exited(status, now)
            case Spawned(pid):
                return self._spawned(pid, now)
            case SpawnFailed(message):
                return self._spawn_failed(message, now)
            case Start():
                return self._start(now)
            case Stop():
                return self._stop(now)
            case SendSignal(number):
                return self._send_signal(number)
            case SignalFailed():
                return self._signal_failed(event, now)
            case Shutdown():
                return self._shutdown(now)
        raise TypeError(f"not a machine event: {event!r}")

    def next_deadline(self) -> float | None:
        """The monotonic time of the next time-based transition, or None."""
        if self.spawning:
            return None
        state = self.state
        if state is S.STARTING:
            assert self.laststart is not None
            return self.laststart + self.options.startsecs
        if state is S.STOPPING:
            return self.delay
        if self.shutting_down:
            return None
        if state is S.BACKOFF:
            return self.delay
        if state is S.EXITED and self._restart_wanted():
            return self.delay
        if state is S.RUNNING:
            return self.reset_at
        return None

    # ------------------------------------------------------------------ requests

    def _start(self, now: float) -> list[Effect]:
        if self.shutting_down:  # supervisord refuses every request while shutting down
            raise Fault(FaultCode.SHUTDOWN_STATE, self.name)
        if self.state in RUNNING_STATES or self.spawning:
            raise Fault(FaultCode.ALREADY_STARTED, self.name)
        if self.state is S.UNKNOWN:
            raise Fault(FaultCode.FAILED, f"{self.name} is in an unknown process state")
        if self.state is S.STOPPING:
            raise Fault(FaultCode.ABNORMAL_TERMINATION, self.name)
        return self._spawn(now)

    def _stop(self, now: float) -> list[Effect]:
        if self.state is S.BACKOFF:
            # BACKOFF -> STOPPED (T14): counter, delay and times are kept
            self.state = S.STOPPED
            message = wording.kill_in_backoff(self.name)
            return [self._transition(now, S.BACKOFF, pid=0, message=message, level="DEBG")]
        if self.state in (S.RUNNING, S.STARTING) and self.pid:
            return self._kill(now, self.options.stopsignal, self.options.stopasgroup)
        raise Fault(FaultCode.NOT_RUNNING, self.name)

    def _send_signal(self, number: int) -> list[Effect]:
        if self.state not in SIGNALLABLE_STATES or not self.pid:
            raise Fault(FaultCode.NOT_RUNNING, self.name)
        message = wording.sending(self.name, self.pid, number)
        return [LogLine("DEBG", message), Kill(number, group=False, killing=False)]

    def _shutdown(self, now: float) -> list[Effect]:
        # ProcessGroupBase.stop_all(): stop what runs, give up on BACKOFF (T10b, no log line)
        self.shutting_down = True
        if self.state in (S.RUNNING, S.STARTING) and self.pid:
            return self._kill(now, self.options.stopsignal, self.options.stopasgroup)
        if self.state is S.BACKOFF:
            return self._give_up(now, message="")
        return []

    # ------------------------------------------------------------------ spawning

    def _spawn(self, now: float) -> list[Effect]:
        self.killing = False
        self.spawnerr = None
        self.exitstatus = None
        self.reset_at = None
        self.laststart = now
        self._spawn_from = self.state
        self.state = S.STARTING
        self.spawning = True
        return [Spawn()]

    def _spawned(self, pid: int, now: float) -> list[Effect]:
        if not self.spawning:
            return []
        self.spawning = False
        self.pid = pid
        self.delay = now + self.options.startsecs
        message = wording.spawned(self.name, pid)
        # the STARTING row is dated when the spawn began, as supervisord's event is
        assert self.laststart is not None
        effects: list[Effect] = [
            self._transition(
                self.laststart, self._spawn_from, pid=pid, tries=self.backoff, message=message
            )
        ]
        if self.shutting_down:  # a shutdown came while the launcher was starting it
            effects += self._kill(now, self.options.stopsignal, self.options.stopasgroup)
        return effects

    def _spawn_failed(self, message: str, now: float) -> list[Effect]:
        if not self.spawning:
            return []
        self.spawning = False
        self.spawnerr = message
        assert self.laststart is not None
        effects: list[Effect] = [
            self._transition(
                self.laststart, self._spawn_from, pid=None, tries=self.backoff, level=""
            )
        ]
        # STARTING -> BACKOFF (T5)
        return effects + self._enter_backoff(now, f"spawnerr: {message}", "INFO", pid=None)

    def _enter_backoff(
        self,
        now: float,
        message: str,
        level: str,
        pid: int | None,
        status: ExitStatus | None = None,
    ) -> list[Effect]:
        self.backoff += 1
        self.delay = now + self.options.policy.delay(self.backoff)
        self.state = S.BACKOFF
        effects: list[Effect] = [
            self._transition(
                now,
                S.STARTING,
                pid=pid,
                tries=self.backoff,
                status=status,
                expected=False if status else None,
                message=message,
                level=level,
            )
        ]
        if self.backoff > self.options.startretries:
            effects += self._give_up(now)
        return effects

    def _give_up(self, now: float, message: str | None = None) -> list[Effect]:
        # BACKOFF -> FATAL (T10; T10b at shutdown, without a log line)
        self.delay = 0.0
        self.backoff = 0
        self.state = S.FATAL
        if message is None:
            message = wording.gave_up(self.name)
        return [self._transition(now, S.BACKOFF, message=message, level="INFO" if message else "")]

    # ------------------------------------------------------------------ time

    def _tick(self, now: float) -> list[Effect]:
        state = self.state
        options = self.options
        if self.spawning:
            return []
        effects: list[Effect] = []
        if not self.shutting_down:
            if state is S.EXITED and self._restart_wanted() and now >= self.delay:
                # EXITED -> STARTING (T3), after restartpause
                return self._spawn(now)
            if state is S.STOPPED and self.laststart is None and options.autostart:
                # STOPPED -> STARTING (T1)
                return self._spawn(now)
            if state is S.BACKOFF and self.backoff <= options.startretries and now >= self.delay:
                # BACKOFF -> STARTING (T4)
                return self._spawn(now)
        if state is S.STARTING and self.pid:
            assert self.laststart is not None
            if now >= self.laststart + options.startsecs:
                # STARTING -> RUNNING (T6)
                self._enter_running(now)
                message = wording.success(self.name, options.startsecs)
                effects.append(self._transition(now, S.STARTING, pid=self.pid, message=message))
        elif state is S.BACKOFF and self.backoff > options.startretries:
            effects += self._give_up(now)
        elif state is S.STOPPING and self.killing and now >= self.delay:
            # STOPPING -> STOPPING (T12): escalate to SIGKILL, again every stopwaitsecs
            effects.append(LogLine("WARN", wording.sigkill(self.name, self.pid)))
            effects += self._kill(now, signals.SIGKILL, options.killasgroup)
        elif state is S.RUNNING and self.reset_at is not None and now >= self.reset_at:
            self.backoff = 0
            self.reset_at = None
        return effects

    def _enter_running(self, now: float) -> None:
        self.state = S.RUNNING
        self.delay = 0.0
        reset_after = self.options.policy.reset_after
        if reset_after > 0:
            self.reset_at = now + reset_after
        else:
            self.backoff = 0

    def _restart_wanted(self) -> bool:
        autorestart = self.options.autorestart
        if autorestart is AutoRestart.TRUE:
            return True
        return (
            autorestart is AutoRestart.UNEXPECTED and self.exitstatus not in self.options.exitcodes
        )

    # ------------------------------------------------------------------ stopping

    def _kill(self, now: float, sig: int, group: bool) -> list[Effect]:
        message = wording.killing(self.name, self.pid, sig, group)
        self.killing = True
        wait = self.options.stopwaitsecs
        if sig == signals.SIGKILL:  # repeated while the process survives: never in a tight loop
            wait = max(wait, MIN_KILL_REPEAT)
        self.delay = now + wait
        effects: list[Effect] = []
        if self.state is S.STOPPING:
            effects.append(LogLine("DEBG", message))
        else:
            # RUNNING/STARTING -> STOPPING (T11)
            origin = self.state
            self.state = S.STOPPING
            effects.append(
                self._transition(
                    now,
                    origin,
                    pid=self.pid,
                    signal=signal_name(sig),
                    message=message,
                    level="DEBG",
                )
            )
        effects.append(Kill(sig, group=group, killing=True))
        return effects

    def _signal_failed(self, event: SignalFailed, now: float) -> list[Effect]:
        if event.esrch:
            message = wording.unable_to_signal(self.name, self.pid, event.error, event.killing)
            return [LogLine("DEBG", message)]
        if self.state not in SIGNALLABLE_STATES:
            return []
        message = wording.unknown_problem(self.name, self.pid, event.error, event.killing)
        origin = self.state
        self.state = S.UNKNOWN
        if event.killing:
            self.killing = False
            self.delay = 0.0
        # RUNNING/STARTING/STOPPING -> UNKNOWN (T15)
        return [self._transition(now, origin, message=message, level="CRIT")]

    # ------------------------------------------------------------------ exits

    def _exited(self, status: ExitStatus, now: float) -> list[Effect]:
        if not self.pid:
            return []
        options = self.options
        assert self.laststart is not None
        pid, self.pid = self.pid, 0
        self.laststop = now
        es = status.es
        too_quickly = now < self.laststart + options.startsecs if now > self.laststart else False
        expected = es in options.exitcodes
        how = status.describe()
        if self.killing and self.state is S.STOPPING:
            # STOPPING -> STOPPED (T13)
            self.killing = False
            self.delay = 0.0
            self.exitstatus = es
            self.state = S.STOPPED
            return [
                self._transition(
                    now,
                    S.STOPPING,
                    pid=pid,
                    status=status,
                    message=wording.stopped(self.name, how),
                    level="INFO" if expected else "WARN",
                )
            ]
        if too_quickly and self.state is S.STARTING:
            # STARTING -> BACKOFF (T7): an early exit is a failure whatever its code
            self.exitstatus = None
            self.spawnerr = TOO_QUICKLY
            message = wording.exited(self.name, how, expected=False)
            return self._enter_backoff(now, message, "WARN", pid=pid, status=status)
        effects: list[Effect] = []
        if self.state is S.STARTING:
            # STARTING -> RUNNING inside the exit (T8): no "success:" line
            self._enter_running(now)
            effects.append(self._transition(now, S.STARTING, pid=pid, level=""))
        # RUNNING -> EXITED (T9)
        self.delay = now + options.restartpause
        stable = self.reset_at is not None and now >= self.reset_at
        if options.policy.reset_after <= 0 or stable:
            self.backoff = 0
        self.reset_at = None
        self.exitstatus = es
        if not expected:
            self.spawnerr = f"Bad exit code {es}"
        origin = self.state
        self.state = S.EXITED
        effects.append(
            self._transition(
                now,
                origin,
                pid=pid,
                status=status,
                expected=expected,
                message=wording.exited(self.name, how, expected),
                level="INFO" if expected else "WARN",
            )
        )
        if options.restartpause <= 0 and not self.shutting_down and self._restart_wanted():
            # EXITED -> STARTING (T3) at once
            effects += self._spawn(now)
        return effects

    # ------------------------------------------------------------------ records

    def _transition(
        self,
        now: float,
        origin: ProcessState,
        *,
        pid: int | None = None,
        tries: int | None = None,
        status: ExitStatus | None = None,
        signal: str | None = None,
        expected: bool | None = None,
        message: str = "",
        level: str = "INFO",
    ) -> Transition:
        return Transition(  # by position: a named tuple's keywords cost 2 us more
            now,  # at
            self.status(),
            origin,  # from_state
            self.state,  # to_state
            pid,
            tries,
            None if status is None else status.es,  # exitstatus
            signal if status is None else status.signal_name,
            expected,
            message,
            level,
        )
