"""The driver: feeds events to the programs' machines and carries out their effects.

It owns, per program, the machine, the running process, its output channels and one timer
armed for the machine's next deadline. It never polls: it acts when a process exits (the
launcher calls back), when a deadline's timer fires, or when a user request arrives. Every
method runs on one thread (the supervisor's loop thread, or the caller's for a
simulation); nothing here is thread-safe by itself.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
from ..core.record import EventRecord
from ..core.states import STOPPED_STATES, ProcessState
from .clock import Scheduler, TimerHandle
from .journal import Journal
from .launcher import Launcher, ProcessHandle, SpawnError
from .output import OutputChannel

TransitionListener = Callable[[str, EventRecord, Transition], None]


@dataclass(eq=False)
class Slot:
    """Everything the driver keeps for one program."""

    machine: Machine
    channels: dict[str, OutputChannel]
    process: ProcessHandle | None = None
    timer: TimerHandle | None = None
    armed_at: float | None = None
    replacement: ProgramOptions | None = None
    removed: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def options(self) -> ProgramOptions:
        return self.machine.options


class Driver:
    """Runs programs' machines against a launcher and a scheduler.

    Parameters
    ----------
    scheduler
        Time: ``now()``, ``wall()``, ``call_at()``.
    launcher
        Processes: ``spawn``, ``signal``, ``reap``, ``check``.
    on_transition
        Called with (program, record, transition) for every transition, in order.
    journal
        Where records and log lines are written (None: nowhere).
    log_folder
        Where program output files go (None: in memory only).
    tail_bytes
        In-memory tail per output channel.
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
        self.on_transition = on_transition
        self.journal = journal
        self.log_folder = log_folder
        self.tail_bytes = tail_bytes
        self.started_at = scheduler.now()
        self.slots: dict[str, Slot] = {}
        self._shutdown_tiers: list[int] | None = None
        self._stopping: set[str] = set()
        self.on_shutdown_complete: Callable[[], None] | None = None
        #: Called before each event is handled: lets waiting user requests go first.
        self.serve_requests: Callable[[], None] = lambda: None

    # ------------------------------------------------------------------ programs

    def add(self, options: ProgramOptions) -> Slot:
        """Add a program (replacing a same-named one once it has stopped); start if autostart."""
        existing = self.slots.get(options.name)
        if existing is not None:
            self._replace(existing, options)
            return existing
        slot = Slot(Machine(options), self._channels(options))
        self.slots[options.name] = slot
        if self._shutdown_tiers is None:
            self._feed(slot, Tick())
        return slot

    def remove(self, name: str) -> None:
        """Forget a stopped program (Fault FAILED if it is still running)."""
        slot = self._slot(name)
        if slot.machine.state not in STOPPED_STATES or slot.process is not None:
            raise Fault(FaultCode.FAILED, f"process/group still running: {name}")
        self._disarm(slot)
        slot.removed = True
        for channel in slot.channels.values():
            channel.close()
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
            self.on_shutdown_complete()
        return True

    def _is_down(self, slot: Slot) -> bool:
        return slot.machine.state in STOPPED_STATES and slot.process is None

    def close(self) -> None:
        """Cancel every timer and close output files (after a shutdown)."""
        for slot in self.slots.values():
            self._disarm(slot)
            for channel in slot.channels.values():
                channel.close()
        if self.journal is not None:
            self.journal.close()

    # ------------------------------------------------------------------ internals

    def _slot(self, name: str) -> Slot:
        try:
            return self.slots[name]
        except KeyError:
            raise Fault(FaultCode.BAD_NAME, name) from None

    def _channels(self, options: ProgramOptions) -> dict[str, OutputChannel]:
        def path(channel: str) -> Path | None:
            return (
                None
                if self.log_folder is None
                else self.log_folder / f"{options.name}-{channel}.log"
            )

        channels = {"stdout": OutputChannel(path("stdout"), self.tail_bytes)}
        if not options.redirect_stderr:
            channels["stderr"] = OutputChannel(path("stderr"), self.tail_bytes)
        return channels

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
        old = slot.channels
        slot.machine = Machine(options)
        if set(old) != set(self._channels_names(options)):
            for channel in old.values():
                channel.close()
            slot.channels = self._channels(options)
        self._feed(slot, Tick())

    @staticmethod
    def _channels_names(options: ProgramOptions) -> list[str]:
        return ["stdout"] if options.redirect_stderr else ["stdout", "stderr"]

    def _feed(self, slot: Slot, event: Event, at: float | None = None) -> None:
        """Handle ``event`` (at monotonic time ``at``, default now) and what follows."""
        self.serve_requests()
        pending: deque[Event] = deque([event])
        while pending:
            now = self.scheduler.now() if at is None else at
            at = None  # only the first event is dated in the past
            effects = slot.machine.handle(pending.popleft(), now)
            for effect in effects:
                follow = self._apply(slot, effect)
                if follow is not None:
                    pending.append(follow)
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

    def _apply(self, slot: Slot, effect: Effect) -> Event | None:
        if isinstance(effect, Transition):
            self._record(slot, effect)
        elif isinstance(effect, LogLine):
            if self.journal is not None:
                self.journal.log(
                    self.scheduler.wall(self.scheduler.now()), effect.level, effect.message
                )
        elif isinstance(effect, Spawn):
            return self._spawn(slot)
        elif isinstance(effect, Kill):
            return self._kill(slot, effect)
        return None

    def _record(self, slot: Slot, transition: Transition) -> None:
        wall = self.scheduler.wall(transition.at)
        options = slot.options
        record = EventRecord.from_transition(
            transition, options.name, options.group_name, wall, transition.at - self.started_at
        )
        if self.journal is not None:
            self.journal.record(record)
            if transition.level:
                self.journal.log(wall, transition.level, transition.message)
        self.on_transition(options.name, record, transition)

    def _spawn(self, slot: Slot) -> Event:
        process = None

        def on_exit(status: ExitStatus, seen: float) -> None:
            if slot.process is process and process is not None:
                slot.process = None
                self._feed(slot, Exited(status), at=seen)

        try:
            process = self.launcher.spawn(slot.options, self._output_sink(slot), on_exit)
        except SpawnError as error:
            return SpawnFailed(error.message)
        slot.process = process
        return Spawned(process.pid)

    @staticmethod
    def _output_sink(slot: Slot) -> Callable[[str, bytes], None]:
        channels = slot.channels

        def sink(channel: str, data: bytes) -> None:
            target = channels.get(channel) or channels["stdout"]
            target.write(data)

        return sink

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
            slot.timer = self.scheduler.call_at(deadline, lambda: self._on_deadline(slot))

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
            status = self.launcher.reap(slot.process)
            if status is not None:
                slot.process = None
                self._feed(slot, Exited(status))
        self._feed(slot, Tick())
