"""Real processes under a real supervisor: timing, signals, spawn errors, output, files.

Each test runs its programs (several at once where they can share the wait) in one
supervisor that the ``harness`` fixture shuts down, then checks that every process it
started (programs, grandchildren, the watchdog) is gone. Waits block on events
(transitions, output, pidfds), never on sleeps. Measured numbers are printed with a
``[measure]`` prefix (run with ``-s`` to see them).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from nbsup import Fault, FaultCode, ProcessState
from nbsup.core.record import COLUMNS

pytestmark = pytest.mark.realprocess

TOLERANCE = 0.020  # seconds: how far from its nominal time a deadline may be met


def measure(label: str, value: object) -> None:
    print(f"[measure] {label}: {value}")


def transitions(rows: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    return [(r["from_state"], r["to_state"], r["tries"]) for r in rows]


# --------------------------------------------------------------------------- 1. backoff


def test_early_exit_backs_off_on_schedule_then_fatal(harness):
    p = harness.add("early", "--quiet", "--exit", 0, startsecs=0.3, startretries=2)
    p.wait_for("FATAL", timeout=8)

    rows = harness.records("early")
    assert transitions(rows) == [
        ("STOPPED", "STARTING", 0),
        ("STARTING", "BACKOFF", 1),
        ("BACKOFF", "STARTING", 1),
        ("STARTING", "BACKOFF", 2),
        ("BACKOFF", "STARTING", 2),
        ("STARTING", "BACKOFF", 3),
        ("BACKOFF", "FATAL", None),
    ]
    starts = [r for r in rows if r["to_state"] == "STARTING"]
    backoffs = [r for r in rows if r["to_state"] == "BACKOFF"]
    assert len({r["pid"] for r in starts}) == 3  # startretries + 1 spawns
    for backoff in backoffs:  # an early exit is a failure even with an expected code
        assert backoff["exitstatus"] == 0
        assert backoff["expected"] is False
        assert backoff["message"] == "exited: early (exit status 0; not expected)"
    assert rows[-1]["message"] == (
        "gave up: early entered FATAL state, too many start retries too quickly"
    )
    assert p.spawnerr == "Exited too quickly (process log may have details)"
    for k in (1, 2):
        delay = starts[k]["elapsed"] - backoffs[k - 1]["elapsed"]
        measure(f"backoff delay after BACKOFF({k})", f"{delay:.4f} s (nominal {k} s)")
        assert abs(delay - k) <= TOLERANCE


# --------------------------------------------------------------------------- 2. autorestart


def test_exit_after_startsecs_and_autorestart(harness):
    cases = {
        # name: (exit code, options, restarts?)
        "exp-unexpected": (0, {"autorestart": "unexpected"}, False),
        "unexp-unexpected": (1, {"autorestart": "unexpected"}, True),
        "listed-unexpected": (2, {"autorestart": "unexpected", "exitcodes": [0, 2]}, False),
        "exp-true": (0, {"autorestart": True, "restartpause": 0.5}, True),
        "unexp-false": (1, {"autorestart": False}, False),
        "exp-false": (0, {"autorestart": False}, False),
    }
    programs = {}
    for name, (code, options, _) in cases.items():
        options.setdefault("restartpause", 0)
        programs[name] = harness.add(
            name, "--quiet", "--run", 0.3, "--exit", code, startsecs=0.1, **options
        )

    restarting = [n for n, case in cases.items() if case[2]]
    for name in restarting:
        harness.wait_entered(programs[name], "STARTING", count=2, timeout=5)
    for name, case in cases.items():
        if not case[2]:
            programs[name].wait_for("EXITED", timeout=5)

    for name, (code, options, restarts) in cases.items():
        rows = harness.records(name)
        expected = code in options.get("exitcodes", [0])
        exited = rows[2]
        assert transitions(rows[:3]) == [
            ("STOPPED", "STARTING", 0),
            ("STARTING", "RUNNING", None),
            ("RUNNING", "EXITED", None),
        ], name
        assert exited["expected"] is expected, name
        assert exited["exitstatus"] == code, name
        word = "expected" if expected else "not expected"
        assert exited["message"] == f"exited: {name} (exit status {code}; {word})"
        if not restarts:
            # exp-true waited 0.5 s more (restartpause): a restart at once would show
            assert len(rows) == 3, (name, transitions(rows))
            assert programs[name].state is ProcessState.EXITED
            continue
        restart = rows[3]
        assert (restart["from_state"], restart["to_state"], restart["tries"]) == (
            "EXITED",
            "STARTING",
            0,
        )
        pause = restart["elapsed"] - exited["elapsed"]
        nominal = options["restartpause"]
        measure(f"{name} restart after EXITED", f"{pause:.4f} s (restartpause {nominal})")
        if nominal == 0:
            assert pause < 0.050, name
        else:
            assert abs(pause - nominal) <= TOLERANCE, name


# --------------------------------------------------------------------------- 3. stop


def test_stop_signals_escalation_and_process_groups(harness):
    # stopped together; the SIGKILL deadlines are 0.1 s apart so each exit is timed alone
    handles = harness.add("handles", "--run", "inf", "--term-exit", 0, startsecs=0.2)
    dies = harness.add("dies", "--run", "inf", startsecs=0.2)
    stubborn = harness.add(
        "stubborn", "--run", "inf", "--ignore-term", startsecs=0.2, stopwaitsecs=0.5
    )
    group = harness.add(
        "group", "--run", "inf", "--ignore-term", "--grandchild", startsecs=0.2, stopwaitsecs=0.6
    )
    nogroup = harness.add(
        "nogroup",
        "--run",
        "inf",
        "--ignore-term",
        "--grandchild",
        stopasgroup=False,
        killasgroup=False,
        startsecs=0.2,
        stopwaitsecs=0.7,
    )
    programs = [handles, dies, stubborn, group, nogroup]
    info = {p.name: harness.ready(p) for p in programs}
    for p in programs:
        p.wait_for("RUNNING", timeout=5)
    for p in programs:
        p.stop(wait=False)
    for p in programs:
        p.wait_for("STOPPED", timeout=5)
    # the grandchild of a group stop died with its group (SIGKILL to -pgid at stopwaitsecs)
    assert harness.wait_gone(info["group"]["grandchild"], 0.5), "grandchild survived a group kill"
    # without stopasgroup/killasgroup only the child is signalled: the grandchild lives on
    orphan = info["nogroup"]["grandchild"]
    assert not harness.wait_gone(orphan, 0.2), "grandchild died although only its parent was killed"
    os.kill(orphan, signal.SIGKILL)
    assert harness.wait_gone(orphan, 2.0)

    def rows(p):
        return harness.records(p.name)[-2:]

    for p in programs:
        stopping, stopped = rows(p)
        assert (stopping["from_state"], stopping["to_state"]) == ("RUNNING", "STOPPING")
        assert stopping["signal"] == "SIGTERM"
        as_group = "" if p is nogroup else "process group "
        assert stopping["message"] == (
            f"killing {p.name} (pid {stopped['pid']}) {as_group}with signal SIGTERM"
        )
        assert (stopped["from_state"], stopped["to_state"]) == ("STOPPING", "STOPPED")

    assert rows(handles)[1]["message"] == "stopped: handles (exit status 0)"
    assert rows(handles)[1]["exitstatus"] == 0
    assert rows(dies)[1]["message"] == "stopped: dies (terminated by SIGTERM)"
    assert rows(dies)[1]["signal"] == "SIGTERM"
    for p in (handles, dies):
        took = rows(p)[1]["elapsed"] - rows(p)[0]["elapsed"]
        measure(f"{p.name}: STOPPING -> STOPPED", f"{took:.4f} s")
        assert took < 0.1
    for p in (stubborn, group, nogroup):
        stopping, stopped = rows(p)
        assert stopped["message"] == f"stopped: {p.name} (terminated by SIGKILL)"
        assert stopped["signal"] == "SIGKILL"
        took = stopped["elapsed"] - stopping["elapsed"]
        wait = p.options.stopwaitsecs
        measure(f"{p.name}: SIGKILL escalation", f"{took:.4f} s (stopwaitsecs {wait})")
        # nogroup: the orphaned grandchild keeps the pipes open; the exit is still seen
        assert abs(took - wait) <= TOLERANCE, p.name

    log = (harness.sup.session_dir / "supervisord.log").read_text()
    for p in (stubborn, group, nogroup):
        pid = info[p.name]["pid"]
        assert f" WARN killing '{p.name}' ({pid}) with SIGKILL\n" in log
        as_group = "" if p is nogroup else "process group "
        assert f" DEBG killing {p.name} (pid {pid}) {as_group}with signal SIGKILL\n" in log


# --------------------------------------------------------------------------- 4. signal


def test_sighup_kills_running_program_which_is_restarted(harness):
    p = harness.add("hup", "--run", "inf", startsecs=0.2, restartpause=0.2)
    first = harness.ready(p)["pid"]
    p.wait_for("RUNNING", timeout=5)
    p.signal("HUP")
    harness.wait_entered(p, "RUNNING", count=2, timeout=5)

    rows = harness.records("hup")
    assert transitions(rows) == [
        ("STOPPED", "STARTING", 0),
        ("STARTING", "RUNNING", None),
        ("RUNNING", "EXITED", None),
        ("EXITED", "STARTING", 0),
        ("STARTING", "RUNNING", None),
    ]
    exited = rows[2]
    assert exited["pid"] == first
    assert exited["signal"] == "SIGHUP"
    assert exited["exitstatus"] == -1
    assert exited["expected"] is False
    assert exited["message"] == "exited: hup (terminated by SIGHUP; not expected)"
    assert p.pid not in (0, first)
    pause = rows[3]["elapsed"] - exited["elapsed"]
    measure("restart after SIGHUP death", f"{pause:.4f} s (restartpause 0.2)")
    assert abs(pause - 0.2) <= TOLERANCE
    log = (harness.sup.session_dir / "supervisord.log").read_text()
    assert f" DEBG sending hup (pid {first}) sig SIGHUP\n" in log


# --------------------------------------------------------------------------- 5. spawn errors


def test_spawn_errors_back_off_then_fatal_and_start_faults(harness, tmp_path):
    folder = tmp_path / "a-directory"
    folder.mkdir()
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    cases = {
        "missing": ("/no/such/cmd", {}, "can't find command '/no/such/cmd'"),
        "isdir": (str(folder), {}, f"command at '{folder}' is a directory"),
        "noexec": (str(script), {}, f"command at '{script}' is not executable"),
        "nodir": (
            harness.command("--run", "inf"),
            {"directory": "/no/such/dir"},
            "couldn't chdir to /no/such/dir: ENOENT",
        ),
    }
    sup = harness.sup
    programs = {
        name: sup.add_program(name, command=command, startsecs=0.2, startretries=1, **options)
        for name, (command, options, _) in cases.items()
    }
    idle = sup.add_program("idle", command="/no/such/cmd", autostart=False)
    for p in programs.values():
        p.wait_for("FATAL", timeout=5)

    for name, (_, _, message) in cases.items():
        rows = harness.records(name)
        assert transitions(rows) == [
            ("STOPPED", "STARTING", 0),
            ("STARTING", "BACKOFF", 1),
            ("BACKOFF", "STARTING", 1),
            ("STARTING", "BACKOFF", 2),
            ("BACKOFF", "FATAL", None),
        ], name
        for row in rows:
            assert row["pid"] is None, name
        for row in (rows[1], rows[3]):
            assert row["message"] == f"spawnerr: {message}"
        assert programs[name].spawnerr == message
        delay = rows[2]["elapsed"] - rows[1]["elapsed"]
        assert abs(delay - 1) <= TOLERANCE, name

    # startProcess's pre-check: a Fault, no state change, no transition
    for name, code in (
        ("missing", FaultCode.NO_FILE),
        ("isdir", FaultCode.NOT_EXECUTABLE),
        ("noexec", FaultCode.NOT_EXECUTABLE),
    ):
        before = len(harness.records(name))
        with pytest.raises(Fault) as caught:
            programs[name].start()
        assert caught.value.code is code, name
        assert programs[name].state is ProcessState.FATAL
        assert len(harness.records(name)) == before
    with pytest.raises(Fault) as caught:
        idle.start(wait=True, timeout=2)
    assert caught.value.code is FaultCode.NO_FILE
    assert idle.state is ProcessState.STOPPED
    assert harness.records("idle") == []


# --------------------------------------------------------------------------- 6. environment


def test_environment_directory_redirect_and_sessions(harness, tmp_path, monkeypatch):
    for name in ("PYTHONUNBUFFERED", "SUPERVISOR_ENABLED", "SUPERVISOR_PROCESS_NAME"):
        monkeypatch.delenv(name, raising=False)  # children must get them from nbsup
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    args = ("--print-env", "--run", "inf", "--stderr", "to-stderr")
    redirected = harness.add(
        "redirected",
        *args,
        environment={"NBSUP_TEST_VAR": "hello world"},
        directory=str(workdir),
        redirect_stderr=True,
        startsecs=0.2,
    )
    plain = harness.add("plain", *args, group="grp", startsecs=0.2)

    mine = os.getsid(0)
    for p in (redirected, plain):
        info = harness.ready(p)
        env = info["env"]
        assert env["PYTHONUNBUFFERED"] == "1"
        assert env["SUPERVISOR_ENABLED"] == "1"
        assert env["SUPERVISOR_PROCESS_NAME"] == p.name
        assert env["SUPERVISOR_GROUP_NAME"] == ("grp" if p is plain else p.name)
        pid = info["pid"]
        assert info["sid"] == info["pgid"] == pid
        assert os.getsid(pid) == pid != mine
        assert os.getpgid(pid) == pid
        p.wait_for("RUNNING", timeout=5)
        assert p.pid == pid

    redirected_info = harness.ready(redirected)
    assert redirected_info["env"]["NBSUP_TEST_VAR"] == "hello world"
    assert redirected_info["cwd"] == str(workdir)
    plain_info = harness.ready(plain)
    assert "NBSUP_TEST_VAR" not in plain_info["env"]
    assert plain_info["cwd"] == os.getcwd()

    assert "to-stderr" in harness.wait_output(redirected, "to-stderr")
    with pytest.raises(Fault):
        redirected.output_channel("stderr")
    assert harness.wait_output(plain, "to-stderr", channel="stderr") == "to-stderr\n"
    assert "to-stderr" not in plain.tail(None)

    logs = harness.sup.session_dir / "logs"
    assert sorted(path.name for path in logs.iterdir()) == [
        "plain-stderr.log",
        "plain-stdout.log",
        "redirected-stdout.log",
    ]
    spawned, output = (logs / "plain-stderr.log").read_text().splitlines(keepends=True)
    assert spawned == f"==> nbsup: attempt 1 spawned, pid {plain.pid}, {spawned[-24:]}"
    assert output == "to-stderr\n"
    assert plain.attempt_log(1, "stderr") == "to-stderr\n"  # without the marker
    assert "to-stderr\n" in (logs / "redirected-stdout.log").read_text()


# --------------------------------------------------------------------------- 7. output


def test_output_files_tail_and_memory_with_50_mb(harness):
    spec = importlib.util.spec_from_file_location("child", harness.child_path)
    assert spec is not None and spec.loader is not None
    child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(child)
    size = 50 * 1024 * 1024
    expected = hashlib.sha1()
    for k in range(size // len(child.chunk(0))):
        expected.update(child.chunk(k))

    gc.collect()
    rss_before = harness.rss_kib()
    started = time.monotonic()
    p = harness.add(
        "big",
        *("--quiet", "--write-bytes", size, "--stderr", "on-stderr"),
        startsecs=0,
        stdout_logfile_maxbytes=0,  # 50 MiB is the default: it would rotate at the end
    )
    p.wait_for("EXITED", timeout=30)
    took = time.monotonic() - started
    gc.collect()
    rss_after = harness.rss_kib()
    growth = (rss_after - rss_before) / 1024
    measure("50 MiB through the supervisor", f"{took:.2f} s")
    measure("RSS growth", f"{growth:.1f} MiB ({rss_before} -> {rss_after} KiB)")
    assert growth < 20

    assert [r["to_state"] for r in harness.records("big")] == ["STARTING", "RUNNING", "EXITED"]
    logs = harness.sup.session_dir / "logs"
    stdout_log = logs / "big-stdout.log"
    digest = hashlib.sha1()
    with open(stdout_log, "rb") as file:  # a marker line, the output, a marker line
        assert file.readline().startswith(b"==> nbsup: attempt 1 spawned")
        for _ in range(size >> 20):
            digest.update(file.read(1 << 20))
        assert file.read().startswith(b"==> nbsup: attempt 1 exited (exit status 0)")
    assert digest.hexdigest() == expected.hexdigest()
    assert p.attempt_log(1, "stderr") == "on-stderr\n"
    assert b"\non-stderr\n==> nbsup: attempt 1 exited" in (logs / "big-stderr.log").read_bytes()

    stdout = p.output_channel("stdout")
    tail_bytes = harness.sup.tail_bytes
    assert stdout.total == size
    assert stdout.tail() == child.chunk(size // len(child.chunk(0)) - 1)[-tail_bytes:]
    assert len(stdout.tail()) == tail_bytes
    assert p.tail(32) == "000000000000799\n000000000000799\n"
    assert p.tail(None, channel="stderr") == "on-stderr\n"


# --------------------------------------------------------------------------- 8. journal

LINE = re.compile(
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) (CRIT|ERRO|WARN|INFO|DEBG|TRAC|BLAT) (.*)$"
)

DAEMON = re.compile(
    r"^((supervisord|nbsup) started with pid \d+|received SIG\w+ indicating .*"
    r"|waiting for .+ to die)$"
)


def expected_level(message: str) -> str:
    """supervisord's level for a transition's log line (semantics.md §5, §15.2)."""
    if message.startswith("killing "):
        return "DEBG"
    if message.startswith("exited: "):
        return "INFO" if message.endswith("; expected)") else "WARN"
    if message.startswith("stopped: "):
        return "INFO" if message.endswith("(exit status 0)") else "WARN"
    assert re.match(r"^(spawned|success|spawnerr|gave up): ", message), message
    return "INFO"


def test_event_file_and_supervisord_log_line_per_transition(harness):
    sup = harness.sup
    svc = harness.add("svc", "--quiet", "--run", "inf", startsecs=0.2)
    bad = sup.add_program("bad", command="/no/such/cmd", startretries=0)
    quick = harness.add("quick", "--quiet", "--exit", 3, startsecs=0, autorestart=False)
    done = harness.add("done", "--quiet", "--run", 0.3, startsecs=0.1)
    svc.wait_for("RUNNING", timeout=5)
    svc.stop(timeout=5)
    bad.wait_for("FATAL", timeout=5)
    quick.wait_for("EXITED", timeout=5)
    done.wait_for("EXITED", timeout=5)
    assert sup.shutdown(10)

    records = harness.records()
    assert len(records) == 13
    folder = sup.session_dir
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert all(list(event) == list(COLUMNS) for event in events)
    assert events == records

    lines = (folder / "supervisord.log").read_text().splitlines()
    for line in lines:
        assert LINE.match(line), line
    # the daemon's own lines (not transitions) may come and go; every transition is there
    lines = [line for line in lines if not DAEMON.match(line.split(" ", 3)[3])]
    logged = [r for r in records if r["message"]]  # e.g. spawnerr's STARTING has no line
    assert len(lines) == len(logged) >= 11
    for line, record in zip(lines, logged, strict=True):
        match = LINE.match(line)
        assert match, line
        stamp, millis, level, message = match.groups()
        wall = record["time"]
        assert stamp == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))
        assert int(millis) == int((wall % 1) * 1000)
        assert message == record["message"]
        assert level == expected_level(message), line
    messages = [line.split(" ", 3)[3] for line in lines]
    assert "exited: quick (exit status 3; not expected)" in messages
    assert "spawnerr: can't find command '/no/such/cmd'" in messages
    assert "stopped: svc (terminated by SIGTERM)" in messages


# --------------------------------------------------------------------------- 9. exit latency


def test_exit_detection_latency(harness, tmp_path):
    # exits at least 50 ms apart, once the children have started: each is timed on its own
    programs = []
    for k in range(3):
        early = harness.add(
            f"early{k}",
            "--quiet",
            "--run",
            0.05 * (k + 1),
            "--stamp",
            tmp_path / f"early{k}",
            startsecs=1,
            startretries=0,
        )
        late = harness.add(
            f"late{k}",
            "--quiet",
            "--run",
            0.3 + 0.1 * k,
            "--exit",
            1,
            "--stamp",
            tmp_path / f"late{k}",
            startsecs=0.1,
            autorestart=False,
        )
        programs += [early, late]
    for p in programs:
        p.wait_for("EXITED", "FATAL", timeout=5)
    started_at = harness.sup._runner.driver.started_at
    latencies = []
    for p in programs:
        state = "EXITED" if p.name.startswith("late") else "BACKOFF"
        rows = harness.entered(p.name, state)
        assert len(rows) == 1, (p.name, transitions(harness.records(p.name)))
        row = rows[0]
        stamp = float((tmp_path / p.name).read_text())
        latency = row["elapsed"] + started_at - stamp
        latencies.append(latency)
        assert -1e-6 <= latency <= TOLERANCE, (p.name, latency)
    measure(
        "exit detection latency",
        f"max {max(latencies) * 1000:.2f} ms, mean {sum(latencies) / len(latencies) * 1000:.2f} ms",
    )


# --------------------------------------------------------------------------- 10. busy thread


def test_busy_main_thread_does_not_delay_backoff(harness):
    p = harness.add("busy", "--quiet", "--exit", 0, startsecs=0.3, startretries=2, autostart=False)
    fatal = threading.Event()

    def on_state(change):
        if change["new"] is ProcessState.FATAL:
            fatal.set()

    harness.sup._runner.call(p.observe, on_state, "state")
    p.start()
    began = time.monotonic()
    deadline = began + 10
    spins = 0
    while not fatal.is_set():  # pure bytecode: holds the GIL except at switch requests
        spins += 1
        if spins % 1_000_000 == 0 and time.monotonic() > deadline:
            break
    busy = time.monotonic() - began
    measure("busy loop", f"{busy:.2f} s, {spins} spins")
    assert fatal.is_set()

    rows = harness.records("busy")
    starts = [r for r in rows if r["to_state"] == "STARTING"]
    backoffs = [r for r in rows if r["to_state"] == "BACKOFF"]
    assert [r["tries"] for r in backoffs] == [1, 2, 3]
    for k in (1, 2):
        delay = starts[k]["elapsed"] - backoffs[k - 1]["elapsed"]
        measure(f"busy main thread: backoff delay after BACKOFF({k})", f"{delay:.4f} s")
        assert abs(delay - k) <= 0.050


# --------------------------------------------------------------------------- 11. watchdog

WATCHDOG_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    import nbsup

    sup = nbsup.Supervisor(state_dir=sys.argv[1])
    p = sup.add_program("guarded", command=sys.argv[2], startsecs=0.2)
    out = p.output_channel("stdout")
    while b"}" not in out.read_since(0)[0]:
        out.wait_for_more(out.read_since(0)[1], 10)
    line = out.read_since(0)[0].decode().split("READY ", 1)[1].splitlines()[0]
    info = json.loads(line)
    info["watchdog"] = sup._runner.driver.launcher.watchdog.pid
    print(json.dumps(info), flush=True)
    threading.Event().wait()
    """
)


