"""Load: 200 programs in a real kernel for a minute, half of them flapping as fast as their
options allow (``command=true startsecs=0 autorestart=true restartpause=0``).

Throughout: every transition is recorded (the STARTING rows match the spawns, counted by a
wrapper around the launcher), the kernel's memory stops growing after the first 10 s,
cells keep answering quickly, and the widgets stay within their IOPub budget.
"""

from __future__ import annotations

import bisect
import json
import statistics
import threading
import time

import psutil
import pytest
from kernel_support import KernelSession

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

PROGRAMS = 200
LOAD_SECONDS = 60.0
NOT_COUNTED = {"status", "comm_open", "execute_input"}  # what jupyter_server does not count

START = f"""
import collections, itertools
from IPython.display import display
from nbsup.widgets import ProgramCard
_sup = _nbsup.get_supervisor()
_launcher = _sup._runner.driver.launcher
_spawned = collections.Counter()
_real_spawn = _launcher.spawn
def _counting_spawn(options, *args, **kwargs):
    _spawned[options.name] += 1
    return _real_spawn(options, *args, **kwargs)
_launcher.spawn = _counting_spawn
for _i in range({PROGRAMS}):
    if _i % 2:
        _p = _sup.add_program(f"busy{{_i}}", command="true", startsecs=0, autorestart=True,
                              restartpause=0)
    else:
        _p = _sup.add_program(f"calm{{_i}}", command="sleep 1000", startsecs=0.5)
    display(ProgramCard(_p))
_nbsup.dashboard()
"""

STOP = """
_stop_for_good(list(_sup), timeout=30)
_starting = collections.Counter(
    r["program"] for r in map(_json.loads, open(_sup.session_dir / "events.jsonl"))
    if r["to_state"] == "STARTING"
)
_frame = _sup.events
_in_memory = collections.Counter(_frame[_frame.to_state == "STARTING"].program.astype(str))
"""


def test_200_programs_for_a_minute(fresh_kernel: KernelSession) -> None:
    kernel = fresh_kernel
    kernel_process = psutil.Process(kernel.pid)
    setup = kernel.run(START, timeout=120)
    assert setup.error is None, setup.error
    print(f"200 programs and their cards set up in {setup.elapsed:.1f} s")
    started = time.monotonic()
    round_trips: list[float] = []
    counted: list[float] = []
    rss: list[tuple[float, float]] = []
    errors = []

    paced = threading.Event()

    def probe() -> None:
        """Execute a trivial cell every 0.2 s; time each request to its reply."""
        while time.monotonic() - started < LOAD_SECONDS:
            sent = time.monotonic()
            msg_id = kernel.kc.execute("1", silent=True, store_history=False)
            while True:
                reply = kernel.kc.get_shell_msg(timeout=30)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            round_trips.append(time.monotonic() - sent)
            rss.append((sent - started, kernel_process.memory_info().rss / 2**20))
            paced.wait(max(0.0, 0.2 - (time.monotonic() - sent)))  # never set: a pace

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    while time.monotonic() - started < LOAD_SECONDS:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=0.1)
        except Exception:  # queue.Empty
            continue
        if msg["msg_type"] not in NOT_COUNTED:
            counted.append(time.monotonic())
        if msg["msg_type"] == "error":
            errors.append(msg["content"])
    prober.join(timeout=60)
    assert not errors, errors[:3]

    # cells kept answering: p99 of the execute round trip under 50 ms (seen: 20-25 ms; 52-107
    # ms when the views' updates, due together, did not give way to the kernel)
    times = sorted(round_trips)
    p99 = times[int(0.99 * (len(times) - 1))]
    print(
        f"{len(times)} execute round trips: median {statistics.median(times) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
    )
    assert len(times) > LOAD_SECONDS * 2
    assert p99 < 0.05

    # memory: growth after the first 10 s under 50 MB
    after_warmup = [mb for t, mb in rss if t >= 10]
    growth = max(after_warmup) - after_warmup[0]
    print(f"kernel RSS {after_warmup[0]:.0f} MB at 10 s, +{growth:.1f} MB by {LOAD_SECONDS:.0f} s")
    assert growth < 50

    # widgets within their budget (300 msg/s; jupyter_server cuts at 1000/s over 3 s)
    busiest = max(bisect.bisect_left(counted, t + 3.0) - i for i, t in enumerate(counted))
    print(f"busiest 3 s window: {busiest / 3:.0f} IOPub messages/s")
    assert busiest / 3 < 500

    # every spawn has its STARTING row, on disk and in memory
    assert kernel.run(STOP, timeout=300).error is None
    spawned = kernel.value("dict(_spawned)")
    on_disk = kernel.value("dict(_starting)")
    in_memory = kernel.value("dict(_in_memory)")
    total = sum(spawned.values())
    print(f"{total} spawns in all ({total / LOAD_SECONDS:.0f}/s)")
    assert total > PROGRAMS * 10  # they really flapped
    assert spawned == on_disk == in_memory
    assert json.loads(json.dumps(kernel.value("sorted({p.state.value for p in _sup})"))) == [
        "STOPPED"
    ]
