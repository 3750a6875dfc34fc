"""``Program``: one supervised program as observable traitlets, mirroring its machine.

Traits are written only by the supervisor's thread, one transition at a time and in order
(the other traits first, then ``state``), so an observer of ``state`` sees every
transition with consistent values. Observers run on the supervisor's thread; one that
raises is logged and never breaks supervision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
from traitlets import All, Float, HasTraits, Int, Unicode, UseEnum
from traitlets.utils.bunch import Bunch

from .core.errors import Fault, FaultCode
from .core.events import SendSignal, Start, Stop, Transition
from .core.options import ProgramOptions
from .core.record import EventRecord
from .core.states import STOPPED_STATES, ProcessState
from .core.values import signal_number
from .describe import description
from .waiters import Latch, StateWaiter, WaiterList

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("nbsup")

StateLike = ProcessState | str


def _states(states: Iterable[StateLike]) -> frozenset[ProcessState]:
    result = set()
    for state in states:
        try:
            result.add(ProcessState(str(state).upper()))
        except ValueError:
            names = ", ".join(s.value for s in ProcessState)
            raise ValueError(f"unknown state {state!r}: expected one of {names}") from None
    return frozenset(result)


class Program(HasTraits):
    """A supervised program. Get one from :meth:`nbsup.Supervisor.add_program`.

    Attributes
    ----------
    state : ProcessState
        supervisord's state of the program.
    pid : int
        The process id, 0 when no process runs.
    tries : int
        Consecutive failed starts (supervisord's ``backoff`` counter).
    exitstatus : int or None
        The last exit status (-1 for a signal death).
    spawnerr : str or None
        Why the last start failed, in supervisord's words.
    description : str
        supervisorctl's description at the last transition.
    laststart, laststop : float or None
        Epoch seconds of the last start and the last exit.
    log_error : str or None
        Why a log file cannot be written now (``stdout: cannot open ...``), or None. The
        program runs on regardless; its output stays in memory (:meth:`tail`).
    """

    name = Unicode(read_only=True, help="The program's name.")
    group = Unicode(read_only=True, help="The program's group.")
    state = UseEnum(ProcessState, default_value=ProcessState.STOPPED, read_only=True)
    pid = Int(0, read_only=True, help="Process id, 0 when not running.")
    tries = Int(0, read_only=True, help="Consecutive failed starts.")
    exitstatus = Int(None, allow_none=True, read_only=True, help="Last exit status.")
    spawnerr = Unicode(None, allow_none=True, read_only=True, help="Last spawn error.")
    description = Unicode("Not started", read_only=True, help="supervisorctl's description.")
    laststart = Float(None, allow_none=True, read_only=True, help="Epoch s of the last start.")
    laststop = Float(None, allow_none=True, read_only=True, help="Epoch s of the last exit.")
    log_error = Unicode(
        None, allow_none=True, read_only=True, help="Why a log file cannot be written, or None."
    )

    def __init__(self, supervisor: Supervisor, options: ProgramOptions) -> None:
        super().__init__()
        self._supervisor = supervisor
        self.options = options
        self.set_trait("name", options.name)
        self.set_trait("group", options.group_name)
        self._waiters = WaiterList()
        self._record_listeners: list[Callable[[EventRecord], None]] = []
        self._nbsup_card: Any = None  # the one live card of this program (nbsup.widgets)
        self._isolated: dict[Callable[..., Any], Callable[..., Any]] = {}
        # the machine's monotonic laststart/laststop last mirrored: converting the same
        # instant to epoch seconds again gives a slightly different float each time
        self._mirrored_times: tuple[float | None, float | None] = (None, None)
        self._log_errors: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Program {self.name} {self.state.value} {self.current_description()!r}>"

    # ------------------------------------------------------------------ control

    def start(self, wait: bool = False, timeout: float | None = None) -> None:
        """Start the program (from STOPPED, EXITED or FATAL).

        Parameters
        ----------
        wait
            Block until the start succeeded (RUNNING) or failed, as ``supervisorctl start``.
        timeout
            Seconds to wait at most (TimeoutError after).

        Raises
        ------
        Fault
            ALREADY_STARTED, NO_FILE, NOT_EXECUTABLE...; with ``wait``, SPAWN_ERROR when the
            start failed and ABNORMAL_TERMINATION when it ended otherwise.
        """
        others = frozenset(ProcessState) - {ProcessState.STARTING}
        waiter = self._request(Start(), others if wait else None)
        if waiter is None:
            return
        reached = self._wait(waiter, timeout)
        if reached is ProcessState.RUNNING:
            return
        code = FaultCode.SPAWN_ERROR if self.spawnerr else FaultCode.ABNORMAL_TERMINATION
        raise Fault(code, self.name)

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop the program by its stop rules (stopsignal, then SIGKILL after stopwaitsecs).

        Raises
        ------
        Fault
            NOT_RUNNING when it is not running (STOPPED, EXITED, FATAL, STOPPING).
        """
        waiter = self._request(Stop(), STOPPED_STATES if wait else None)
        if waiter is not None:
            self._wait(waiter, timeout)

    def restart(self, wait: bool = False, timeout: float | None = None) -> None:
        """Stop (if running), then start, as ``supervisorctl restart``."""
        try:
            self.stop(wait=True, timeout=timeout)
        except Fault as fault:
            if fault.code is not FaultCode.NOT_RUNNING:
                raise
            if self.state is ProcessState.STOPPING:
                self.wait_for(*STOPPED_STATES, timeout=timeout)
        self.start(wait=wait, timeout=timeout)

    def signal(self, sig: int | str) -> None:
        """Send a signal (a name such as ``"HUP"`` or a number) to the program's process.

        Raises
        ------
        Fault
            BAD_SIGNAL for an unknown signal, NOT_RUNNING when no process runs.
        """
        try:
            number = signal_number("signal", sig)
        except ValueError:
            raise Fault(FaultCode.BAD_SIGNAL, f"{self.name}") from None
        self._request(SendSignal(int(number)), None)

    def wait_for(self, *states: StateLike, timeout: float | None = None) -> ProcessState:
        """Block until the program enters one of ``states`` (at once if it is in one).

        Returns the state reached. Raises TimeoutError after ``timeout`` seconds.
        """
        latch = Latch()
        waiter = StateWaiter(_states(states), latch)
        self._register(waiter)
        latch.release()
        return self._wait(waiter, timeout)

    # ------------------------------------------------------------------ reading

    @property
    def events(self) -> pd.DataFrame:
        """This program's transitions as a DataFrame (schema in :mod:`nbsup.eventlog`)."""
        return self._supervisor._store.frame(program=self.name)

    def current_description(self) -> str:
        """supervisorctl's description now (the uptime is counted to this moment)."""
        return description(
            self.state,
            name=self.name,
            pid=self.pid,
            spawnerr=self.spawnerr,
            laststart=self.laststart,
            laststop=self.laststop,
            now=self._now(),
        )

    def _now(self) -> float:
        """Epoch seconds on the supervisor's clock (virtual in simulations)."""
        scheduler = self._supervisor._runner.driver.scheduler
        return scheduler.wall(scheduler.now())

    def tail(self, nbytes: int | str | None = 1600, channel: str = "stdout") -> str:
        """The last ``nbytes`` of the program's output on ``channel`` (stdout or stderr).

        ``tail("stderr")`` works too: the channel alone, as supervisorctl's ``tail name
        stderr``. ``nbytes=None`` gives the whole in-memory tail.
        """
        if nbytes in ("stdout", "stderr"):
            channel, nbytes = str(nbytes), 1600
        if nbytes is not None and (
            not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0
        ):
            raise ValueError(f"nbytes={nbytes!r}: expected a number of bytes >= 0, or None")
        data = self.output_channel(channel).tail(nbytes)
        return data.decode("utf-8", "replace")

    def output_channel(self, channel: str = "stdout") -> Any:
        """The :class:`~nbsup.runtime.output.OutputChannel` of ``channel``.

        Its ``path`` is the log file being written, None when there is none (``NONE``, or
        a file that cannot be opened: see :attr:`log_error`).
        """
        slot = self._supervisor._runner.driver.slots[self.name]
        if channel not in ("stdout", "stderr"):
            raise ValueError(f"channel={channel!r}: expected stdout or stderr")
        if channel not in slot.channels:
            raise Fault(FaultCode.NO_FILE, f"{self.name} (stderr is redirected to stdout)")
        return slot.channels[channel]

    def attempt_log(self, k: int = -1, channel: str = "stdout", nbytes: int | None = None) -> str:
        """The output of attempt ``k`` on ``channel``, without nbsup's marker lines.

        Attempt ``k`` is the program's k-th spawn in this session, counted from 1 as the
        rows of :attr:`events` that enter STARTING (a failed spawn is an attempt with no
        output); negative ``k`` counts from the latest (-1). The output is read from the
        log file as written (with the timestamps of ``*_timestamps=true``), across
        rotations; for a channel without a log file, from the in-memory tail.

        Parameters
        ----------
        k
            The attempt: 1, 2, ... or -1 (the latest), -2...
        channel
            ``stdout`` or ``stderr``.
        nbytes
            Only the last ``nbytes`` of that output (None: all of it).

        Raises
        ------
        LogUnavailable
            No such attempt, or its output is no longer kept (rotated away beyond
            ``*_logfile_backups``, cleared, or out of the in-memory tail); the message says
            which, and how many of its last bytes are still kept.
        """
        if channel not in ("stdout", "stderr"):
            raise ValueError(f"channel={channel!r}: expected stdout or stderr")
        runner = self._supervisor._runner
        reading = runner.call(runner.driver.logs.attempt_output, self.name, k, channel, nbytes)
        return reading.read().decode("utf-8", "replace")

    def clear_log(self) -> None:
        """Empty the program's output tail and log files, as ``supervisorctl clear``."""
        runner = self._supervisor._runner
        runner.call(runner.driver.slots[self.name].logs.clear)

    def info(self) -> dict[str, Any]:
        """supervisord's ``getProcessInfo`` for this program."""
        slot = self._supervisor._runner.driver.slots.get(self.name)
        paths = {
            c: str(ch.target) if ch.target is not None else ""
            for c, ch in (slot.channels.items() if slot else [])
        }
        return {
            "name": self.name,
            "group": self.group,
            "start": int(self.laststart or 0),
            "stop": int(self.laststop or 0),
            "now": int(self._now()),
            "state": self.state.code,
            "statename": self.state.value,
            "spawnerr": self.spawnerr or "",
            "exitstatus": self.exitstatus or 0,
            "logfile": paths.get("stdout", ""),
            "stdout_logfile": paths.get("stdout", ""),
            "stderr_logfile": paths.get("stderr", ""),
            "pid": self.pid,
            "description": self.current_description(),
        }

    # ------------------------------------------------------------------ observers

    def observe(self, handler: Callable[..., Any], names: Any = All, type: Any = "change") -> None:
        """Call ``handler(change)`` when traits change (on the supervisor's thread).

        A handler that raises is logged to the ``nbsup`` logger and does not stop others.
        """
        super().observe(self._isolate(handler), names=names, type=type)

    def unobserve(
        self, handler: Callable[..., Any], names: Any = All, type: Any = "change"
    ) -> None:
        super().unobserve(self._isolated.get(handler, handler), names=names, type=type)

    def _isolate(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        if handler not in self._isolated:

            def isolated(change: Any) -> None:
                try:
                    handler(change)
                except Exception:
                    log.exception("an observer of program %r failed", self.name)

            self._isolated[handler] = isolated
        return self._isolated[handler]

    def add_record_listener(self, listener: Callable[[EventRecord], None]) -> None:
        """Call ``listener(record)`` for each new transition record, on the supervisor's
        thread (after the traits are updated). Failures are logged and isolated."""
        self._record_listeners.append(listener)

    def remove_record_listener(self, listener: Callable[[EventRecord], None]) -> None:
        if listener in self._record_listeners:
            self._record_listeners.remove(listener)

    def records(self) -> list[EventRecord]:
        """This program's transition records so far."""
        return self._supervisor._store.records(program=self.name)

    def deadline_in(self) -> float | None:
        """Seconds until the program's next timed transition (None when nothing is due).

        Call it on the supervisor's thread (in an observer) for an exact answer.
        """
        driver = self._supervisor._runner.driver
        slot = driver.slots.get(self.name)
        deadline = None if slot is None else slot.machine.next_deadline()
        return None if deadline is None else deadline - driver.scheduler.now()

    def elapsed_now(self) -> float:
        """Seconds since the supervisor started, on its clock (the ``elapsed`` column)."""
        driver = self._supervisor._runner.driver
        return driver.scheduler.now() - driver.started_at

    # ------------------------------------------------------------------ internals

    def _request(
        self, event: Start | Stop | SendSignal, until: frozenset[ProcessState] | None
    ) -> StateWaiter | None:
        runner = self._supervisor._runner
        latch = Latch()
        waiter = StateWaiter(until, latch) if until is not None else None

        def act() -> None:
            runner.driver.request(self.name, event)
            if waiter is not None:
                runner.driver.flush_notes()  # the mirror shows what the request did
                self._register(waiter)

        runner.call(act)
        latch.release()
        return waiter

    def _register(self, waiter: StateWaiter) -> None:
        """Watch for ``waiter``'s states (reached at once if the program is in one)."""
        self._waiters.add(waiter, self._current_state)

    def _current_state(self) -> ProcessState:
        return self.state

    def _wait(self, waiter: StateWaiter, timeout: float | None) -> ProcessState:
        runner = self._supervisor._runner
        if runner.in_driver_thread():
            raise RuntimeError("cannot wait on the supervisor's own thread (in an observer)")
        if not runner.wait(waiter.latch.event, timeout):
            return self._give_up(waiter, timeout)
        assert waiter.reached is not None
        return waiter.reached

    def _give_up(self, waiter: StateWaiter, timeout: float | None) -> ProcessState:
        """Stop waiting; the state if it was reached meanwhile, else raise TimeoutError."""
        self._waiters.discard(waiter)
        if waiter.reached is not None:
            return waiter.reached
        wanted = " or ".join(sorted(s.value for s in waiter.targets))
        raise TimeoutError(
            f"{self.name} did not reach {wanted} within {timeout} s (it is {self.state.value})"
        )

    def _log_failed(self, channel: str, error: str | None) -> None:
        """A log file of ``channel`` failed (``error``) or recovered (None)."""
        if error is None:
            self._log_errors.pop(channel, None)
        else:
            self._log_errors[channel] = error
        errors = self._log_errors
        text = "; ".join(f"{c}: {errors[c]}" for c in ("stdout", "stderr") if c in errors)
        self.set_trait("log_error", text or None)

    def _apply(
        self, record: EventRecord, transition: Transition, wall: Callable[[float], float]
    ) -> None:
        """Mirror one transition (on the supervisor's thread)."""
        status = transition.status
        values = self._trait_values
        start, stop = self._mirrored_times
        laststart = values.get("laststart")
        if status.laststart != start:
            laststart = None if status.laststart is None else wall(status.laststart)
        laststop = values.get("laststop")
        if status.laststop != stop:
            laststop = None if status.laststop is None else wall(status.laststop)
        self._mirrored_times = (status.laststart, status.laststop)
        text = description(
            status.state,
            name=self.name,
            pid=status.pid,
            spawnerr=status.spawnerr,
            laststart=laststart,
            laststop=laststop,
            now=record.time,
        )
        new = {
            "pid": status.pid,
            "tries": status.tries,
            "exitstatus": status.exitstatus,
            "spawnerr": status.spawnerr,
            "laststart": laststart,
            "laststop": laststop,
            "description": text,
            "state": status.state,  # last: an observer of state sees the others updated
        }
        if self._trait_notifiers:
            for name, value in new.items():
                self._mirror(name, value)
        else:  # nobody observes: nothing to tell, and nothing to compare
            values.update(new)
        for listener in list(self._record_listeners):
            try:
                listener(record)
            except Exception:
                log.exception("a record listener of program %r failed", self.name)
        if self._waiters:
            self._waiters.entered(status.state)

    def _mirror(self, name: str, value: Any) -> None:
        """Set trait ``name`` to a value of the machine's (already of the trait's type).

        As ``set_trait`` without its validation, and without building a change for
        nobody: observers, when there are any, are told exactly as traitlets tells them.
        A transition sets eight traits, and without observers this is 5-10x cheaper.
        """
        values = self._trait_values
        old = values[name] if name in values else getattr(self, name)
        values[name] = value
        if old == value:
            return
        notifiers = self._trait_notifiers
        if name in notifiers or All in notifiers:
            self.notify_change(Bunch(name=name, old=old, new=value, owner=self, type="change"))
