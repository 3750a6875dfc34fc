"""After a crash, the next kernel reads the old kernel's events back with ``nbsup.history()``.

The journal writes each transition before anything else happens (one ``write`` per line on
an ``O_APPEND`` file), so a kernel killed with SIGKILL mid-flap leaves a complete record:
every spawn the test can count (each child appends a line to a file first thing) has its
STARTING row, and the rows chain state to state with no gap.
"""

from __future__ import annotations

import itertools
import os
import signal

import pytest
from kernel_support import KERNEL_PRELUDE, KernelSession
from process_waits import wait_exited

from nbsup.core.states import EDGES, ProcessState

pytestmark = pytest.mark.kernel

FLAP = (
    "%%supervise flap startsecs=0 autorestart=true restartpause=0.02\n"
    "echo spawned >> spawns.txt\n"
    "exit 3\n"
)


def test_history_after_a_sigkilled_kernel_has_every_transition(fresh_kernel: KernelSession):
    kernel = fresh_kernel
    assert kernel.run(FLAP).error is None
    spawns = kernel.cwd / "spawns.txt"
    kernel.ok(  # re-checked at each transition of flap: a spawn's line precedes its exit
        "_until(lambda: _os.path.exists('spawns.txt') and "
        "len(open('spawns.txt').read().splitlines()) >= 30, "
        "_nbsup.get_supervisor()['flap'], 20)"
    )
    session = kernel.value("_nbsup.get_supervisor().session_dir.name")
    old_pid = kernel.pid

    os.kill(old_pid, signal.SIGKILL)
    assert wait_exited([old_pid], 5) == []
    # the dying kernel's last line may be torn: simulate the worst case
    events_file = kernel.cwd / ".nbsup" / session / "events.jsonl"
    with open(events_file, "ab") as file:
        file.write(b'{"time": 1795000000.1, "program": "fl')

    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=60)
    kernel.pid = kernel.kernel_pid()
    kernel.ok(KERNEL_PRELUDE)
    kernel.ok(
        "_h = _nbsup.history()\n"
        "_flap = _h[_h.program == 'flap']\n"
        "_rows = list(zip(_flap.from_state.astype(str), _flap.to_state.astype(str)))\n"
    )
    assert kernel.value("_h.attrs['sessions'][0].split('/')[-2]") == session
    assert kernel.value("int(_h.attrs['skipped_lines'])") == 1
    rows = [tuple(row) for row in kernel.value("_rows")]
    # the test counts spawns after the kernel is dead: the watchdog has stopped the program
    spawned = len(spawns.read_text().splitlines())
    starting = sum(1 for _, to in rows if to == "STARTING")
    print(f"{spawned} spawns counted, {starting} STARTING rows, {len(rows)} rows in all")
    # a child killed before its first line is the only spawn the file may miss; a kernel
    # killed between a spawn and its record (which needs the pid) the only one the rows may
    assert spawned - 1 <= starting <= spawned + 1
    # a chain with no gap, along the machine's edges only
    assert rows[0][0] == "STOPPED"
    for (_, before), (after, to) in itertools.pairwise(rows):
        assert before == after
        assert (ProcessState(after), ProcessState(to)) in EDGES
    # this kernel's own session is not the history
    assert kernel.value("int(_nbsup.sessions().current.sum())") == 0
    kernel.ok("_nbsup.get_supervisor()")
    assert kernel.value("int(_nbsup.sessions().current.sum())") == 1
    assert kernel.value("_nbsup.history().attrs['sessions'][0].split('/')[-2]") == session
