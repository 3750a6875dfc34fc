"""An event-log frame normalised for :mod:`nbsup.analysis.metrics`: one clock, sorted rows.

:func:`prepare` copies the columns the metrics read into a new frame (the input is never
modified), coerces them to the event-log dtypes, sorts each program's rows by ``time``
(stably, so equal times keep the order they were recorded in) and adds the clock, each
row's successor and the row classes the metrics count (see :class:`Prepared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ..core.states import ProcessState
from ..eventlog import STATE_CATEGORIES

#: The columns the metrics read; ``elapsed``, ``group``, ``exitstatus``, ``signal`` are
#: used when present.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "time",
    "program",
    "from_state",
    "to_state",
    "tries",
    "expected",
)
#: supervisord's state names in code order.
STATES: tuple[str, ...] = tuple(s.value for s in ProcessState)
UTC: Any = "datetime64[ns, UTC]"
Until = pd.Timestamp | datetime | str | float | None


def missing_columns(frame: pd.DataFrame) -> list[str]:
    """The names in :data:`REQUIRED_COLUMNS` that ``frame`` lacks (no data is read)."""
    return [name for name in REQUIRED_COLUMNS if name not in frame.columns]


@dataclass(frozen=True)
class Prepared:
    """A normalised copy of an event frame.

    ``rows`` (sorted, RangeIndex) has ``program`` (object), ``group``, ``from_state``,
    ``to_state``, ``time``, ``elapsed``, ``tries``, ``expected``, ``exitstatus``,
    ``signal``, ``clock``, ``next_clock`` and ``next_time`` (the program's next row) and
    ``last`` (the program's last row), and the row classes ``starting``, ``automatic``
    (STARTING from EXITED or BACKOFF), ``unexpected`` (EXITED, not expected) and
    ``failure``. ``code`` is each row's position in ``programs`` (non-decreasing);
    ``end`` is the clock at which last states stop; ``anchor`` is (clock, time) of a row
    that has both, to convert between them.
    """

    rows: pd.DataFrame
    programs: list[str]
    code: np.ndarray
    end: float
    anchor: tuple[float, pd.Timestamp] | None

    def first(self, mask: Any) -> np.ndarray:
        """Per program, the position of its first row in ``mask`` (-1 if none)."""
        return self._edge(mask, "left")

    def last(self, mask: Any) -> np.ndarray:
        """Per program, the position of its last row in ``mask`` (-1 if none)."""
        return self._edge(mask, "right")

    def _edge(self, mask: Any, side: Any) -> np.ndarray:
        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(where):
            return np.full(len(self.programs), -1, dtype=np.int64)
        codes, wanted = self.code[where], np.arange(len(self.programs))
        left = np.searchsorted(codes, wanted, "left")
        right = np.searchsorted(codes, wanted, "right")
        found = where[np.minimum(left if side == "left" else right - 1, len(where) - 1)]
        return np.where(right > left, found, -1)

    def to_time(self, clock: pd.Series) -> pd.Series:
        """Timestamps for clock values (NaT without an anchor)."""
        if self.anchor is None:
            return pd.Series(pd.NaT, index=clock.index, dtype=UTC)
        offset = pd.to_timedelta((clock - self.anchor[0]).round(9), unit="s", errors="coerce")
        return (offset + self.anchor[1]).astype(UTC)


def _utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(UTC)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype(UTC)
    if pd.api.types.is_numeric_dtype(values.dtype):
        values = values.astype("float64")
        return pd.to_datetime(values, unit="s", utc=True, errors="coerce").astype(UTC)
    return pd.to_datetime(values, utc=True, errors="coerce").astype(UTC)


def _column(frame: pd.DataFrame, name: str, dtype: Any) -> pd.Series:
    """``frame[name]`` as ``dtype`` (all missing if absent or not convertible)."""
    if name in frame.columns:
        column = frame[name]
        if column.dtype == dtype:
            return column
        try:
            return column.astype(dtype)
        except (TypeError, ValueError):
            pass
    return pd.Series(pd.NA if dtype != "float64" else np.nan, index=frame.index, dtype=dtype)


def prepare(frame: pd.DataFrame, until: Until = None) -> Prepared:
    """Normalise ``frame`` for the metric functions (a copy: the input is untouched).

    Parameters
    ----------
    frame
        An event-log frame; only :data:`REQUIRED_COLUMNS` must be present.
    until
        Where the last states stop counting: a timestamp (naive means UTC) or a number on
        the clock. Rows after it are dropped. Default: the frame's last row.
    """
    states: Any = STATE_CATEGORIES
    program, time = _column(frame, "program", "string"), _utc(frame["time"])
    keep = np.flatnonzero(program.notna().to_numpy(dtype=bool))
    codes, names = pd.factorize(program.take(keep), sort=True)
    stamps = time.array.asi8[keep]  # NaT sorts last:
    stamps = np.where(time.isna().to_numpy()[keep], np.iinfo(np.int64).max, stamps)
    order = np.lexsort((keep, stamps, codes))
    pick = keep[order]
    columns = {
        "program": np.asarray(names, dtype=object)[codes[order]],
        "group": _column(frame, "group", "string").array.take(pick),
        "from_state": _column(frame, "from_state", states).array.take(pick),
        "to_state": _column(frame, "to_state", states).array.take(pick),
        "time": time.array.take(pick),
        "elapsed": _column(frame, "elapsed", "float64").to_numpy()[pick],
        "tries": _column(frame, "tries", "Int64").array.take(pick),
        "expected": _column(frame, "expected", "boolean").array.take(pick),
        "exitstatus": _column(frame, "exitstatus", "Int64").array.take(pick),
        "signal": _column(frame, "signal", "string").array.take(pick),
    }
    same = columns["program"][1:] == columns["program"][:-1]
    elapsed, times = columns["elapsed"], columns["time"]
    if np.isfinite(elapsed).all() and (np.diff(elapsed)[same] >= 0).all():
        clock = elapsed
    else:
        clock = np.asarray((times - times.min()).total_seconds(), dtype="float64")
    known = np.flatnonzero(~np.isnan(clock) & ~times.isna())
    anchor = None
    if len(known):
        at = known[int(clock[known].argmax())]
        anchor = (float(clock[at]), pd.Timestamp(times[at]))
    if until is None:
        end = float(np.nanmax(clock)) if (~np.isnan(clock)).any() else float("nan")
    elif isinstance(until, int | float | np.number) and not isinstance(until, bool):
        end = float(until)
    elif anchor is None:
        end = float("nan")
    else:
        stamp = pd.Timestamp(until)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        end = anchor[0] + (stamp - anchor[1]).total_seconds()
    rows = pd.DataFrame({**columns, "clock": clock})
    if until is not None:  # rows after ``until`` have not happened yet
        rows = rows[~(clock > end)].reset_index(drop=True)
    name, clock = rows["program"].to_numpy(), rows["clock"].to_numpy()
    to = rows["to_state"].to_numpy(dtype=object)
    last = np.append(name[1:] != name[:-1], True) if len(rows) else np.zeros(0, bool)
    following = np.arange(1, len(rows) + 1)
    following[last] = -1
    unexpected = (to == "EXITED") & ~rows["expected"].to_numpy(dtype=bool, na_value=True)
    starting = to == "STARTING"
    from_state = rows["from_state"].to_numpy(dtype=object)
    derived = {
        "starting": starting,
        "automatic": starting & ((from_state == "EXITED") | (from_state == "BACKOFF")),
        "unexpected": unexpected,
        "failure": (to == "BACKOFF") | (to == "FATAL") | unexpected,
        "last": last,
        "next_clock": np.where(last, np.nan, np.append(clock[1:], np.nan)),
        "next_time": rows["time"].array.take(following, allow_fill=True),
    }
    rows = pd.concat([rows, pd.DataFrame(derived, index=rows.index)], axis=1)
    programs = sorted(set(name))
    code = np.searchsorted(np.asarray(programs, dtype=object), name).astype(np.int64)
    return Prepared(rows, programs, code, end, anchor)


def seconds(values: Any) -> pd.Series:
    """Float seconds rounded to the nanosecond (the resolution of ``time``)."""
    return pd.Series(values, dtype="float64").round(9)


def tally(p: Prepared, mask: Any) -> np.ndarray:
    """How many rows of each program are in ``mask``."""
    picked = p.code[np.asarray(mask, dtype=bool)]
    return np.bincount(picked, minlength=len(p.programs)).astype(np.int64)


def program_index(p: Prepared) -> pd.Index:
    """The index of per-program tables: the sorted names, dtype ``string``."""
    return pd.Index(p.programs, dtype="string", name="program")
