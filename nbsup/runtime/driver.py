"""The driver: feeds events to the programs' machines and carries out their effects.

It owns, per program, the machine, the running process, its output channels and one timer
armed for the machine's next deadline. It never polls: it acts when a process exits (the
launcher calls back), when a deadline's timer fires, or when a user request arrives. Every
method runs on one thread (the supervisor's loop thread, or the caller's for a
simulation); nothing here is thread-safe by itself.
"""

from __future__ import annotations

import functools
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..core.errors import Fault, FaultCode
from ..core.events import (
    Effect,
    Event,
    Exited,
    ExitStatus,
    Kill,
    LogLine,
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
)
from ..core.machine import Machine
from ..core.options import ProgramOptions
from ..core.states import STOPPED_STATES, ProcessState
from .clock import Scheduler
from .journal import Journal
from .launcher_interface import Launcher, ProcessHandle, SpawnError
from .recorder import Recorder, TransitionListener
from .sessionlogs import SessionLogs
from .slot import Slot


class Driver:
    """Runs programs' machines against a launcher and a scheduler.

    Parameters
    ----------
    scheduler
        Time: ``now()``, ``wall()``, ``call_at()``.
    launcher
        Processes: ``spawn``, ``signal``, ``reap``, ``finish``, ``check``.
    on_transition
        Called with (program, record, transition) for every transition, in order.
    journal
        Where records and log lines are written (None: nowhere).
    log_folder, tail_bytes
        For the programs' logs (:class:`SessionLogs`).

    Attributes
    ----------
    logs : SessionLogs
        The programs' output: log files, tails, attempts; ``markers`` and ``on_log_error``.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        launcher: Launcher,
        on_transition: TransitionListener,
        journal: Journal | None = None,
        log_folder: Path | None = None,
        tail_bytes: int = 64 * 1024,
    ) -> None:
        self.scheduler = scheduler
        self.launcher = launcher
        self.started_at = scheduler.now()
        self.recorder = Recorder(scheduler, self.started_at, journal, on_transition)
        self.logs = SessionLogs(scheduler, self.recorder, log_folder, tail_bytes)
        self.slots: dict[str, Slot] = {}
        self._shutdown_tiers: list[int] | None = None
        self._stopping: set[str] = set()
        self.on_shutdown_complete: Callable[[], None] | None = None
        #: Called before each event is handled: lets waiting user requests go first (and
        #: a loop that is behind give the kernel a moment: runtime/courtesy.py).
        self.between_events: Callable[[], None] = lambda: None

    @property
    def journal(self) -> Journal | None:
        return self.recorder.journal

    @journal.setter
    def journal(self, journal: Journal | None) -> None:
        self.recorder.journal = journal

    @property
    def on_transition(self) -> TransitionListener:
        return self.recorder.listener

    @on_transition.setter
    def on_transition(self, listener: TransitionListener) -> None:
        self.recorder.listener = listener

    def flush_notes(self) -> None:
        """Write the held records and tell the listener of them (:class:`Recorder`)."""
        self.recorder.flush()

    # ------------------------------------------------------------------ programs

    def add(self, options: ProgramOptions) -> Slot:
        """Add a program (replacing a same-named one once it has stopped); start if autostart."""
        existing = self.slots.get(options.name)
        if existing is not None:
            self._replace(existing, options)
            return existing
        slot = Slot(Machine(options), self.logs.for_program(options))
        self.slots[options.name] = slot
        if self._shutdown_tiers is None:
            self._feed(slot, Tick())
        return slot

    def add_all(self, options: list[ProgramOptions]) -> None:
        """:meth:`add` each, in order."""
        for one in options:
            self.add(one)

    def remove(self, name: str) -> None:
        """Forget a stopped program (Fault FAILED if it is still running)."""
        slot = self._slot(name)
        if slot.machine.state not in STOPPED_STATES or slot.process is not None:
            raise Fault(FaultCode.FAILED, f"process/group still running: {name}")
        self._disarm(slot)
        slot.removed = True
        slot.on_deadline = None  # it refers back to the slot
        slot.logs.close()
        del self.slots[name]

    def check_start(self, name: str) -> None:
        """The checks supervisord's startProcess makes before a start (NO_FILE...)."""
        slot = self._slot(name)
        error = self.launcher.check(slot.options)
        if error is not None:
            raise Fault(error.code, f"{error.message}")

    def request(self, name: str, event: Start | Stop | SendSignal) -> None:
        """Apply a user request to one program (raises Fault when refused)."""
        slot = self._slot(name)
        if isinstance(event, Start):
            self.check_start(name)
            slot.replacement = None
        self._feed(slot, event)

    # ------------------------------------------------------------------ shutdown

    def shutdown(self) -> bool:
        """Stop every program, highest ``priority`` number first, a tier at a time.

        Returns True when everything is already stopped; otherwise
        :attr:`on_shutdown_complete` is called once the last program has stopped.
        """
        self._shutdown_tiers = sorted(
            {s.options.priority for s in self.slots.values()}, reverse=True
        )
        return self._next_tier()

    @property
    def shutting_down(self) -> bool:
        return self._shutdown_tiers is not None

    def _next_tier(self) -> bool:
        assert self._shutdown_tiers is not None
        while self._shutdown_tiers:
            priority = self._shutdown_tiers.pop(0)
            tier = [s for s in self.slots.values() if s.options.priority == priority]
            for slot in tier:
                self._feed(slot, Shutdown())
            self._stopping = {s.name for s in tier if not self._is_down(s)}
            if self._stopping:
                return False
        if self.on_shutdown_complete is not None:
            self.flush_notes()
            self.on_shutdown_complete()
        return True

    def _is_down(self, slot: Slot) -> bool:
        return slot.machine.state in STOPPED_STATES and slot.process is None

    def close(self) -> None:
        """Cancel every timer and close output files (after a shutdown)."""
        self.flush_notes()
        for slot in self.slots.values():
            self._disarm(slot)
            slot.logs.close()
        self.logs.close()
        if self.journal is not None:
            self.journal.close()

    # ------------------------------------------------------------------ internals

    def _slot(self, name: str) -> Slot:
        try:
            return self.slots[name]
        except KeyError:
            raise Fault(FaultCode.BAD_NAME, name) from None

    def _replace(self, slot: Slot, options: ProgramOptions) -> None:
        slot.replacement = options
        machine = slot.machine
        if self._is_down(slot) and not machine.spawning:
            self._swap(slot)
        elif machine.state in (ProcessState.RUNNING, ProcessState.STARTING, ProcessState.BACKOFF):
            self._feed(slot, Stop())
        # STOPPING: the swap happens when it has stopped

    def _swap(self, slot: Slot) -> None:
        options = slot.replacement
        assert options is not None
        slot.replacement = None
        self._disarm(slot)
        slot.machine = Machine(options)
        slot.logs.configure(options)
        self._feed(slot, Tick())

    def _feed(self, slot: Slot, event: Event, at: float | None = None) -> None:
        """Handle ``event`` (at monotonic time ``at``, default now) and what follows.

        Processes are started and signalled first; an ended process's last output and
        the transitions and log lines of the same event are recorded after, in order: a
        restarting program's next attempt is already running while its records are written
        and mirrored.
        """
        self.between_events()
        pending: deque[Event] = deque([event])
        notes: list[Transition | tuple[float, LogLine]] = []
        try:
            while pending:
                now = self.scheduler.now() if at is None else at
                at = None  # only the first event is dated in the past
                slot.fed_at = now
                effects = slot.machine.handle(pending.popleft(), now)
                for effect in effects:
                    if isinstance(effect, Transition):
                        notes.append(effect)
                    elif isinstance(effect, LogLine):
                        notes.append((self.scheduler.now(), effect))
                    else:
                        follow = self._act(slot, effect)
                        if follow is not None:
                            pending.append(follow)
        finally:
            self._close_ended(slot)
            self.recorder.write(slot.options, notes)
        self._rearm(slot)
        self._after_change(slot)

    def _after_change(self, slot: Slot) -> None:
        if not self._is_down(slot):
            return
        if slot.replacement is not None and self._shutdown_tiers is None:
            self._swap(slot)
        elif slot.name in self._stopping:
            self._stopping.discard(slot.name)
            if not self._stopping:
                self._next_tier()

    def _act(self, slot: Slot, effect: Effect) -> Event | None:
        if isinstance(effect, Spawn):
            return self._spawn(slot)
        if isinstance(effect, Kill):
            return self._kill(slot, effect)
        return None

    def _spawn(self, slot: Slot) -> Event:
        """Start the program's next process first, then close the attempt that ended (its
        last output, its marker), then mark the new one. The new process's own output is
        held until its marker (:meth:`ProgramLogs.spawning`): the log files keep their
        order while the new process already runs."""
        process = None

        def on_exit(status: ExitStatus, seen: float) -> None:
            if slot.process is process and process is not None:
                slot.process = None
                self._exited(slot, process, status, seen)

        logs = slot.logs
        sink = logs.spawning()
        try:
            process = self.launcher.spawn(slot.options, sink, on_exit)
        except SpawnError as error:
            self._close_ended(slot)
            logs.spawn_failed(error.message, self.scheduler.wall(self.scheduler.now()))
            return SpawnFailed(error.message)
        except BaseException:
            logs.release_held()
            raise
        slot.process = process
        self._close_ended(slot)
        logs.spawned(process.pid, self.scheduler.wall(self.scheduler.now()))
        return Spawned(process.pid)

    def _exited(self, slot: Slot, process: ProcessHandle, status: ExitStatus, seen: float) -> None:
        """The process has ended (``slot.process`` is already None): feed the exit; its
        attempt is closed once a next process has started, or at the end of the feed.

        ``seen`` may be when the loop learned of several exits at once, before it handled
        some of them; an event of this program handled since (a stop asked meanwhile)
        dates the exit no earlier than itself."""
        seen = max(seen, slot.fed_at)
        started = slot.machine.laststart
        ran = None if started is None else max(0.0, seen - started)
        self._close_ended(slot)
        slot.ended = (process, status, seen, ran)
        self._feed(slot, Exited(status), at=seen)

    def _close_ended(self, slot: Slot) -> None:
        """Deliver the ended process's last output, then mark its attempt closed."""
        ended, slot.ended = slot.ended, None
        if ended is not None:
            process, status, seen, ran = ended
            self.launcher.finish(process)
            slot.logs.exited(status.describe(), self.scheduler.wall(seen), ran)

    def _kill(self, slot: Slot, kill: Kill) -> Event | None:
        if slot.process is None:
            return SignalFailed(kill.signal, True, "[Errno 3] No such process", kill.killing)
        try:
            self.launcher.signal(slot.process, kill.signal, kill.group)
        except ProcessLookupError as error:
            return SignalFailed(kill.signal, True, str(error), kill.killing)
        except OSError:
            return SignalFailed(kill.signal, False, "\n" + traceback.format_exc(), kill.killing)
        return None

    def _rearm(self, slot: Slot) -> None:
        deadline = None if slot.removed else slot.machine.next_deadline()
        if deadline == slot.armed_at and (deadline is None or slot.timer is not None):
            return
        self._disarm(slot)
        if deadline is not None:
            slot.armed_at = deadline
            if slot.on_deadline is None:  # one callback per program, not one per timer
                slot.on_deadline = functools.partial(self._on_deadline, slot)
            slot.timer = self.scheduler.call_at(deadline, slot.on_deadline)

    def _disarm(self, slot: Slot) -> None:
        if slot.timer is not None:
            slot.timer.cancel()
        slot.timer = None
        slot.armed_at = None

    def _on_deadline(self, slot: Slot) -> None:
        slot.timer = None
        slot.armed_at = None
        if slot.removed:
            return
        if slot.process is not None:
            # an exit that happened before the deadline is classified first (no reap race)
            process = slot.process
            status = self.launcher.reap(process)
            if status is not None:
                slot.process = None
                self._exited(slot, process, status, self.scheduler.now())
        self._feed(slot, Tick())
