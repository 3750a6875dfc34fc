"""Load: 1,000 real programs started to RUNNING and stopped, with nothing leaked.

All reach RUNNING (``startsecs=1``), all stop, and this process holds the same file
descriptors afterwards as before (pipes, pidfds and log files all closed), and no child
is left.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from process_waits import wait_exited

import nbsup

pytestmark = [pytest.mark.realprocess, pytest.mark.slow]

PROGRAMS = 1000


@pytest.fixture
def descriptors() -> Iterator[None]:
    """Room for ~6 descriptors per program (pipes, pidfd, log files), then back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8 * PROGRAMS + 256
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_fds() -> set[str]:
    return {
        f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}"
        for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")
    }


def test_a_thousand_programs_start_and_stop_leaving_no_descriptor(
    tmp_path: Path, descriptors: None
) -> None:
    before = open_fds()
    sup = nbsup.Supervisor(state_dir=str(tmp_path))
    try:
        for i in range(PROGRAMS):
            sup.add_program(f"p{i:04d}", command="sleep 1000", startsecs=1, autostart=False)
        began = time.monotonic()
        faults = sup.start_all(timeout=120)
        started = time.monotonic() - began
        assert faults == {f"p{i:04d}": None for i in range(PROGRAMS)}
        assert {p.state.value for p in sup.programs} == {"RUNNING"}
        pids = [p.pid for p in sup.programs]
        me = psutil.Process()
        assert {c.pid for c in me.children()} >= set(pids)
        began = time.monotonic()
        faults = sup.stop_all(timeout=120)
        stopped = time.monotonic() - began
        assert set(faults.values()) == {None}
        assert {p.state.value for p in sup.programs} == {"STOPPED"}
        print(f"{PROGRAMS} programs: started in {started:.2f} s, stopped in {stopped:.2f} s")
    finally:
        assert sup.shutdown(timeout=60)
    assert not wait_exited(pids, 5.0), "programs left running"
    leaked = open_fds() - before
    assert not leaked, sorted(leaked)[:10]
    records = sup.events
    assert (records.to_state == "RUNNING").sum() == PROGRAMS
    assert (records.to_state == "STOPPED").sum() == PROGRAMS
