"""The event log as a pandas DataFrame, with one fixed schema.

Columns (see :data:`COLUMNS`): ``time`` (datetime64[ns, UTC]), ``elapsed`` (float seconds
on the monotonic clock since the supervisor started), ``program``, ``group``,
``from_state`` and ``to_state`` (ordered categoricals of supervisord's state names),
``pid``, ``tries``, ``exitstatus`` (nullable Int64; ``exitstatus`` is -1 for a signal
death), ``signal`` (e.g. ``SIGTERM``), ``expected`` (nullable boolean) and ``message``
(the supervisord.log message).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .core.record import COLUMNS, EventRecord
from .core.states import ProcessState

#: The states in supervisord's code order, as the categories of from_state/to_state.
STATE_CATEGORIES = pd.CategoricalDtype([s.value for s in ProcessState], ordered=True)

DTYPES: dict[str, object] = {
    "time": "datetime64[ns, UTC]",
    "elapsed": "float64",
    "program": "string",
    "group": "string",
    "from_state": STATE_CATEGORIES,
    "to_state": STATE_CATEGORIES,
    "pid": "Int64",
    "tries": "Int64",
    "exitstatus": "Int64",
    "signal": "string",
    "expected": "boolean",
    "message": "string",
}

__all__ = [
    "COLUMNS",
    "DTYPES",
    "EventStore",
    "empty_frame",
    "frame_from_columns",
    "frame_from_records",
]


def frame_from_columns(columns: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Build an event frame from one sequence per column (the fast path)."""
    data = {}
    for name in COLUMNS:
        values = columns[name]
        if name == "time":
            seconds = pd.Series(values, dtype="float64")
            data[name] = pd.to_datetime(seconds, unit="s", utc=True).astype("datetime64[ns, UTC]")
        else:
            data[name] = pd.Series(values, dtype=DTYPES[name])  # type: ignore[call-overload]
    return pd.DataFrame(data, columns=list(COLUMNS))


def frame_from_records(records: Iterable[EventRecord]) -> pd.DataFrame:
    """Build an event frame from :class:`EventRecord` rows."""
    rows = [record.as_tuple() for record in records]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(COLUMNS)}
    return frame_from_columns(columns)


def empty_frame() -> pd.DataFrame:
    """An event frame with no rows and the right dtypes."""
    return frame_from_columns({name: [] for name in COLUMNS})


class EventStore:
    """Append-only, thread-safe storage of event rows, kept column by column.

    The supervisor's thread appends; any thread may take a frame.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
        self._lists = list(self._columns.values())  # in COLUMNS order, for append

    def __len__(self) -> int:
        return len(self._columns["time"])

    def append(self, record: EventRecord) -> None:
        with self._lock:
            for column, value in zip(self._lists, record.as_tuple()):  # noqa: B905 (same length)
                column.append(value)

    def records(self, program: str | None = None) -> list[EventRecord]:
        """All rows, or those of one program, as :class:`EventRecord` objects."""
        with self._lock:
            columns = list(self._columns.values())
            names = self._columns["program"]
            if program is None:
                rows = list(zip(*columns, strict=True))
            else:
                picked = [i for i, name in enumerate(names) if name == program]
                rows = [tuple(column[i] for column in columns) for i in picked]
        return [EventRecord(*row) for row in rows]

    def frame(self, program: str | None = None) -> pd.DataFrame:
        """All rows, or those of one program, as a new DataFrame."""
        with self._lock:
            columns = {name: list(values) for name, values in self._columns.items()}
        frame = frame_from_columns(columns)
        if program is not None:
            frame = frame[frame["program"] == program].reset_index(drop=True)
        return frame
