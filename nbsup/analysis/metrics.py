"""Pure functions on event-log frames: restarts, backoff delays, time in state, uptimes, MTBF,
crash loops and a per-program summary.

Each takes a DataFrame of the event-log schema (:mod:`nbsup.eventlog`) and returns a new
DataFrame; the input is never modified. Shared conventions:

* Rows are read per program in time order: a stable sort on ``time``, so rows with equal
  times keep their frame order (the order they were recorded in). Rows without a program
  are ignored.
* The *clock* is ``elapsed`` when that column is complete and never goes backwards within a
  program, else seconds since the frame's first ``time``. Durations are differences on it,
  rounded to the nanosecond (the resolution of ``time``).
* A state lasts from its row to the program's next row; a program's last state lasts to
  ``until`` (a timestamp, or a number on the clock; rows after it are ignored) or by
  default to the frame's last row over all programs.
* A *failure* is a BACKOFF row, an EXITED row with ``expected`` False, or a FATAL row.
* Tables with one row per program are indexed by ``program``, sorted by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.backoff import LinearBackoff
from ..eventlog import STATE_CATEGORIES
from ._prepare import (
    REQUIRED_COLUMNS,
    STATES,
    UTC,
    Prepared,
    Until,
    missing_columns,
    prepare,
    program_index,
    seconds,
    tally,
)

__all__ = [
    "REQUIRED_COLUMNS",
    "STATES",
    "Prepared",
    "backoff_delays",
    "crash_loops",
    "intervals",
    "missing_columns",
    "mtbf",
    "prepare",
    "restarts",
    "summary",
    "time_in_state",
    "uptimes",
]


def restarts(frame: pd.DataFrame) -> pd.DataFrame:
    """Starts and failures per program.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``program`` with int64 columns ``starts`` (STARTING rows), ``automatic``
        (STARTING from EXITED or BACKOFF), ``manual`` (the other starts: from STOPPED or FATAL,
        which includes the autostart at launch), ``failed_starts`` (BACKOFF rows),
        ``unexpected_exits`` (EXITED with ``expected`` False) and ``fatals``.
    """
    p = prepare(frame)
    rows = p.rows
    columns = {
        "starts": rows["starting"],
        "automatic": rows["automatic"],
        "manual": rows["starting"] & ~rows["automatic"],
        "failed_starts": rows["to_state"].eq("BACKOFF"),
        "unexpected_exits": rows["unexpected"],
        "fatals": rows["to_state"].eq("FATAL"),
    }
    return pd.DataFrame({k: tally(p, v) for k, v in columns.items()}, index=program_index(p))


def backoff_delays(frame: pd.DataFrame, policy: Any = "linear") -> pd.DataFrame:
    """One row per retry: a BACKOFF row followed by the program's STARTING from BACKOFF.

    Parameters
    ----------
    policy
        ``"linear"`` (supervisord: ``tries`` seconds) or any object with ``delay(tries)``,
        such as :class:`nbsup.core.backoff.ExponentialBackoff` (with jitter, the nominal
        delay is a fresh random draw, not the one the supervisor used).

    Returns
    -------
    pandas.DataFrame
        Columns ``program``, ``tries`` (Int64, of the BACKOFF row), ``backoff`` and ``start`` (the
        two rows' times), ``nominal``, ``actual`` (start − backoff on the clock) and ``lateness``
        (actual − nominal), in seconds.
    """
    if isinstance(policy, str):
        if policy != "linear":
            raise ValueError(f"policy={policy!r}: expected 'linear' or an object with delay()")
        policy = LinearBackoff()
    p = prepare(frame)
    rows = p.rows
    after = rows[["from_state", "to_state"]].shift(-1)
    retry = after["from_state"].eq("BACKOFF") & after["to_state"].eq("STARTING")
    picked = rows[rows["to_state"].eq("BACKOFF") & ~rows["last"] & retry.fillna(False).astype(bool)]
    nominal = [np.nan if pd.isna(t) else float(policy.delay(int(t))) for t in picked["tries"]]
    out = pd.DataFrame(
        {
            "program": picked["program"].astype("string"),
            "tries": picked["tries"],
            "backoff": picked["time"],
            "start": picked["next_time"].astype(UTC),
            "nominal": pd.Series(nominal, index=picked.index, dtype="float64"),
            "actual": seconds(picked["next_clock"] - picked["clock"]),
        }
    ).reset_index(drop=True)
    out["lateness"] = seconds(out["actual"] - out["nominal"])
    return out


def intervals(frame: pd.DataFrame | Prepared, until: Until = None) -> pd.DataFrame:
    """The state spells: one row per event row, the state it entered and for how long.

    Returns
    -------
    pandas.DataFrame
        Columns ``program``, ``state`` (categorical), ``start`` and ``end`` (timestamps),
        ``start_s`` and ``end_s`` (on the clock) and ``duration`` (seconds). Rows after ``until``
        are left out; a spell that ``until`` cuts short ends there.
    """
    p = frame if isinstance(frame, Prepared) else prepare(frame, until)
    rows, start = p.rows, p.rows["clock"]
    values, keep = _durations(p)
    duration = pd.Series(values, index=rows.index)
    cut = rows["last"] | (rows["next_clock"] > p.end)
    out = pd.DataFrame(
        {
            "program": rows["program"].astype("string"),
            "state": rows["to_state"],
            "start": rows["time"],
            "end": rows["next_time"].astype(UTC).where(~cut, p.to_time(start + duration)),
            "start_s": start,
            "end_s": start + duration,
            "duration": duration,
        }
    )
    return out[keep].reset_index(drop=True)


def time_in_state(frame: pd.DataFrame | Prepared, until: Until = None) -> pd.DataFrame:
    """Seconds spent in each state per program.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``program`` with one float64 column per state in supervisord's code order
        (``STOPPED`` … ``UNKNOWN``). Time before a program's first row is not counted.
    """
    p = frame if isinstance(frame, Prepared) else prepare(frame, until)
    duration, keep = _durations(p)
    state = np.asarray(p.rows["to_state"].array.codes, dtype=np.int64)
    keep &= (state >= 0) & ~np.isnan(duration)
    cell = p.code[keep] * len(STATES) + state[keep]
    total = np.bincount(cell, weights=duration[keep], minlength=len(p.programs) * len(STATES))
    table = total.reshape(len(p.programs), len(STATES)).round(9)
    return pd.DataFrame(table, index=program_index(p), columns=pd.Index(STATES, name="state"))


def _durations(p: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Each row's spell length in seconds (cut at ``p.end``) and whether it began by then."""
    start, last = p.rows["clock"].to_numpy(), p.rows["last"].to_numpy()
    stop = np.minimum(np.where(last, p.end, p.rows["next_clock"].to_numpy()), p.end)
    with np.errstate(invalid="ignore"):
        return np.round(np.clip(stop - start, 0.0, None), 9), start <= p.end


def uptimes(frame: pd.DataFrame, until: Until = None) -> pd.DataFrame:
    """One row per run that reached RUNNING.

    Returns
    -------
    pandas.DataFrame
        Columns ``program``, ``start`` (the spawn: STARTING), ``running`` (RUNNING), ``end`` (the
        row that ended the run; NaT while running), ``uptime`` (seconds from the spawn to the end,
        or to ``until``/the frame's end, as supervisorctl counts), ``ended`` (``exited``,
        ``crashed`` for an unexpected exit, ``stopped``, ``unknown`` when the run ended in UNKNOWN
        or its end is missing, or ``running``), and ``exitstatus`` (Int64) and ``signal`` of the
        ending row.
    """
    p = prepare(frame, until)
    rows = p.rows
    states, program = rows["to_state"].astype(object).to_numpy(), rows["program"].to_numpy()
    unexpected = rows["unexpected"].to_numpy(dtype=bool)
    runs: list[tuple[int, int, int, str]] = []  # start, running, end (-1: none), how ended
    start = running = -1
    for i, state in enumerate(states):
        if i and program[i] != program[i - 1]:
            if running >= 0:
                runs.append((start, running, -1, "running"))
            start = running = -1
        if state == "STARTING":
            if running >= 0:  # the run's end is missing from the log
                runs.append((start, running, i, "unknown"))
            start, running = i, -1
        elif state == "RUNNING" and running < 0:
            start, running = (i if start < 0 else start), i
        elif state in ("EXITED", "STOPPED", "UNKNOWN", "BACKOFF", "FATAL"):
            if running >= 0:
                how = {"EXITED": "exited", "STOPPED": "stopped"}.get(state, "unknown")
                runs.append((start, running, i, "crashed" if unexpected[i] else how))
            start = running = -1
    if running >= 0:
        runs.append((start, running, -1, "running"))
    first, up, ends = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
    end_clock = rows["clock"].reindex(ends).fillna(p.end).to_numpy()
    result = pd.DataFrame(
        {
            "program": rows["program"].take(first).array,
            "start": rows["time"].take(first).array,
            "running": rows["time"].take(up).array,
            "end": rows["time"].reindex(ends).array,
            "uptime": seconds(end_clock - rows["clock"].take(first).to_numpy()).clip(lower=0),
            "ended": [r[3] for r in runs],
            "exitstatus": rows["exitstatus"].reindex(ends).array,
            "signal": rows["signal"].reindex(ends).array,
        }
    )
    texts = {"program": "string", "ended": "string", "signal": "string", "exitstatus": "Int64"}
    return result.astype({**texts, "start": UTC, "running": UTC, "end": UTC})


def mtbf(frame: pd.DataFrame | Prepared) -> pd.DataFrame:
    """Mean time between failures (BACKOFF, unexpected EXITED, FATAL) per program.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``program`` with ``failures`` (int64), ``first_failure`` and ``last_failure``
        (timestamps) and ``mtbf``: the mean gap in seconds between consecutive failures, NaN with
        fewer than two.
    """
    p = frame if isinstance(frame, Prepared) else prepare(frame)
    failed = p.rows["failure"].to_numpy()
    count, first, last = tally(p, failed), p.first(failed), p.last(failed)
    clock, times = p.rows["clock"].to_numpy(), p.rows["time"].array
    span = np.where(count >= 2, clock[last] - clock[first], np.nan)
    out = pd.DataFrame(
        {
            "failures": count,
            "first_failure": times.take(first, allow_fill=True),
            "last_failure": times.take(last, allow_fill=True),
            "mtbf": seconds(span / np.maximum(count - 1, 1)).array,
        },
        index=program_index(p),
    )
    return out.astype({"first_failure": UTC, "last_failure": UTC})


def crash_loops(
    frame: pd.DataFrame,
    n: int = 3,
    window: str | float | pd.Timedelta = "15min",
    events: str = "failures",
) -> pd.DataFrame:
    """Where the rule "at least ``n`` events within ``window``" fired, per program.

    Parameters
    ----------
    n
        Events needed within one window (>= 1).
    window
        A pandas offset string or Timedelta, or seconds. A window ending at event *t* holds
        the events in ``(t - window, t]``.
    events
        ``"failures"`` (BACKOFF, unexpected EXITED, FATAL) or ``"restarts"`` (automatic
        starts: STARTING from EXITED or BACKOFF).

    Returns
    -------
    pandas.DataFrame
        Columns ``program``, ``start`` and ``end`` (times of the first and last event of an episode:
        the union of the overlapping windows in which the rule fired) and ``count`` (int64: the
        events in the episode).
    """
    if n < 1:
        raise ValueError(f"n={n}: expected at least 1")
    if events not in ("failures", "restarts"):
        raise ValueError(f"events={events!r}: expected 'failures' or 'restarts'")
    numeric = isinstance(window, int | float)
    width = float(window) if numeric else pd.Timedelta(window).total_seconds()  # type: ignore[arg-type]
    p = prepare(frame)
    mask = p.rows["failure" if events == "failures" else "automatic"]
    picked = p.rows[mask & p.rows["clock"].notna()]
    found: list[tuple[str, Any, Any, int]] = []
    for name, group in picked.groupby("program", sort=True):
        clock, times = group["clock"].to_numpy(), group["time"].array
        begin = np.searchsorted(clock, clock - width, side="right")
        episodes: list[list[int]] = []
        for j in np.flatnonzero(np.arange(len(clock)) - begin + 1 >= n):
            if episodes and begin[j] <= episodes[-1][1]:
                episodes[-1][1] = int(j)
            else:
                episodes.append([int(begin[j]), int(j)])
        found += [(str(name), times[a], times[b], b - a + 1) for a, b in episodes]
    out = pd.DataFrame(found, columns=["program", "start", "end", "count"])
    return out.astype({"program": "string", "start": UTC, "end": UTC, "count": "int64"})


def summary(frame: pd.DataFrame, until: Until = None) -> pd.DataFrame:
    """One row per program.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``program`` with ``group``, ``state`` (the last row's ``to_state``), ``since``
        (its time), ``transitions`` (rows), ``starts``, ``restarts`` (automatic), ``failures``,
        ``fatals``, ``time_to_fatal`` (seconds from the program's first row to its first FATAL; NaN
        if none), ``uptime`` (seconds in RUNNING), ``downtime`` (seconds in any other state since
        the program's first row) and ``mtbf`` (as :func:`mtbf`).
    """
    p = prepare(frame, until)
    rows = p.rows
    last = rows[rows["last"]]  # one per program, in order
    fatal = rows["to_state"].eq("FATAL").to_numpy()
    clock, first_fatal = rows["clock"].to_numpy(), p.first(fatal)
    first = p.first(np.ones(len(rows), dtype=bool))
    time_to_fatal = np.where(first_fatal >= 0, clock[first_fatal] - clock[first], np.nan)
    spent = time_in_state(p)
    out = pd.DataFrame(
        {
            "group": last["group"].array,
            "state": last["to_state"].array,
            "since": last["time"].array,
            "transitions": tally(p, np.ones(len(rows), dtype=bool)),
            "starts": tally(p, rows["starting"]),
            "restarts": tally(p, rows["automatic"]),
            "failures": tally(p, rows["failure"]),
            "fatals": tally(p, fatal),
            "time_to_fatal": seconds(time_to_fatal).array,
            "uptime": spent["RUNNING"].array,
            "downtime": seconds(spent.drop(columns="RUNNING").sum(axis=1).array).array,
            "mtbf": mtbf(p)["mtbf"].array,
        },
        index=program_index(p),
    )
    states: Any = STATE_CATEGORIES
    return out.astype({"group": "string", "state": states, "since": UTC})
