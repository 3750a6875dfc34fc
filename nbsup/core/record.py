"""One row of the event log: the schema shared by live supervisors, simulations and logs.

Defined once here; :mod:`nbsup.eventlog` turns rows into a pandas DataFrame and the
runtime writes them as JSON lines.
"""

from __future__ import annotations

from typing import NamedTuple

from .events import Transition


class EventRecord(NamedTuple):
    """A transition as recorded: what happened, to which program, and when.

    ``time`` is epoch seconds (UTC); ``elapsed`` is monotonic seconds since the supervisor
    started. The other fields are the event log's columns of the same names. A named
    tuple: made for every transition, it costs a sixth of a frozen dataclass.
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
            wall,
            elapsed,
            program,
            group,
            transition.from_state.value,
            transition.to_state.value,
            transition.pid,
            transition.tries,
            transition.exitstatus,
            transition.signal,
            transition.expected,
            transition.message,
        )

    def as_tuple(self) -> tuple[object, ...]:
        """The values, in the order of :data:`COLUMNS`."""
        return self


#: The event log's columns, in order.
COLUMNS: tuple[str, ...] = EventRecord._fields
