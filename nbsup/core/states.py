"""supervisord's process states and the edges between them (semantics.md §1, §5)."""

from __future__ import annotations

from enum import StrEnum


class ProcessState(StrEnum):
    """The state of one supervised program, with supervisord's names and codes.

    The string value is supervisord's state name, so ``ProcessState("RUNNING")`` and
    comparisons with plain strings work; :attr:`code` is supervisord's numeric code.
    """

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    BACKOFF = "BACKOFF"
    STOPPING = "STOPPING"
    EXITED = "EXITED"
    FATAL = "FATAL"
    UNKNOWN = "UNKNOWN"

    @property
    def code(self) -> int:
        """supervisord's numeric state code (``states.py:4-12``)."""
        return _CODES[self]


_CODES = {
    ProcessState.STOPPED: 0,
    ProcessState.STARTING: 10,
    ProcessState.RUNNING: 20,
    ProcessState.BACKOFF: 30,
    ProcessState.STOPPING: 40,
    ProcessState.EXITED: 100,
    ProcessState.FATAL: 200,
    ProcessState.UNKNOWN: 1000,
}

#: States in which the program counts as not running (``states.py:14-17``).
STOPPED_STATES = frozenset(
    {ProcessState.STOPPED, ProcessState.EXITED, ProcessState.FATAL, ProcessState.UNKNOWN}
)
#: States in which a start is refused as "already started" (``states.py:19-21``).
RUNNING_STATES = frozenset({ProcessState.STARTING, ProcessState.RUNNING, ProcessState.BACKOFF})
#: States in which a signal can be sent (``states.py:23-25``).
SIGNALLABLE_STATES = frozenset({ProcessState.STARTING, ProcessState.RUNNING, ProcessState.STOPPING})

S = ProcessState
#: Every edge of supervisord's process state machine (semantics.md §5, T1-T15).
EDGES: frozenset[tuple[ProcessState, ProcessState]] = frozenset(
    {
        (S.STOPPED, S.STARTING),  # T1 autostart, T2 start
        (S.EXITED, S.STARTING),  # T2 start, T3 autorestart
        (S.FATAL, S.STARTING),  # T2 start
        (S.BACKOFF, S.STARTING),  # T4 retry
        (S.STARTING, S.BACKOFF),  # T5 spawn error, T7 exited too quickly
        (S.STARTING, S.RUNNING),  # T6 startsecs reached, T8 exit after startsecs
        (S.RUNNING, S.EXITED),  # T8, T9
        (S.BACKOFF, S.FATAL),  # T10 gave up
        (S.STARTING, S.STOPPING),  # T11 stop
        (S.RUNNING, S.STOPPING),  # T11 stop
        (S.STOPPING, S.STOPPED),  # T13 stopped
        (S.BACKOFF, S.STOPPED),  # T14 stop in BACKOFF
        (S.STARTING, S.UNKNOWN),  # T15 kill or signal failed
        (S.RUNNING, S.UNKNOWN),
        (S.STOPPING, S.UNKNOWN),
        (S.UNKNOWN, S.EXITED),  # the exit of a process whose kill failed
    }
)
del S
