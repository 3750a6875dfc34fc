"""The replay behind :func:`nbsup.simulation.explain`: rows, and what is known of a program.

:class:`Track` follows what supervisord keeps per program (the failure counter, the last
spawn, the last exit, the pending stop) through the rows seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.options import ProgramOptions

__all__ = ["Row", "Track", "expected_of"]


@dataclass(frozen=True)
class Row:
    """One event row, with missing values as None and ``t`` in seconds."""

    index: int
    program: str
    from_state: str
    to_state: str
    t: float | None
    tries: int | None
    exitstatus: int | None
    signal: str | None
    expected: bool | None
    message: str


@dataclass
class Track:
    """What the replay knows of one program before the current row."""

    options: ProgramOptions
    rows: int = 0
    last_t: float | None = None
    started_t: float | None = None
    stopping_t: float | None = None
    stop_signal: str | None = None
    backoff: int = 0
    exit_expected: bool | None = None
    exit_status: int | None = None
    exit_signal: str | None = None

    def update(self, row: Row) -> None:
        """Take ``row`` into account (after it has been explained)."""
        self.rows += 1
        self.last_t = row.t
        to = row.to_state
        if to == "STARTING":
            self.started_t = row.t
            self.backoff = row.tries if row.tries is not None else self.backoff
        elif to == "BACKOFF":
            self.backoff = row.tries if row.tries is not None else self.backoff + 1
        elif to == "FATAL" or (to in ("RUNNING", "EXITED") and not self.options.policy.reset_after):
            self.backoff = 0
        if to == "STOPPING":
            self.stopping_t = row.t
            self.stop_signal = row.signal or self.options.stopsignal.name
        if to == "EXITED":
            self.exit_status, self.exit_signal = row.exitstatus, row.signal
            self.exit_expected = expected_of(row, self.options)


def expected_of(row: Row, options: ProgramOptions) -> bool | None:
    """Whether the exit of ``row`` was expected: its own value, else from ``exitcodes``."""
    if row.expected is not None:
        return row.expected
    if row.exitstatus is None:
        return None
    return row.exitstatus in options.exitcodes
