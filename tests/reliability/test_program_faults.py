"""Programs that misbehave: each case runs for real under a private supervisor.

Every test checks the state sequence, the event log or supervisord.log, the output files
where output matters, this process's memory or CPU where they could grow, and (through the
``faults`` fixture) that no process the test could see is left once the supervisor has shut
down. Waits block on transitions, output and pidfds; the only timed windows are the ones
being measured. Measured numbers are printed with a ``[measure]`` prefix (``pytest -s``).
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import logging
import os
import resource
import select
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from fault_support import (
    FaultRun,
    faulty,
    measure,
    members,
    peak_rss_mib,
    proc_stat,
    reset_peak_rss,
    rss_mib,
)
from faulty_program import flood_block, long_line_block
from process_waits import wait_exited

from nbsup import Fault, FaultCode, ProcessState
from nbsup.ctl import Supervisorctl
from nbsup.runtime import launcher as launcher_module
from nbsup.runtime.launcher import READ_SIZE
from nbsup.widgets.ansi import to_html

pytestmark = pytest.mark.realprocess

STARTED_RUNNING_EXITED = [("STOPPED", "STARTING"), ("STARTING", "RUNNING"), ("RUNNING", "EXITED")]
RUNNING_THEN_STOPPED = [
    ("STOPPED", "STARTING"),
    ("STARTING", "RUNNING"),
    ("RUNNING", "STOPPING"),
    ("STOPPING", "STOPPED"),
]


def sha1_of_files(paths: list[Path]) -> str:
    """The digest of these files' contents, one after the other."""
    digest = hashlib.sha1()
    for path in paths:
        with open(path, "rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def sha1_of_blocks(block: Callable[[int], bytes], size: int) -> tuple[str, bytes]:
    """The digest of ``size`` bytes of generated output, and its last 64 KiB."""
    digest = hashlib.sha1()
    last = b""
    k = 0
    while size > 0:
        data = block(k)[:size]
        digest.update(data)
        last = (last + data)[-(64 * 1024) :]
        size -= len(data)
        k += 1
    return digest.hexdigest(), last


# --------------------------------------------------------------------------- 1. SIGKILL


def test_killed_by_sigkill_from_outside(faults: FaultRun) -> None:
    """A SIGKILL from outside is an exit like any other (semantics §5 T7/T9, §9): from
    RUNNING it is EXITED, ``terminated by SIGKILL; not expected``, and autorestart=unexpected
    restarts it; with autorestart=false it stays EXITED with nothing scheduled; during
    STARTING it is a failed start (BACKOFF, then a retry after 1 s)."""
    restarts = faults.add("restarts", "--report", "--run", "inf", startsecs=0.2, restartpause=0.2)
    stays = faults.add("stays", "--report", "--run", "inf", startsecs=0.2, autorestart=False)
    early = faults.add("early", "--report", "--run", "inf", startsecs=60, startretries=1)
    first = {p.name: faults.report(p)["pid"] for p in (restarts, stays, early)}
    restarts.wait_for("RUNNING", timeout=10)
    stays.wait_for("RUNNING", timeout=10)
    assert early.state is ProcessState.STARTING
    for pid in first.values():
        os.kill(pid, signal.SIGKILL)

    faults.wait_entered(restarts, "RUNNING", count=2)
    stays.wait_for("EXITED", timeout=10)
    faults.wait_entered(early, "STARTING", count=2)
    assert not faults.wait_gone(first.values(), 5.0)

    assert faults.transitions("restarts") == STARTED_RUNNING_EXITED + [
        ("EXITED", "STARTING"),
        ("STARTING", "RUNNING"),
    ]
    exited = faults.records("restarts")[2]
    assert exited["pid"] == first["restarts"]
    assert (exited["signal"], exited["exitstatus"], exited["expected"]) == ("SIGKILL", -1, False)
    assert exited["message"] == "exited: restarts (terminated by SIGKILL; not expected)"
    again = faults.records("restarts")[3]
    assert again["tries"] == 0 and again["elapsed"] - exited["elapsed"] >= 0.2 - 0.005
    assert restarts.pid not in (0, first["restarts"])
    faults.track_tree(restarts.pid)

    assert faults.transitions("stays") == STARTED_RUNNING_EXITED
    assert faults.records("stays")[2]["message"] == (
        "exited: stays (terminated by SIGKILL; not expected)"
    )
    assert stays.state is ProcessState.EXITED and stays.deadline_in() is None

    assert faults.transitions("early") == [
        ("STOPPED", "STARTING"),
        ("STARTING", "BACKOFF"),
        ("BACKOFF", "STARTING"),
    ]
    backoff, retry = faults.records("early")[1:]
    assert backoff["tries"] == 1 and backoff["expected"] is False
    assert backoff["message"] == "exited: early (terminated by SIGKILL; not expected)"
    assert retry["tries"] == 1 and retry["elapsed"] - backoff["elapsed"] >= 1 - 0.005

    log = faults.log_lines()
    assert "WARN exited: restarts (terminated by SIGKILL; not expected)" in log
    assert "WARN exited: early (terminated by SIGKILL; not expected)" in log


# --------------------------------------------------------------------------- 2. SIGSEGV


def test_sigsegv_is_described_like_supervisord_and_restarted(
    faults: FaultRun, tmp_path: Path
) -> None:
    """A segfault is a signal death, never expected: supervisord's wording is ``terminated
    by SIGSEGV`` with `` (core dumped)`` exactly when the wait status says a core was
    written (calibrated here by running the same command outside nbsup). From RUNNING it is
    restarted (autorestart=unexpected); before startsecs it is a failed start, then FATAL."""
    cores = tmp_path / "cores"
    cores.mkdir()
    crash = "ulimit -c unlimited 2>/dev/null; kill -SEGV $$"
    calibration = subprocess.Popen(["sh", "-c", crash], cwd=cores)
    _, status = os.waitpid(calibration.pid, 0)
    calibration.returncode = 0  # reaped here
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSEGV
    suffix = " (core dumped)" if os.WCOREDUMP(status) else ""
    measure("kill -SEGV with ulimit -c unlimited", f"core dumped: {bool(suffix)}")

    segv = faults.add(
        "segv",
        *("--core", "off", "--segv-on-usr1", "--report", "--run", "inf"),
        startsecs=0.2,
        restartpause=0.2,
    )
    core = faults.sup.add_program(
        "core",
        command=f"sh -c {shlex.quote(crash)}",
        directory=str(cores),
        startsecs=5,
        startretries=1,
    )
    first = faults.report(segv)["pid"]
    segv.wait_for("RUNNING", timeout=10)
    segv.signal("USR1")
    faults.wait_entered(segv, "RUNNING", count=2)
    core.wait_for("FATAL", timeout=15)

    assert faults.transitions("segv") == STARTED_RUNNING_EXITED + [
        ("EXITED", "STARTING"),
        ("STARTING", "RUNNING"),
    ]
    exited = faults.records("segv")[2]
    assert exited["pid"] == first
    assert (exited["signal"], exited["exitstatus"], exited["expected"]) == ("SIGSEGV", -1, False)
    assert exited["message"] == "exited: segv (terminated by SIGSEGV; not expected)"
    assert faults.records("segv")[3]["tries"] == 0
    faults.track_tree(segv.pid)

    assert faults.transitions("core") == [
        ("STOPPED", "STARTING"),
        ("STARTING", "BACKOFF"),
        ("BACKOFF", "STARTING"),
        ("STARTING", "BACKOFF"),
        ("BACKOFF", "FATAL"),
    ]
    for row in faults.entered("core", "BACKOFF"):
        assert row["signal"] == "SIGSEGV" and row["exitstatus"] == -1
        assert row["message"] == f"exited: core (terminated by SIGSEGV{suffix}; not expected)"
    assert core.spawnerr == "Exited too quickly (process log may have details)"
    log = faults.log_lines()
    assert "WARN exited: segv (terminated by SIGSEGV; not expected)" in log
    assert f"WARN exited: core (terminated by SIGSEGV{suffix}; not expected)" in log
    assert "INFO gave up: core entered FATAL state, too many start retries too quickly" in log


# --------------------------------------------------------------------------- 3. SIGTERM ignored
# (a SIGKILL that must be repeated: test_program_faults_simulated.py)


def test_sigterm_ignored_escalates_to_one_sigkill(faults: FaultRun) -> None:
    """A program that ignores SIGTERM gets SIGKILL ``stopwaitsecs`` after it, and one is
    enough, even for a process asleep in the kernel in state D (a vfork parent waiting for
    a child that never execs: a *killable* uninterruptible sleep, like most D states on
    Linux today), and for one frozen by SIGSTOP from outside (its SIGTERM stays pending).
    The whole group dies with it (the vfork child too)."""
    stubborn = faults.add(
        "stubborn", "--ignore-term", "--report", "--run", "inf", startsecs=0.2, stopwaitsecs=0.5
    )
    hung = faults.add(
        "hung", "--ignore-term", "--report", "--vfork-hang", startsecs=0.2, stopwaitsecs=0.6
    )
    frozen = faults.add("frozen", "--report", "--run", "inf", startsecs=0.2, stopwaitsecs=0.7)
    programs = (stubborn, hung, frozen)
    pids = {p.name: faults.report(p)["pid"] for p in programs}
    for p in programs:
        p.wait_for("RUNNING", timeout=10)
    os.kill(pids["frozen"], signal.SIGSTOP)
    os.waitid(os.P_PID, pids["frozen"], os.WSTOPPED | os.WNOWAIT)  # blocks until stopped
    assert proc_stat(pids["frozen"])[0] == "T"  # type: ignore[index]
    faults.wait_output(hung, "VFORKED")
    vforked = faults.track_tree(pids["hung"])
    assert len(vforked) == 2, vforked  # the hung parent and its vfork child
    stat = proc_stat(pids["hung"])
    assert stat is not None and stat[0] == "D", stat  # uninterruptible sleep

    for p in programs:
        p.stop(wait=False)
    for p in programs:
        p.wait_for("STOPPED", timeout=10)
    assert not faults.wait_gone(vforked + [pids["stubborn"], pids["frozen"]], 5.0)

    log = faults.log_lines()
    for p in programs:
        assert faults.transitions(p.name) == RUNNING_THEN_STOPPED
        stopping, stopped = faults.records(p.name)[2:]
        assert stopping["signal"] == "SIGTERM"
        assert stopped["signal"] == "SIGKILL" and stopped["exitstatus"] == -1
        assert stopped["message"] == f"stopped: {p.name} (terminated by SIGKILL)"
        took = stopped["elapsed"] - stopping["elapsed"]
        measure(
            f"{p.name}: SIGTERM -> STOPPED", f"{took:.3f} s (stopwaitsecs {p.options.stopwaitsecs})"
        )
        assert took >= p.options.stopwaitsecs - 0.005
        pid = pids[p.name]
        assert log.count(f"WARN killing '{p.name}' ({pid}) with SIGKILL") == 1
        assert f"DEBG killing {p.name} (pid {pid}) process group with signal SIGKILL" in log
        assert f"WARN stopped: {p.name} (terminated by SIGKILL)" in log


def stubborn_shutdown(faults: FaultRun) -> list[int]:
    """Run a TERM-ignoring program with a grandchild (stopwaitsecs=60), shut the supervisor
    down with a 0.5 s timeout (it must give up), and return the processes' pids."""
    p = faults.add(
        "stubborn",
        *("--ignore-term", "--grandchildren", 1, "--report", "--run", "inf"),
        startsecs=0.1,
        stopwaitsecs=60,
    )
    info = faults.report(p)
    p.wait_for("RUNNING", timeout=10)
    assert faults.sup.shutdown(0.5) is False
    return [info["pid"], *info["grandchildren"]]


def test_shutdown_that_times_out_still_leaves_nothing(faults: FaultRun) -> None:
    """A shutdown that stops waiting (its timeout is shorter than stopwaitsecs) returns
    False, yet leaves no process: the watchdog, told to exit, sends the group its stop
    signal, waits a second and SIGKILLs it, grandchild included."""
    began = time.monotonic()
    pids = stubborn_shutdown(faults)
    assert not faults.wait_gone(pids, 10.0)
    measure("shutdown(0.5) to the stubborn group's end", f"{time.monotonic() - began:.3f} s")


def test_shutdown_that_times_out_records_how_it_ended(faults: FaultRun) -> None:
    """The session's files should say how a timed-out shutdown ended the program (STOPPED,
    terminated by SIGKILL), as the in-memory record does when the exit is seen in time."""
    pids = stubborn_shutdown(faults)
    assert not faults.wait_gone(pids, 10.0)
    assert faults.sup.session_dir is not None
    lines = (faults.sup.session_dir / "events.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert (last["from_state"], last["to_state"]) == ("STOPPING", "STOPPED")


# --------------------------------------------------------------------------- 4. grandchildren


def test_grandchildren_do_not_outlive_their_program(faults: FaultRun) -> None:
    """With killasgroup (nbsup's default), members of a program's process group that are
    left when its process ends (grandchildren ignoring SIGTERM) get the stop signal and
    SIGKILL stopwaitsecs after it: after an exit, and after a stop whose leader handled
    SIGTERM and exited while its grandchildren ignored it. A program that keeps its
    grandchildren is stopped as a group. With killasgroup=false (supervisord's default)
    they are left running, as supervisord leaves them, until the supervisor shuts down; so
    are leftovers whose SIGKILL is not due yet (the watchdog kills them as it exits)."""
    exits = faults.add(
        "exits",
        *("--ignore-term", "--grandchildren", 2, "--report", "--run", 0.4),
        startsecs=0.1,
        autorestart=False,
        stopwaitsecs=0.5,
    )
    handles = faults.add(
        "handles",
        *("--ignore-term", "--grandchildren", 2, "--term-exit", 0, "--report", "--run", "inf"),
        startsecs=0.1,
        stopwaitsecs=0.5,
    )
    keeps = faults.add(
        "keeps", "--grandchildren", 2, "--report", "--run", "inf", startsecs=0.1, stopwaitsecs=5
    )
    legacy = faults.add(
        "legacy",
        *("--ignore-term", "--grandchildren", 1, "--report", "--run", 0.4),
        startsecs=0.1,
        autorestart=False,
        stopwaitsecs=0.2,
        stopasgroup=False,
        killasgroup=False,
    )
    patient = faults.add(
        "patient",
        *("--ignore-term", "--grandchildren", 1, "--report", "--run", 0.4),
        startsecs=0.1,
        autorestart=False,
        stopwaitsecs=60,
    )
    programs = (exits, handles, keeps, legacy, patient)
    assert exits.options.stopasgroup and exits.options.killasgroup  # nbsup's defaults
    grandchildren = {p.name: faults.report(p)["grandchildren"] for p in programs}
    for p in programs:
        p.wait_for("RUNNING", "EXITED", timeout=10)
    handles.stop(wait=False)
    keeps.stop(wait=False)
    for p in (exits, legacy, patient):
        p.wait_for("EXITED", timeout=10)
    for p in (handles, keeps):
        p.wait_for("STOPPED", timeout=10)
    ended = time.monotonic()

    # the leftovers ignore SIGTERM: they die at the SIGKILL, stopwaitsecs later
    assert not faults.wait_gone(grandchildren["exits"] + grandchildren["handles"], 10.0)
    took = time.monotonic() - ended
    measure("leftover grandchildren gone after their program ended", f"{took:.3f} s")
    # a group stop: the grandchildren die with their parent, by SIGTERM, at once
    assert not faults.wait_gone(grandchildren["keeps"], 1.0)
    # killasgroup=false: nothing kills the leftovers (checked past its stopwaitsecs)
    assert faults.wait_gone(grandchildren["legacy"], 1.0) == grandchildren["legacy"]

    assert faults.transitions("exits") == STARTED_RUNNING_EXITED
    assert faults.records("exits")[2]["message"] == "exited: exits (exit status 0; expected)"
    for p in (handles, keeps):
        assert faults.transitions(p.name) == RUNNING_THEN_STOPPED
    assert faults.records("handles")[3]["message"] == "stopped: handles (exit status 0)"
    assert faults.records("keeps")[3]["message"] == "stopped: keeps (terminated by SIGTERM)"
    assert faults.records("keeps")[3]["elapsed"] - faults.records("keeps")[2]["elapsed"] < 2.5

    # at the shutdown, the watchdog kills the groups it knows: the legacy leftover, and the
    # patient one whose SIGKILL was due a minute later (stop signal, 1 s grace, SIGKILL)
    assert faults.running(grandchildren["patient"]) == grandchildren["patient"]
    assert faults.sup.shutdown(30)
    assert not faults.wait_gone(grandchildren["legacy"] + grandchildren["patient"], 5.0)


@pytest.mark.slow
def test_restart_loop_leaving_grandchildren_stays_bounded(faults: FaultRun) -> None:
    """A program that forks a grandchild (ignoring SIGTERM) and exits, restarted at once, 80
    times: every leftover is SIGKILLed stopwaitsecs after its program ended, so they do not
    pile up; the watchdog's memory of swept groups stays bounded (gone ones are pruned);
    and after the shutdown none of the 80 grandchildren is left."""
    restarts = 80
    p = faults.add(
        "litter",
        *("--ignore-term", "--grandchildren", 1, "--report"),
        startsecs=0,
        autorestart=True,
        restartpause=0,
        stopwaitsecs=0.1,
    )
    faults.wait_entered(p, "EXITED", count=restarts, timeout=120)
    p.stop(wait=False)
    p.wait_for("STOPPED", "EXITED", timeout=10)
    reports = [
        json.loads(line[len("READY ") :])
        for line in faults.logged(p).decode().splitlines()
        if line.startswith("READY ")
    ]
    grandchildren = [pid for report in reports for pid in report["grandchildren"]]
    faults.track(grandchildren, faulty_only=True)
    assert len(grandchildren) >= restarts
    watchdog = faults.sup._runner.driver.launcher.watchdog
    remembered = faults.sup._runner.call(lambda: len(watchdog._sweeps))
    measure("swept groups the watchdog remembers after 80 restarts", remembered)
    assert remembered <= 64 + 8
    assert len(faults.running(grandchildren)) <= 16  # only the latest ones, not yet swept
    assert not faults.wait_gone(grandchildren, 10.0)


# --------------------------------------------------------------------------- 5. daemons

KERNEL_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import nbsup

    state, daemonizing, plain = sys.argv[1:4]
    sup = nbsup.Supervisor(state_dir=state)
    info = {"watchdog": sup._runner.driver.launcher.watchdog.pid}
    for name, command in (("daemonizing", daemonizing), ("plain", plain)):
        p = sup.add_program(name, command=command, startsecs=0, autorestart=False)
        out = p.output_channel("stdout")
        while b"}" not in out.read_since(0)[0]:
            out.wait_for_more(out.read_since(0)[1], 10)
        line = out.read_since(0)[0].decode().split("READY ", 1)[1].splitlines()[0]
        info[name] = json.loads(line)
    print(json.dumps(info), flush=True)
    threading.Event().wait()
    """
)


def test_daemonizing_program_escapes_and_is_documented(faults: FaultRun, tmp_path: Path) -> None:
    """A program that daemonizes (double fork + setsid) leaves its process group and its
    session, so nothing ties the daemon to nbsup any more, as with supervisord: the program
    exits, the daemon lives on after the supervisor shuts down and after the kernel is
    SIGKILLed. This test asserts that actual behaviour (the README documents it). What nbsup
    does know of is gone in both cases: the program's group and session and the watchdog."""
    daemon_pidfile = tmp_path / "daemon.pid"
    p = faults.add(
        "daemonizing", "--daemonize", daemon_pidfile, "--report", startsecs=0, autorestart=False
    )
    info = faults.report(p)
    daemon = info["daemon"]
    p.wait_for("EXITED", timeout=10)
    assert faults.transitions("daemonizing") == STARTED_RUNNING_EXITED
    stat = proc_stat(daemon)
    assert stat is not None and info["pid"] not in stat[2:]  # another group and session
    assert stat[3] != os.getsid(0) and stat[3] == stat[2]  # its intermediate's
    assert int(daemon_pidfile.read_text()) == daemon

    assert faults.sup.shutdown(30)
    assert not wait_exited([faults.watchdog.pid], 5.0), "the watchdog outlived the shutdown"
    assert not members(info["pid"]), "the program's group or session outlived the shutdown"
    assert faults.wait_gone([daemon], 0.5) == [daemon], "the daemon was expected to escape"
    faults.kill([daemon])
    assert not faults.wait_gone([daemon], 5.0)

    # the same after the kernel dies by SIGKILL: the watchdog cleans up the known groups only
    kernel = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KERNEL_SCRIPT,
            str(tmp_path / "kernel-state"),
            faulty("--daemonize", tmp_path / "daemon2.pid", "--report"),
            faulty("--ignore-term", "--grandchildren", 1, "--report", "--run", "inf"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert kernel.stdout is not None
        ready, _, _ = select.select([kernel.stdout], [], [], 60)
        assert ready, "the kernel script did not report its programs"
        seen = json.loads(kernel.stdout.readline())
        second_daemon = seen["daemonizing"]["daemon"]
        known = [seen["watchdog"], seen["plain"]["pid"], *seen["plain"]["grandchildren"]]
        faults.track([second_daemon, *known, seen["daemonizing"]["pid"]])
        kernel.kill()
        kernel.wait(10)
        assert not faults.wait_gone(known, 10.0), "a known process outlived the kernel"
        assert not members(seen["plain"]["pid"])
        assert faults.wait_gone([second_daemon], 0.5) == [second_daemon]
    finally:
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait(10)
        faults.kill(faults.running())


GUARD_KILLED_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import nbsup

    sup = nbsup.Supervisor(state_dir=sys.argv[1])
    watchdog = sup._runner.driver.launcher.watchdog
    p = sup.add_program("guarded", command=sys.argv[2], startsecs=0)
    out = p.output_channel("stdout")
    while b"}" not in out.read_since(0)[0]:
        out.wait_for_more(out.read_since(0)[1], 10)
    line = out.read_since(0)[0].decode().split("READY ", 1)[1].splitlines()[0]
    print(json.dumps({"watchdog": watchdog.pid, "program": json.loads(line)}), flush=True)
    replaced = watchdog.wait_restarted(1, 30)
    print(json.dumps({"replaced": replaced, "watchdog": watchdog.pid}), flush=True)
    threading.Event().wait()
    """
)


def test_a_killed_watchdog_is_replaced(faults: FaultRun, tmp_path: Path) -> None:
    """If something kills the watchdog's guard process, nbsup notices at once (its pidfd)
    and starts a new one that knows every live group: a kernel SIGKILLed afterwards still
    takes its program and the program's grandchild (ignoring SIGTERM) with it."""
    kernel = subprocess.Popen(
        [
            sys.executable,
            "-c",
            GUARD_KILLED_SCRIPT,
            str(tmp_path / "kernel-state"),
            faulty("--ignore-term", "--grandchildren", 1, "--report", "--run", "inf"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert kernel.stdout is not None
        ready, _, _ = select.select([kernel.stdout], [], [], 60)
        assert ready, "the kernel script did not report its program"
        first = json.loads(kernel.stdout.readline())
        program = [first["program"]["pid"], *first["program"]["grandchildren"]]
        faults.track([first["watchdog"], *program])
        os.kill(first["watchdog"], signal.SIGKILL)
        ready, _, _ = select.select([kernel.stdout], [], [], 30)
        assert ready, "the kernel script did not report the new watchdog"
        second = json.loads(kernel.stdout.readline())
        faults.track([second["watchdog"]])
        assert second["replaced"] and second["watchdog"] != first["watchdog"]
        assert faults.running(program) == sorted(program)  # nothing happened to the program

        kernel.kill()
        kernel.wait(10)
        assert not faults.wait_gone([*program, second["watchdog"]], 10.0)
        assert not members(first["program"]["pid"])
    finally:
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait(10)
        faults.kill(faults.running())


# --------------------------------------------------------------------------- 6. closed stdio


def test_program_that_closes_its_output_keeps_running_without_busy_loop(
    faults: FaultRun,
) -> None:
    """Closing stdout and stderr is not an exit: the program stays RUNNING, what it wrote
    before is in its log files, stderr still works after stdout alone was closed, the stop
    works (SIGKILL at stopwaitsecs here), and the end-of-file on the pipes costs nothing
    afterwards: this process uses little CPU while the program lives on with closed pipes."""
    both = faults.add(
        "closes-both",
        *("--ignore-term", "--report", "--emit", "stderr", b"before\n".hex()),
        *("--close", "both", "--run", "inf"),
        startsecs=0.2,
        stopwaitsecs=1.5,
    )
    half = faults.add(
        "closes-stdout",
        *("--ignore-term", "--report", "--close", "stdout"),
        *("--emit", "stderr", b"after close\n".hex(), "--run", "inf"),
        startsecs=0.2,
        stopwaitsecs=1.5,
    )
    for p in (both, half):
        faults.report(p)
        p.wait_for("RUNNING", timeout=10)
    faults.wait_output(half, "after close", channel="stderr")
    faults.wait_output(both, "before", channel="stderr")

    me = psutil.Process()
    loop_thread = faults.sup._runner.thread.thread.native_id

    def loop_cpu() -> float:
        return next(t.user_time + t.system_time for t in me.threads() if t.id == loop_thread)

    cpu_before, loop_before, wall_before = sum(me.cpu_times()[:2]), loop_cpu(), time.monotonic()
    for p in (both, half):
        p.stop(wait=False)
    for p in (both, half):
        p.wait_for("STOPPED", timeout=15)
    window = time.monotonic() - wall_before
    cpu = sum(me.cpu_times()[:2]) - cpu_before
    loop = loop_cpu() - loop_before
    measure(
        "CPU while both ran with closed pipes",
        f"{cpu:.3f} s process, {loop:.3f} s loop thread over {window:.2f} s",
    )
    assert window >= 1.5 - 0.005
    assert loop < 0.15 and cpu < 0.3

    for p in (both, half):
        assert faults.transitions(p.name) == RUNNING_THEN_STOPPED
        assert faults.records(p.name)[3]["message"] == f"stopped: {p.name} (terminated by SIGKILL)"
    assert faults.logged(both, "stderr") == b"before\n"
    assert faults.logged(half, "stderr") == b"after close\n"
    for p in (both, half):
        assert faults.logged(p).startswith(b"READY ")


# --------------------------------------------------------------------------- 7. bytes

PAYLOAD = [
    b"ok \xff\xfe invalid \xc0\xaf overlong ",
    b"split \xc3",  # the rest of this character comes in the next write
    b"\xa9 done ",
    b"nul\x00byte \x00\x00 ",
    b"\x1b[31mred\x1b[0m \x1b]0;a title\x07 \x1b[2K\rprogress 50%\rprogress 100%\n",
    b"\x1b[?25l cursor hidden \x7f\x08 controls \xe2\x82",  # ends in half a character
]


def test_invalid_utf8_nul_and_ansi_escapes_are_kept_exactly(
    faults: FaultRun, caplog: pytest.LogCaptureFixture
) -> None:
    """Output is bytes: the log files hold exactly what the program wrote (invalid UTF-8,
    a character split across writes, NUL bytes, ANSI and OSC escapes, a torn character at
    the end); ``tail()`` decodes with replacement characters; supervisorctl's tail and the
    card's HTML render it without an exception, and nothing is logged as an error."""
    caplog.set_level(logging.WARNING, logger="nbsup")
    emits = [word for part in PAYLOAD for word in ("--emit", "stdout", part.hex())]
    emits += [word for part in PAYLOAD for word in ("--emit", "stderr", part.hex())]
    p = faults.add("bytes", *emits, startsecs=0, autorestart=False)
    p.wait_for("EXITED", timeout=10)
    expected = b"".join(PAYLOAD)

    assert faults.transitions("bytes") == STARTED_RUNNING_EXITED
    for channel in ("stdout", "stderr"):
        assert faults.logged(p, channel) == expected
        assert p.output_channel(channel).tail() == expected
        assert p.tail(None, channel=channel) == expected.decode("utf-8", "replace")
    assert "\ufffd" in p.tail(None) and "\x00" in p.tail(None)
    assert p.tail(5) == expected[-5:].decode("utf-8", "replace")

    printed: list[str] = []
    Supervisorctl(faults.sup).run("tail bytes", printed.append)
    Supervisorctl(faults.sup).run("tail -40 bytes stderr", printed.append)
    assert "cursor hidden" in "".join(printed)
    html = to_html(p.output_channel().tail())
    assert "progress 100%" in html and "\x1b" not in html and "\x00" not in html
    assert "bytes" in faults.sup.status()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# --------------------------------------------------------------------------- 8. a long line


def test_50_mb_line_without_newline(faults: FaultRun) -> None:
    """50 MiB without a newline reach the log file complete and in order, the tail holds
    the last 64 KiB, and the kernel's peak memory grows by a few MiB at most (output is
    streamed in chunks, never assembled into lines)."""
    size = 50 << 20
    expected, last = sha1_of_blocks(long_line_block, size)
    gc.collect()
    before = rss_mib()
    reset_peak_rss()
    p = faults.add("long-line", "--long-line", size, startsecs=0, autorestart=False)
    p.wait_for("EXITED", timeout=120)
    peak = peak_rss_mib() - before
    measure("50 MiB line: peak RSS growth", f"{peak:.1f} MiB (RSS before {before:.0f} MiB)")
    assert peak < 8

    assert faults.transitions("long-line") == STARTED_RUNNING_EXITED
    files = faults.output_files(p)  # rotated at 50 MiB (the default) where nbsup rotates
    assert sum(path.stat().st_size for path in files) == size
    assert sha1_of_files(files) == expected
    channel = p.output_channel()
    assert channel.total == size
    assert channel.tail() == last[-faults.sup.tail_bytes :]
    assert "\n" not in p.tail(None)


# --------------------------------------------------------------------------- 9. a flood


@pytest.mark.slow
def test_500_mb_flood(faults: FaultRun) -> None:
    """500 MiB of output as fast as the program can write it: the log files are complete
    and in order (same digest), rotated every 50 MiB into the 10 backups supervisord's
    defaults keep, and the kernel's peak memory grows by a few MiB at most."""
    size = 500 << 20
    expected, last = sha1_of_blocks(flood_block, size)
    gc.collect()
    before = rss_mib()
    reset_peak_rss()
    started = time.monotonic()
    p = faults.add("flood", "--flood", size, startsecs=0, autorestart=False)
    p.wait_for("EXITED", timeout=300)
    took = time.monotonic() - started
    peak = peak_rss_mib() - before
    measure("500 MiB flood", f"{took:.1f} s, {size / took / (1 << 20):.0f} MiB/s")
    measure("500 MiB flood: peak RSS growth", f"{peak:.1f} MiB (RSS before {before:.0f} MiB)")
    assert peak < 8

    assert faults.transitions("flood") == STARTED_RUNNING_EXITED
    files = faults.output_files(p)
    sizes = [path.stat().st_size for path in files]
    measure("500 MiB flood: log files", sizes)
    assert sum(sizes) == size  # the defaults keep 10 backups of 50 MiB: nothing is lost
    assert sha1_of_files(files) == expected
    # rotated (supervisord's defaults): each backup once it held 50 MiB, by < one read more
    maxbytes = p.options.stdout_logfile_maxbytes
    assert maxbytes == 50 << 20 and len(files) in (10, 11)
    assert all(maxbytes <= size < maxbytes + READ_SIZE for size in sizes[:-1])
    assert sizes[-1] < maxbytes
    assert p.output_channel().tail() == last[-faults.sup.tail_bytes :]


# --------------------------------------------------------------------------- 10. spawn errors


def test_commands_that_cannot_run(faults: FaultRun, tmp_path: Path) -> None:
    """supervisord's spawnerr wording for a command that is missing, a directory, not
    executable, unparsable, and for a missing ``directory``; a script whose interpreter is
    missing fails at exec (``couldn't exec``). Each goes STARTING -> BACKOFF, retried after 1 s,
    then FATAL with the spawnerr as its description; ``start`` refuses the first three with
    NO_FILE / NOT_EXECUTABLE and changes nothing, and ``start(wait=True)`` of the others
    fails with SPAWN_ERROR."""
    folder = tmp_path / "a-directory"
    folder.mkdir()
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\nexit 0\n")
    plain.chmod(0o644)
    orphan_script = tmp_path / "no-interpreter"
    orphan_script.write_text("#!/no/such/interpreter\n")
    orphan_script.chmod(0o755)
    cases: dict[str, tuple[str, dict[str, Any], str, FaultCode | None]] = {
        "missing": (
            "/no/such/cmd --flag",
            {},
            "can't find command '/no/such/cmd'",
            FaultCode.NO_FILE,
        ),
        "bare": (
            "no-such-command-xyz",
            {},
            "can't find command 'no-such-command-xyz'",
            FaultCode.NO_FILE,
        ),
        "isdir": (
            str(folder),
            {},
            f"command at '{folder}' is a directory",
            FaultCode.NOT_EXECUTABLE,
        ),
        "noexec": (
            str(plain),
            {},
            f"command at '{plain}' is not executable",
            FaultCode.NOT_EXECUTABLE,
        ),
        "nodir": (
            faulty("--run", "inf"),
            {"directory": str(tmp_path / "gone")},
            f"couldn't chdir to {tmp_path / 'gone'}: ENOENT",
            FaultCode.SPAWN_ERROR,
        ),
        "interp": (
            str(orphan_script),
            {},
            f"couldn't exec {orphan_script}: ENOENT",
            FaultCode.SPAWN_ERROR,
        ),
        "unparsable": (
            "echo 'unclosed",
            {},
            "can't parse command \"echo 'unclosed\": No closing quotation",
            None,  # its start fault: see test_unparsable_command_is_not_executable
        ),
    }
    programs = {
        name: faults.sup.add_program(name, command=command, startsecs=0.2, startretries=1, **opts)
        for name, (command, opts, _, _) in cases.items()
    }
    for p in programs.values():
        p.wait_for("FATAL", timeout=15)

    log = faults.log_lines()
    for name, (_, _, message, code) in cases.items():
        p = programs[name]
        assert faults.transitions(name) == [
            ("STOPPED", "STARTING"),
            ("STARTING", "BACKOFF"),
            ("BACKOFF", "STARTING"),
            ("STARTING", "BACKOFF"),
            ("BACKOFF", "FATAL"),
        ], name
        rows = faults.records(name)
        assert all(row["pid"] is None for row in rows), name
        assert [rows[1]["tries"], rows[3]["tries"]] == [1, 2]
        assert rows[1]["message"] == rows[3]["message"] == f"spawnerr: {message}"
        assert rows[2]["elapsed"] - rows[1]["elapsed"] >= 1 - 0.005
        assert p.spawnerr == message and p.description == message
        assert log.count(f"INFO spawnerr: {message}") == 2
        assert (
            f"INFO gave up: {name} entered FATAL state, too many start retries too quickly" in log
        )

        if code is None:
            continue
        before = len(faults.records(name))
        with pytest.raises(Fault) as caught:
            p.start(wait=True, timeout=15)
        assert caught.value.code is code, name
        if code is FaultCode.SPAWN_ERROR:  # it tried again: STARTING, BACKOFF...
            assert faults.transitions(name)[before : before + 2] == [
                ("FATAL", "STARTING"),
                ("STARTING", "BACKOFF"),
            ]
        else:  # refused before anything happened (startProcess's pre-check)
            assert p.state is ProcessState.FATAL
            assert len(faults.records(name)) == before


def test_unparsable_command_is_not_executable(faults: FaultRun) -> None:
    """supervisord raises BadCommand for a command shlex cannot split, and startProcess
    refuses it with Fault NOT_EXECUTABLE (21), not NO_FILE (20)."""
    p = faults.sup.add_program("unparsable", command="echo 'unclosed", autostart=False)
    with pytest.raises(Fault) as caught:
        p.start()
    assert caught.value.code is FaultCode.NOT_EXECUTABLE


# --------------------------------------------------------------------------- 11. EMFILE, EAGAIN
# (EAGAIN from fork and the other errnos: test_program_faults_simulated.py)


def test_real_descriptor_exhaustion_at_spawn(
    faults: FaultRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For real: with this process out of file descriptors (RLIMIT_NOFILE lowered to what
    is open), a start fails with supervisord's EMFILE spawnerr and backs off; once
    descriptors are available again the retry runs. And a process whose pidfd alone could
    not be opened (another thread took the last descriptor right after the fork) still has
    its exit noticed: the launcher falls back to polling for it."""
    p = faults.add("emfile", "--report", "--run", "inf", startsecs=0.2, autostart=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 1, hard))
    try:
        p.start()
        p.wait_for("BACKOFF", timeout=10)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    p.wait_for("RUNNING", timeout=15)
    faults.report(p)
    assert faults.transitions("emfile") == [
        ("STOPPED", "STARTING"),
        ("STARTING", "BACKOFF"),
        ("BACKOFF", "STARTING"),
        ("STARTING", "RUNNING"),
    ]
    backoff = faults.records("emfile")[1]
    assert backoff["pid"] is None and backoff["tries"] == 1
    assert backoff["message"] == "spawnerr: too many open files to spawn 'emfile'"
    assert "INFO spawnerr: too many open files to spawn 'emfile'" in faults.log_lines()

    def no_descriptor_left(pid: int) -> int:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(launcher_module, "open_pidfd", no_descriptor_left)
    polled = faults.add(
        "polled", "--report", "--run", 0.5, "--exit", 3, startsecs=0.2, autorestart=False
    )
    faults.report(polled)
    polled.wait_for("EXITED", timeout=10)
    assert faults.transitions("polled") == STARTED_RUNNING_EXITED
    assert faults.records("polled")[2]["message"] == "exited: polled (exit status 3; not expected)"
