"""The end of a kernel: %unload_ext, SIGKILL, restart. Each test has a kernel of its own.

"Gone" means ended: a zombie whose parent is not the kernel counts as gone (this
machine's PID 1 does not reap orphans), but nothing, zombie or not, may stay below
the kernel.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from kernel_support import KERNEL_PRELUDE, KernelSession, is_alive, wait_gone
from process_waits import until_written

pytestmark = pytest.mark.kernel

PROGRAMS = {
    # a plain program: bash and its foreground sleep
    # each program touches <name>.ready (in the kernel's folder) once its children exist
    "plain": "%%supervise plain startsecs=0.2\nsleep 1000 &\ntouch plain.ready\nwait\n",
    # grandchildren: two background sleeps
    "kids": (
        "%%supervise kids startsecs=0.2\nsleep 1000 &\nsleep 1000 &\ntouch kids.ready\nwait\n"
    ),
    # ignores SIGTERM (and so do its children): only SIGKILL, after stopwaitsecs, ends it
    "stubborn": (
        "%%supervise stubborn startsecs=0.2 stopwaitsecs=1\n"
        "trap '' TERM\nsleep 1000 &\nsleep 1000 &\ntouch stubborn.ready\nwait\n"
    ),
}


def start_programs(kernel: KernelSession, names: list[str]) -> dict[str, list[psutil.Process]]:
    """Start the programs, wait until RUNNING; return each one's process tree (program first)."""
    for name in names:
        (kernel.cwd / f"{name}.ready").unlink(missing_ok=True)
        result = kernel.run(PROGRAMS[name])
        assert result.error is None, result.error
    kernel.ok(
        "_sup = _nbsup.get_supervisor()\n"
        f"for _name in {names!r}:\n"
        "    _sup[_name].wait_for('RUNNING', timeout=5)\n"
    )
    trees = {}
    for name in names:
        pid = kernel.value(f"_sup[{name!r}].pid")
        # wait until the background children exist too (the program says so in a file)
        wanted = {"plain": 1, "kids": 2, "stubborn": 2}[name]
        ready = kernel.cwd / f"{name}.ready"
        until_written(kernel.cwd, ready.exists, 5, what=f"{name}'s children")
        trees[name] = kernel.track_tree(pid)
        assert len(trees[name]) == 1 + wanted
    return trees


def watchdog_of(kernel: KernelSession) -> psutil.Process:
    pid = kernel.value("_sup._runner.driver.launcher.watchdog.pid")
    return kernel.track([pid])[0]


# ---------------------------------------------------------------------- 7


def test_unload_ext_stops_every_program_by_its_stop_rules(fresh_kernel):
    kernel = fresh_kernel
    trees = start_programs(kernel, ["plain", "kids", "stubborn"])
    watchdog = watchdog_of(kernel)
    everything = [*kernel.descendants()]
    assert {p.pid for tree in trees.values() for p in tree} <= {p.pid for p in everything}
    assert watchdog.pid in {p.pid for p in everything}

    result = kernel.run("%unload_ext nbsup")
    assert result.error is None, result.error
    print(f"%unload_ext took {result.elapsed:.3f} s (stubborn needs SIGKILL after 1 s)")
    # it waited for the stop rules: SIGTERM, then SIGKILL 1 s later for stubborn (and no
    # longer: closing the watchdog must not wait for orphaned zombies to be reaped)
    assert 0.95 <= result.elapsed < 2.0
    started = time.monotonic()
    alive = wait_gone(everything, timeout=0.5)
    assert not alive, f"left after %unload_ext: {alive}"
    print(f"all {len(everything)} processes gone {time.monotonic() - started:.3f} s after it")
    assert kernel.descendants() == [], "something (maybe a zombie) is left below the kernel"

    for name in ("plain", "kids"):
        events = kernel.value(f"_events({name!r}, _sup)")
        assert [e["to"] for e in events[-2:]] == ["STOPPING", "STOPPED"]
        assert events[-1]["signal"] == "SIGTERM"
        assert events[-1]["elapsed"] - events[-2]["elapsed"] < 0.2
    events = kernel.value("_events('stubborn', _sup)")
    assert [e["to"] for e in events[-2:]] == ["STOPPING", "STOPPED"]
    assert events[-2]["signal"] == "SIGTERM" and events[-1]["signal"] == "SIGKILL"
    assert events[-1]["elapsed"] - events[-2]["elapsed"] == pytest.approx(1.0, abs=0.1)
    assert kernel.value("_sup.closed") is True

    # the magics are gone...
    for line in ("%supervisorctl status", "%%supervise y\nsleep 1\n"):
        result = kernel.run(line)
        assert result.error and result.error["ename"] == "UsageError", line
        assert "not found" in result.error["evalue"]
    # ...and come back with a new supervisor
    assert kernel.run("%load_ext nbsup").error is None
    assert kernel.run("%%supervise again startsecs=0.2\nsleep 1000\n").error is None
    assert kernel.value("_nbsup.get_supervisor() is not _sup") is True
    assert kernel.value(
        "_nbsup.get_supervisor()['again'].wait_for('RUNNING', timeout=5).value"
    ) == ("RUNNING")
    kernel.track_tree(kernel.value("_nbsup.get_supervisor()['again'].pid"))


