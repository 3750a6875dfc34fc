"""A million-line supervisord.log parses right (its speed is measured by ``make bench``,
benchmarks/analysis.py, never asserted by a timed test).

The log is the committed real one (``notebooks/data/supervisord.log``, loglevel=debug,
a few programs: crash loop, spawn errors, flapping, stops), repeated with shifted times
until it has a million lines, as if the daemon had been restarted thousands of times.
Every repetition must give the same transitions as the original.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import numpy as np

from nbsup.analysis import read_supervisord_log

REAL_LOG = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "supervisord.log"
PREFIX = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
MILLION = 1_000_000


def repeat_log(template: bytes, min_lines: int) -> tuple[bytes, int]:
    """``template`` repeated (whole copies, each shifted by the template's span plus 10 s)
    until it has at least ``min_lines`` lines; also returns the number of copies."""
    lines = template.rstrip(b"\n").split(b"\n")
    stamped = [i for i, line in enumerate(lines) if PREFIX.match(line)]
    stamps = np.array(
        [
            lines[i][:19].decode().replace(" ", "T") + "." + lines[i][20:23].decode()
            for i in stamped
        ],
        dtype="datetime64[ms]",
    )
    span = stamps.max() - stamps.min() + np.timedelta64(10, "s")
    copies = -(-min_lines // len(lines))
    shifted = (stamps[None, :] + span * np.arange(copies)[:, None]).ravel()
    text = np.datetime_as_string(shifted, unit="ms").astype("S23")
    chars = text.view(np.uint8).reshape(-1, 23)
    chars[:, 10], chars[:, 19] = ord(" "), ord(",")
    # one copy is a template with a %s per timestamp: fill it in copy after copy
    pattern = b"\n".join(b"%s" + line[23:] if PREFIX.match(line) else line.replace(b"%", b"%%")
                          for line in lines)  # fmt: skip
    new = text.tolist()
    per_copy = len(stamped)
    out = [pattern % tuple(new[k * per_copy : (k + 1) * per_copy]) for k in range(copies)]
    return b"\n".join(out) + b"\n", copies


def test_a_million_lines_give_every_copys_transitions() -> None:
    template = REAL_LOG.read_bytes()
    data, copies = repeat_log(template, MILLION)
    once = read_supervisord_log(io.BytesIO(template), tz="UTC")

    start, cpu = time.perf_counter(), time.process_time()
    frame = read_supervisord_log(io.BytesIO(data), tz="UTC")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu

    lines = frame.attrs["lines"]
    print(
        f"\n{lines} lines ({len(data) / 1e6:.0f} MB), {len(frame)} transitions: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, {lines / wall:,.0f} lines/s"
    )
    assert lines >= MILLION
    assert len(frame) == copies * len(once)
    columns = ["program", "from_state", "to_state", "tries", "pid", "exitstatus", "expected"]
    repeated = once.iloc[np.tile(np.arange(len(once)), copies)].reset_index(drop=True)
    for column in columns:  # Series.equals: NA-aware and fast (assert_frame_equal is slow)
        assert frame[column].equals(repeated[column]), column
    assert frame.attrs["skipped_lines"] == copies * once.attrs["skipped_lines"]
    assert frame["time"].is_monotonic_increasing
