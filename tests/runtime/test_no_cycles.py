"""A restart loop leaves nothing for the garbage collector: ended processes (with their
Popen and pipes) and fired timers are freed by reference counting alone.

Cyclic garbage made every restart promote objects until full collections (250 ms with
200 live cards) stalled the kernel; the collector is off during the run to see it.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import nbsup
from nbsup.runtime.clock import _PreciseTimer
from nbsup.runtime.launcher import LocalProcess

pytestmark = pytest.mark.realprocess


def test_a_restart_loop_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    sup = nbsup.Supervisor(state_dir=str(tmp_path))
    gc.collect()
    gc.disable()
    try:
        program = sup.add_program(
            "flap", command="true", startsecs=0, autorestart=True, restartpause=0.01
        )
        done = []
        program.add_record_listener(lambda record: done.append(record) if len(done) < 90 else None)
        program.wait_for("EXITED", timeout=10)
        while len(done) < 90:
            program.wait_for("STARTING", timeout=10)
            program.wait_for("EXITED", timeout=10)
        # this supervisor's only: other tests' objects may still be around
        pids = {record.pid for record in done}
        loop = sup._runner.thread.loop
        processes = [o for o in gc.get_objects() if isinstance(o, LocalProcess) and o.pid in pids]
        timers = [o for o in gc.get_objects() if isinstance(o, _PreciseTimer) and o.loop is loop]
    finally:
        gc.enable()
        sup.shutdown(timeout=10)
    assert len(done) >= 90  # about 30 restarts
    assert len(processes) <= 2, f"{len(processes)} processes kept (the live one at most)"
    assert len(timers) <= 3, f"{len(timers)} timers kept"
