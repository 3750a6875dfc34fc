"""A cell that holds the kernel for a minute stalls nothing.

One cell computes in pure Python for 30 s, then sleeps 30 s. Meanwhile, on the
supervisor's own thread: a failing program keeps its backoff schedule (1 s, 2 s, 3 s…),
a program writing 10 MB/s is never blocked on a full pipe, and the live cards keep
sending their updates to the front end.
"""

from __future__ import annotations

import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kernel_support import KernelSession

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

BUSY_SECONDS = 30.0
SLEEP_SECONDS = 30.0

FLAP = "%%supervise flap60 startsecs=1 startretries=30\nexit 1\n"

#: 100 KB every 10 ms, each write timed (tests/helpers/paced_writer.py): a full pipe would
#: block it for as long as the supervisor does not read.
WRITER = (
    "%%supervise writer10 startsecs=1 stdout_logfile_maxbytes=0\n"
    f"exec {shlex.quote(sys.executable)} "
    f"{shlex.quote(str(Path(__file__).resolve().parents[1] / 'helpers' / 'paced_writer.py'))}\n"
)

BUSY_CELL = f"""
_t = _time.perf_counter()
while _time.perf_counter() - _t < {BUSY_SECONDS}:
    pass
_time.sleep({SLEEP_SECONDS})
"""


def run_collecting_widget_updates(
    kernel: KernelSession, code: str, timeout: float
) -> tuple[dict[str, Any], list[float]]:
    """Run ``code``; return its reply and the arrival times of every widget update
    (``comm_msg``) seen on IOPub while it ran, whichever cell they belong to."""
    msg_id = kernel.submit(code)
    updates: list[float] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kernel.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "comm_msg":
            updates.append(time.monotonic())
        if (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
            and msg["parent_header"].get("msg_id") == msg_id
        ):
            break
    while True:
        reply = kernel.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply, updates


def test_a_busy_minute_stalls_nothing(fresh_kernel: KernelSession) -> None:
    kernel = fresh_kernel
    assert kernel.run(WRITER).error is None
    assert kernel.value("_nbsup.get_supervisor()['writer10'].wait_for('RUNNING', timeout=10).value")
    kernel.track_tree(kernel.value("_nbsup.get_supervisor()['writer10'].pid"))
    assert kernel.run(FLAP).error is None

    started = time.monotonic()
    reply, updates = run_collecting_widget_updates(kernel, BUSY_CELL, timeout=180)
    finished = time.monotonic()
    assert reply["content"]["status"] == "ok"

    # 1. the backoff schedule: each BACKOFF -> STARTING delay against its nominal 1, 2, 3… s
    events = kernel.value("_events('flap60')")
    entered, errors = None, []
    for event in events:
        if event["from"] == "BACKOFF" and event["to"] == "STARTING":
            assert entered is not None
            errors.append((event["elapsed"] - entered[0]) - entered[1])
        if event["to"] == "BACKOFF":
            entered = (event["elapsed"], len(errors) + 1)
    errors_ms = [round(error * 1000, 1) for error in errors]
    print(
        f"{len(errors)} backoff retries during the busy minute; lateness (ms): {errors_ms}; "
        f"median {statistics.median(errors_ms):.1f} ms"
    )
    assert len(errors) >= 9  # 1 + 2 + … + 9 = 45 s of the 60
    assert min(errors_ms) >= -1
    # the schedule-precision target (p99 <= 10 ms) for the typical retry, and twice it at
    # worst: once the loop has waited for the busy thread's GIL, that thread lets it go every
    # 0.1 ms, not every 5 ms (runtime/gil.py); before that, the writer's output kept the
    # loop behind and retries came 15-40 ms late (seen: 0.5-1.3 ms since)
    assert statistics.median(errors_ms) <= 10, errors_ms
    assert max(errors_ms) <= 20, errors_ms

    # 2. the 10 MB/s writer was never blocked, and everything it wrote is in its log
    report = json.loads((kernel.cwd / "writer10.json").read_text())
    kernel.ok("_sup = _nbsup.get_supervisor(); _sup['writer10'].stop()")
    log_size = kernel.value("_sup['writer10'].output_channel('stdout').path.stat().st_size")
    print(
        f"writer: {report['written'] / 1e6:.0f} MB written, worst write "
        f"{report['worst'] * 1000:.1f} ms, log {log_size / 1e6:.0f} MB"
    )
    assert report["written"] >= 0.8 * 10e6 * (BUSY_SECONDS + SLEEP_SECONDS)
    assert report["worst"] < 0.2  # a 64 KiB pipe left unread blocks the writer at once
    assert log_size >= report["written"]

    # 3. the cards kept updating all along: some update in every 10 s of the minute
    assert updates, "no widget update during the busy cell"
    windows = {int((t - started) // 10) for t in updates if t <= finished}
    expected = set(range(int((finished - started) // 10)))
    print(f"{len(updates)} widget updates in {finished - started:.0f} s")
    assert expected <= windows, sorted(expected - windows)