def test_programs_die_with_a_sigkilled_kernel(harness, tmp_path):
    command = harness.command("--run", "inf", "--grandchild")
    script = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG_SCRIPT, str(tmp_path / "state"), command],
        stdout=subprocess.PIPE,
    )
    info: dict[str, int] = {}
    try:
        assert script.stdout is not None
        ready, _, _ = select.select([script.stdout], [], [], 30)
        assert ready, "the supervising script did not report its program"
        info = json.loads(script.stdout.readline())
        child, grandchild = info["pid"], info["grandchild"]
        assert not harness.wait_gone(child, 0) and not harness.wait_gone(grandchild, 0)

        script.kill()  # SIGKILL: no atexit, no finalizer, nothing but the watchdog
        killed = time.monotonic()
        script.wait(5)
        assert harness.wait_gone(child, 2.0), "the program outlived its kernel"
        assert harness.wait_gone(grandchild, max(0.0, killed + 2.0 - time.monotonic())), (
            "the program's grandchild (ignoring SIGTERM) outlived the kernel by > 2 s"
        )
        gone_after = time.monotonic() - killed
        measure("program group gone after the kernel's SIGKILL", f"{gone_after:.3f} s")
        assert harness.wait_gone(info["watchdog"], 2.0), "the watchdog did not exit"
    finally:
        if script.poll() is None:
            script.kill()
            script.wait(5)
        for pid in info.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
