"""One row of the event log: the schema shared by live supervisors, simulations and logs.

Defined once here; :mod:`nbsup.eventlog` turns rows into a pandas DataFrame and the
runtime writes them as JSON lines.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter

from .events import Transition


@dataclass(frozen=True)
class EventRecord:
    """A transition as recorded: what happened, to which program, and when.

    ``time`` is epoch seconds (UTC); ``elapsed`` is monotonic seconds since the supervisor
    started. The other fields are the event log's columns of the same names.
    """

    time: float
    elapsed: float
    program: str
    group: str
    from_state: str
    to_state: str
    pid: int | None
    tries: int | None
    exitstatus: int | None
    signal: str | None
    expected: bool | None
    message: str

    @classmethod
    def from_transition(
        cls, transition: Transition, program: str, group: str, wall: float, elapsed: float
    ) -> EventRecord:
        return cls(
            time=wall,
            elapsed=elapsed,
            program=program,
            group=group,
            from_state=transition.from_state.value,
            to_state=transition.to_state.value,
            pid=transition.pid,
            tries=transition.tries,
            exitstatus=transition.exitstatus,
            signal=transition.signal,
            expected=transition.expected,
            message=transition.message,
        )

    def as_tuple(self) -> tuple[object, ...]:
        # attrgetter, not dataclasses.astuple: astuple deep-copies every field (the values
        # are immutable scalars) and was most of the cost of recording a transition
        values: tuple[object, ...] = _VALUES(self)
        return values


#: The event log's columns, in order.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(EventRecord))
_VALUES = attrgetter(*COLUMNS)
