"""What a card shows, gathered on the supervisor's thread from the event records.

:class:`CardModel` is fed every :class:`~nbsup.core.record.EventRecord` of its program (none
is coalesced away), so its counters (edges taken, restarts, failures) are always right;
:meth:`CardModel.snapshot` freezes everything a render needs.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.record import EventRecord
from ..core.states import ProcessState

Edge = tuple[ProcessState, ProcessState]
TIMELINE_LENGTH = 50
#: Earlier records given to the explainer with the ones to explain (it needs the context).
CONTEXT = 12


@dataclass(frozen=True)
class LastExit:
    exitstatus: int
    signal: str | None
    expected: bool | None
    to_state: ProcessState


@dataclass(frozen=True)
class Countdown:
    """A pending deadline: what happens, how long is left, how long it was in all."""

    label: str
    remaining: float
    total: float

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, max(0.0, 1.0 - self.remaining / self.total))


@dataclass(frozen=True)
class CardSnapshot:
    name: str
    state: ProcessState
    pid: int
    description: str
    tries: int
    startretries: int
    countdown: Countdown | None
    last_exit: LastExit | None
    counts: dict[Edge, int]
    last_edge: Edge | None
    timeline: list[EventRecord]
    restarts: int
    failures: int
    reasons: list[str] = field(default_factory=list)
    stdout: bytes = b""
    stderr: bytes = b""
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    log_error: str | None = None


class CardModel:
    """Counters and recent history of one program, updated record by record."""

    def __init__(self, records: Iterable[EventRecord] = ()) -> None:
        self.counts: Counter[Edge] = Counter()
        self.timeline: deque[EventRecord] = deque(maxlen=TIMELINE_LENGTH)
        self.reasons: deque[str | None] = deque(maxlen=TIMELINE_LENGTH)
        self._recent: deque[EventRecord] = deque(maxlen=TIMELINE_LENGTH + CONTEXT)
        self.last_edge: Edge | None = None
        self.last_exit: LastExit | None = None
        self.entered_elapsed = 0.0
        self.starts = 0
        self.failures = 0
        for record in records:
            self.add(record)

    def add(self, record: EventRecord) -> None:
        edge = (ProcessState(record.from_state), ProcessState(record.to_state))
        self.counts[edge] += 1
        self.last_edge = edge
        self.timeline.append(record)
        self.reasons.append(None)
        self._recent.append(record)
        self.entered_elapsed = record.elapsed
        if edge[1] is ProcessState.STARTING:
            self.starts += 1
        if edge[1] is ProcessState.BACKOFF or (
            edge[1] is ProcessState.EXITED and record.expected is False
        ):
            self.failures += 1
        if record.exitstatus is not None:
            self.last_exit = LastExit(
                record.exitstatus, record.signal, record.expected, ProcessState(record.to_state)
            )

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def fill_reasons(self, explain: Callable[[list[EventRecord]], list[str]]) -> list[str]:
        """The timeline's reasons, explaining only the records that have none yet.

        ``explain(records)`` returns one reason per record; it gets up to ``CONTEXT``
        earlier records too, since a reason depends on what came before.
        """
        missing = [i for i, reason in enumerate(self.reasons) if reason is None]
        if missing:
            offset = len(self._recent) - len(self.timeline)
            start = max(0, offset + missing[0] - CONTEXT)
            reasons = explain(list(self._recent)[start:])
            for i in missing:
                self.reasons[i] = reasons[offset + i - start]
        return [reason or "" for reason in self.reasons]