# ---------------------------------------------------------------------- 8


def test_sigkilled_kernel_leaves_no_program_behind(fresh_kernel):
    kernel = fresh_kernel
    trees = start_programs(kernel, ["kids", "stubborn"])
    watchdog = watchdog_of(kernel)

    os.kill(kernel.pid, signal.SIGKILL)
    killed = time.monotonic()
    alive = wait_gone(trees["kids"], timeout=2.0)
    kids_gone = time.monotonic() - killed
    assert not alive, f"still alive 2 s after the kernel was killed: {alive}"
    alive = wait_gone(trees["stubborn"], timeout=max(0.0, 2.0 - kids_gone))
    stubborn_gone = time.monotonic() - killed
    assert not alive, f"still alive 2 s after the kernel was killed: {alive}"
    print(
        f"after SIGKILL of the kernel: kids gone in {kids_gone:.3f} s, "
        f"SIGTERM-ignoring stubborn in {stubborn_gone:.3f} s"
    )
    assert kids_gone < 0.5  # SIGTERM at once
    assert stubborn_gone >= 0.9  # SIGKILL only after the watchdog's grace second
    assert not wait_gone([watchdog], timeout=1.0)


# ---------------------------------------------------------------------- 9


def test_restarted_kernel_stops_its_programs(fresh_kernel):
    kernel = fresh_kernel
    trees = start_programs(kernel, ["plain", "kids"])
    watchdog = watchdog_of(kernel)
    session = Path(kernel.value("str(_sup.session_dir)"))
    old_pid = kernel.pid
    everything = [watchdog, *(p for tree in trees.values() for p in tree)]

    started = time.monotonic()
    kernel.km.restart_kernel(now=False)
    restart = time.monotonic() - started
    alive = wait_gone(everything, timeout=2.0)
    print(
        f"restart_kernel took {restart:.3f} s; programs gone "
        f"{time.monotonic() - started:.3f} s after it began"
    )
    assert not alive, f"left after the restart: {alive}"
    assert not is_alive(old_pid)

    # stopped by the old kernel itself, by the stop rules (not by the watchdog)
    records = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    for name in ("plain", "kids"):
        mine = [r for r in records if r["program"] == name]
        assert [r["to_state"] for r in mine[-2:]] == ["STOPPING", "STOPPED"], mine
        assert mine[-1]["signal"] == "SIGTERM"

    # the new kernel starts clean
    kernel.kc.wait_for_ready(timeout=60)
    kernel.pid = kernel.kernel_pid()
    assert kernel.pid != old_pid
    kernel.ok(KERNEL_PRELUDE)
    assert kernel.run("%load_ext nbsup").error is None
    assert kernel.value("len(_nbsup.get_supervisor())") == 0


# ---------------------------------------------------------------------- 10


def test_kernel_shutdown_stops_programs_by_their_stop_rules(fresh_kernel):
    """A front end's "Shut down kernel": SIGTERM to each program (SIGKILL after
    stopwaitsecs=1 for the one ignoring it), recorded in the session's files, within
    stopwaitsecs plus a margin, and nothing left."""
    kernel = fresh_kernel
    trees = start_programs(kernel, ["plain", "kids", "stubborn"])
    watchdog = watchdog_of(kernel)
    session = Path(kernel.value("str(_sup.session_dir)"))
    everything = [watchdog, *(p for tree in trees.values() for p in tree)]

    started = time.monotonic()
    kernel.kc.stop_channels()
    kernel.km.shutdown_kernel(now=False)
    took = time.monotonic() - started
    alive = wait_gone(everything, timeout=2.0)
    print(f"shutdown_kernel took {took:.3f} s")
    assert not alive, f"left after the shutdown: {alive}"
    assert took < 1.0 + 3.0  # stubborn's stopwaitsecs, plus the kernel's own shutdown

    records = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    for name, signal_name in (("plain", "SIGTERM"), ("kids", "SIGTERM"), ("stubborn", "SIGKILL")):
        mine = [r for r in records if r["program"] == name]
        assert [r["to_state"] for r in mine[-2:]] == ["STOPPING", "STOPPED"], mine
        assert mine[-1]["signal"] == signal_name
    kernel.closed = True  # already shut down: nothing for the fixture to do
    kernel._log.close()
