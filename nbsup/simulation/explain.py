"""``explain()``: a plain-language reason for every transition of an event log.

The rows of each program are replayed in order (the failure counter, the last spawn, the
last exit, the pending stop), and each row is matched to its edge of semantics.md §5
(T1-T15) and explained with the program's options. Works on frames from live
supervisors, simulations and imported logs; missing values only make the reasons vaguer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..core.options import ProgramOptions, build_options
from ..core.record import EventRecord
from ..defaults import DEFAULT_OPTIONS, ProgramDefaults
from .reasons import explain_row
from .replay import Row, Track

__all__ = ["explain", "explain_records", "program_options"]


def program_options(raw: Mapping[str, Any] | ProgramOptions | None = None) -> ProgramOptions:
    """Checked options from ``raw``, the others being a new ``nbsup.Supervisor``'s defaults.

    Raises
    ------
    OptionError
        For an unknown option or a bad value.
    """
    if isinstance(raw, ProgramOptions):
        return raw
    traits = ProgramDefaults.class_traits()
    defaults = {name: traits[name].default() for name in DEFAULT_OPTIONS}
    return build_options("x", {"command": "-", **(raw or {})}, defaults)


def explain(
    events: pd.DataFrame,
    *,
    options_by_program: Mapping[str, Mapping[str, Any] | ProgramOptions] | None = None,
    with_edge: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """A copy of ``events`` with a ``reason`` column explaining each transition.

    Parameters
    ----------
    events
        An event log (``program.events``, ``sup.events``, :func:`simulate`'s result or an
        imported log); needs ``from_state`` and ``to_state``; the other columns of
        :mod:`nbsup.eventlog` are used when present (values may be missing).
    options_by_program
        Options per program name (a dict of options, or a ``ProgramOptions`` such as
        ``sup.options(name)``); they take precedence over ``**options``.
    with_edge
        Also add an ``edge`` column naming the transition of semantics.md §5 (``T1``...).
    **options
        Program options for every program; options not given are nbsup's defaults.

    Returns
    -------
    pandas.DataFrame
        A new frame; ``events`` is not modified.

    Raises
    ------
    OptionError
        For an unknown option or a bad value.
    ValueError
        If ``events`` lacks ``from_state`` or ``to_state``.

    Examples
    --------
    >>> from nbsup.simulation import simulate
    >>> explain(simulate("crash-immediately"))["reason"].iloc[-1]
    'gave up after 4 failed starts (startretries=3 allows 3 retries)'
    """
    missing = [c for c in ("from_state", "to_state") if c not in events.columns]
    if missing:
        raise ValueError(f"explain: the events lack the column(s) {', '.join(missing)}")
    base = dict(options)
    program_options(base)  # check the shared options even when there are no rows

    def options_for(program: str) -> ProgramOptions:
        given = (options_by_program or {}).get(program)
        return program_options(
            given if isinstance(given, ProgramOptions) else {**base, **(given or {})}
        )

    edges, reasons = explain_rows(_rows(events), options_for)
    result = events.copy()
    if with_edge:
        result["edge"] = pd.Series(edges, index=events.index, dtype="string")
    result["reason"] = pd.Series(reasons, index=events.index, dtype="string")
    return result


def explain_rows(
    rows: list[Row], options_for: Callable[[str], ProgramOptions]
) -> tuple[list[str], list[str]]:
    """The edge and the reason of each row, replaying each program's rows in order."""
    tracks: dict[str, Track] = {}
    following: dict[int, Row] = {}
    last_seen: dict[str, Row] = {}
    for row in reversed(rows):
        if row.program in last_seen:
            following[row.index] = last_seen[row.program]
        last_seen[row.program] = row
    edges, reasons = [], []
    for row in rows:
        track = tracks.get(row.program)
        if track is None:
            track = tracks[row.program] = Track(options_for(row.program))
        edge, reason = explain_row(row, following.get(row.index), track)
        track.update(row)
        edges.append(edge)
        reasons.append(reason)
    return edges, reasons


def explain_records(records: Sequence[EventRecord], options: ProgramOptions) -> list[str]:
    """The reason of each record of one program: :func:`explain` without a DataFrame
    (the live cards explain every new transition; this is their fast path)."""
    rows = [
        Row(
            index=i,
            program=record.program,
            from_state=record.from_state,
            to_state=record.to_state,
            t=record.elapsed,
            tries=record.tries,
            exitstatus=record.exitstatus,
            signal=record.signal,
            expected=record.expected,
            message=record.message,
        )
        for i, record in enumerate(records)
    ]
    return explain_rows(rows, lambda program: options)[1]


# --------------------------------------------------------------------------- rows


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if _isna(value) else value for value in frame[name].tolist()]


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _times(frame: pd.DataFrame) -> list[float | None]:
    elapsed = _column(frame, "elapsed")
    if all(value is not None for value in elapsed):
        return [float(value) for value in elapsed]
    try:
        stamps = pd.to_datetime(frame["time"], utc=True) if "time" in frame.columns else None
    except (TypeError, ValueError):
        stamps = None
    if stamps is not None and stamps.notna().all() and len(stamps):
        return [float(s) for s in (stamps - stamps.iloc[0]).dt.total_seconds()]
    return [None if value is None else float(value) for value in elapsed]


def _rows(frame: pd.DataFrame) -> list[Row]:
    columns = {
        name: _column(frame, name)
        for name in ("program", "from_state", "to_state", "tries", "exitstatus", "signal")
    }
    expected, messages, times = _column(frame, "expected"), _column(frame, "message"), _times(frame)
    rows = []
    for i in range(len(frame)):
        tries, status = columns["tries"][i], columns["exitstatus"][i]
        rows.append(
            Row(
                index=i,
                program=str(columns["program"][i] or ""),
                from_state=str(columns["from_state"][i] or "").upper(),
                to_state=str(columns["to_state"][i] or "").upper(),
                t=times[i],
                tries=None if tries is None else int(tries),
                exitstatus=None if status is None else int(status),
                signal=None if columns["signal"][i] is None else str(columns["signal"][i]),
                expected=None if expected[i] is None else bool(expected[i]),
                message=str(messages[i] or ""),
            )
        )
    return rows
