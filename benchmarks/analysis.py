"""Analysis throughput: 1 M events to a DataFrame, and a 1 M-line supervisord.log parsed.

supervisord has no equivalent (its log is text only), so the ratio column is "n/a".
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nbsup import read_supervisord_log
from nbsup.eventlog import frame_from_columns

from .harness import ROOT, median, row, workdir

NAME = "analysis"
ROWS = 1_000_000
LOG_LINES = 1_000_000
SAMPLE_LOG = ROOT / "notebooks" / "data" / "supervisord.log"
REPEATS = 3


def event_columns(n: int = ROWS) -> dict[str, list]:
    """``n`` plausible event rows, one Python list per column."""
    rng = np.random.default_rng(0)
    states = ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL"]
    idx = rng.integers(0, len(states), size=(2, n))
    elapsed = np.cumsum(rng.random(n) * 0.01)
    return {
        "time": (1.7e9 + elapsed).tolist(),
        "elapsed": elapsed.tolist(),
        "program": [f"prog{i % 50}" for i in range(n)],
        "group": [f"prog{i % 50}" for i in range(n)],
        "from_state": [states[i] for i in idx[0]],
        "to_state": [states[i] for i in idx[1]],
        "pid": rng.integers(100, 4_000_000, size=n).tolist(),
        "tries": (rng.integers(0, 4, size=n)).tolist(),
        "exitstatus": [None if i % 3 else 0 for i in range(n)],
        "signal": [None if i % 5 else "SIGTERM" for i in range(n)],
        "expected": [None if i % 3 else True for i in range(n)],
        "message": [None if i % 2 else "exited: prog (exit status 0; expected)" for i in range(n)],
    }


def build_log(path: Path, lines: int = LOG_LINES) -> int:
    """Write a ``lines``-line supervisord.log by repeating the sample log; returns lines."""
    sample = SAMPLE_LOG.read_text().splitlines(keepends=True)
    reps, rest = divmod(lines, len(sample))
    with open(path, "w") as fh:
        block = "".join(sample)
        for _ in range(reps):
            fh.write(block)
        fh.writelines(sample[:rest])
    return lines


def _timed(fn: object, *args: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)  # type: ignore[operator]
    return time.perf_counter() - t0, out


def run() -> list[dict]:
    cols = event_columns()
    frame_times = []
    frame_rows = 0
    for _ in range(REPEATS):
        dt, df = _timed(frame_from_columns, cols)
        frame_times.append(dt)
        frame_rows = len(df)  # type: ignore[arg-type]
    del cols
    log_times = []
    log_rows = 0
    with workdir("analysis") as tmp:
        log = tmp / "supervisord.log"
        build_log(log)
        for _ in range(REPEATS):
            dt, df = _timed(read_supervisord_log, log)
            log_times.append(dt)
            log_rows = len(df)  # type: ignore[arg-type]
    return [
        row(
            NAME,
            f"frame_from_columns, {frame_rows:,} rows",
            median(frame_times),
            None,
            unit="s",
            target="< 2 s",
            ratio="n/a",
        ),
        row(
            NAME,
            f"read_supervisord_log, {LOG_LINES:,} lines",
            median(log_times),
            None,
            unit="s",
            target="< 2 s",
            ratio="n/a",
            note=f"{log_rows:,} transitions",
        ),
    ]
