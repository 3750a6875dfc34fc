"""The real ``supervisorctl`` binary (supervisor 4.3.0) against nbsup's XML-RPC server.

Every command is run as a subprocess (``supervisorctl -s URL -u nbsup -p PASSWORD cmd``)
and its printed output and exit status are checked, as a user would see them.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time

import pytest
from program_waits import wait_output
from rpc_support import ENV

pytestmark = pytest.mark.realprocess

SLEEP = "sleep 30"
UPTIME = r"pid (\d+), uptime 0:00:0\d"


def test_status_version_pid_avail(served):
    sup = served.sup
    web = sup.add_program("web", command=SLEEP, startsecs=0.1)
    sup.add_program("idle", command=SLEEP, autostart=False)
    worker = sup.add_program("worker", command=SLEEP, group="pool", startsecs=0.1)
    web.wait_for("RUNNING", timeout=5)
    worker.wait_for("RUNNING", timeout=5)

    done = served.ctl("status")
    assert done.returncode == 3  # LSB "not running": idle is STOPPED
    lines = done.stdout.splitlines()
    assert lines[0] == "idle                             STOPPED   Not started"
    assert re.fullmatch(r"pool:worker                      RUNNING   " + UPTIME, lines[1])
    assert re.fullmatch(r"web                              RUNNING   " + UPTIME, lines[2])
    assert f"pid {worker.pid}," in lines[1] and f"pid {web.pid}," in lines[2]
    assert len(lines) == 3

    assert served.lines("status", "web")[0].startswith("web                              RUNNING")
    assert served.lines("status", "pool:*")[0].startswith("pool:worker ")
    missing = served.ctl("status", "nosuch")
    assert missing.stdout.splitlines() == ["nosuch: ERROR (no such process)"]
    assert missing.returncode == 4
    assert served.lines("status", "nogroup:*") == ["nogroup: ERROR (no such group)"]

    assert served.lines("version") == ["4.3.0"]
    assert served.lines("pid") == [str(os.getpid())]
    assert served.lines("pid", "web") == [str(web.pid)]
    assert served.lines("pid", "all") == ["0", str(worker.pid), str(web.pid)]
    assert served.lines("pid", "nosuch") == ["No such process nosuch"]

    assert served.lines("avail") == [
        "idle                             in use    manual    999:999",
        "web                              in use    auto      999:999",
        "pool:worker                      in use    auto      999:999",
    ]


def test_start_stop_restart(served):
    sup = served.sup
    idle = sup.add_program("idle", command=SLEEP, autostart=False, startsecs=0.2)
    web = sup.add_program("web", command=SLEEP, startsecs=0.1)
    bad = sup.add_program(
        "bad", command="sh -c 'exit 1'", autostart=False, startsecs=0.2, startretries=0
    )
    web.wait_for("RUNNING", timeout=5)

    done = served.ctl("start", "idle")
    assert (done.stdout, done.returncode) == ("idle: started\n", 0)
    assert idle.state == "RUNNING"  # start waits for RUNNING, as supervisorctl's does
    assert served.lines("start", "idle") == ["idle: ERROR (already started)"]

    done = served.ctl("start", "bad")
    assert (done.stdout, done.returncode) == ("bad: ERROR (spawn error)\n", 7)
    bad.wait_for("FATAL", timeout=5)
    assert served.lines("start", "nosuch") == ["nosuch: ERROR (no such process)"]

    done = served.ctl("stop", "idle")
    assert (done.stdout, done.returncode) == ("idle: stopped\n", 0)
    assert idle.state == "STOPPED"
    assert served.lines("stop", "idle") == ["idle: ERROR (not running)"]

    old = web.pid
    assert served.lines("restart", "web") == ["web: stopped", "web: started"]
    assert web.state == "RUNNING" and web.pid not in (0, old)

    assert sorted(served.lines("stop", "all")) == ["web: stopped"]
    assert web.state == "STOPPED"
    assert sorted(served.lines("start", "all")) == [
        "bad: ERROR (spawn error)",
        "idle: started",
        "web: started",
    ]
    assert idle.state == web.state == "RUNNING"


def test_groups_by_namespec(served):
    sup = served.sup
    a = sup.add_program("a", command=SLEEP, group="pool", startsecs=0.1)
    b = sup.add_program("b", command=SLEEP, group="pool", startsecs=0.1)
    a.wait_for("RUNNING", timeout=5)
    b.wait_for("RUNNING", timeout=5)
    assert served.lines("stop", "pool:*") == ["pool:a: stopped", "pool:b: stopped"]
    assert a.state == b.state == "STOPPED"
    assert served.lines("start", "pool:a") == ["pool:a: started"]
    assert served.lines("start", "pool:*") == ["pool:b: started"]
    assert served.lines("stop", "pool:") == ["pool:a: stopped", "pool:b: stopped"]
    assert served.lines("stop", "nosuch:*") == ["nosuch: ERROR (no such group)"]
    assert served.lines("start", "other:a") == ["other:a: ERROR (no such process)"]


def test_signal(served):
    sup = served.sup
    trap = "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.05; done"
    sig = sup.add_program("sig", command=f'sh -c "{trap}"', startsecs=0.1)
    sup.add_program("idle", command=SLEEP, autostart=False)
    sig.wait_for("RUNNING", timeout=5)
    wait_output(sig, "ready")

    assert served.lines("signal", "USR1", "sig") == ["sig: signalled"]
    wait_output(sig, "got-usr1")
    assert served.lines("signal", "BOGUS", "sig") == ["sig: ERROR (bad signal name)"]
    assert served.lines("signal", "HUP", "idle") == ["idle: ERROR (not running)"]
    assert served.lines("signal", "10", "all") == ["sig: signalled"]  # only signallable ones
    assert sig.state == "RUNNING"


def test_tail_and_clear(served):
    sup = served.sup
    body = "printf 'hello world\\n'; printf 'oops\\n' >&2; exec sleep 30"
    p = sup.add_program("p", command=f'sh -c "{body}"', startsecs=0.1)
    r = sup.add_program("r", command=SLEEP, redirect_stderr=True, startsecs=0.1)
    wait_output(p, "hello world")
    wait_output(p, "oops", "stderr")
    r.wait_for("RUNNING", timeout=5)

    out = p.output_channel().path.read_bytes()  # as written (with nbsup's markers, if any)
    err = p.output_channel("stderr").path.read_bytes()
    assert out.endswith(b"hello world\n") and err.endswith(b"oops\n")
    assert served.ctl("tail", "p").stdout == out[-1600:].decode() + "\n"
    assert served.ctl("tail", "p", "stderr").stdout == err[-1600:].decode() + "\n"
    assert served.ctl("tail", "-6", "p").stdout == "world\n\n"
    assert served.lines("tail", "nosuch") == ["nosuch: ERROR (no such process name)"]
    assert served.lines("tail", "r", "stderr") == ["r: ERROR (no log file)"]

    assert served.lines("clear", "p") == ["p: cleared"]
    out = p.output_channel().path.read_bytes()
    assert b"hello" not in out
    assert served.ctl("tail", "p").stdout == out.decode() + "\n"
    assert "oops" not in served.ctl("tail", "p", "stderr").stdout
    assert served.lines("clear", "nosuch") == ["nosuch: ERROR (no such process)"]
    assert served.lines("clear", "all") == ["p: cleared", "r: cleared"]


def test_maintail(served):
    web = served.sup.add_program("web", command=SLEEP, startsecs=0.1)
    web.wait_for("RUNNING", timeout=5)
    text = served.ctl("maintail").stdout
    assert f"INFO spawned: 'web' with pid {web.pid}" in text
    assert "INFO success: web entered RUNNING state" in text
    short = served.ctl("maintail", "-40").stdout
    assert len(short) == 40 + 1 and text.endswith(short[:-1] + "\n")


def _reader(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _follow(served, args, until, timeout=10.0):
    """Run ``supervisorctl args`` (a follow), read lines until ``until(lines)``, then
    terminate it; return the lines. The server must notice the client left."""
    proc = subprocess.Popen(served.ctl_argv(*args), stdout=subprocess.PIPE, text=True, env=ENV)
    seen: list[str] = []
    try:
        lines = _reader(proc)
        deadline = time.monotonic() + timeout
        while not until(seen):
            seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
    finally:
        proc.terminate()
        proc.wait(5)
    assert served.server().wait_connections(0, 5), "the stream did not end"
    return seen


def test_tail_f_streams_new_output_until_terminated(served):
    loop = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.05; done"
    ticker = served.sup.add_program("ticker", command=f'sh -c "{loop}"', startsecs=0.1)
    wait_output(ticker, "tick 3")
    ticks = []

    def enough(seen: list[str]) -> bool:
        ticks[:] = [int(line.split()[1]) for line in seen if line.startswith("tick ")]
        return len(ticks) >= 2 and ticks[-1] >= ticks[0] + 5

    seen = _follow(served, ["tail", "-f", "ticker"], enough)
    assert seen[0] == "==> Press Ctrl-C to exit <==\n"
    assert ticks == list(range(ticks[0], ticks[-1] + 1))  # in order, nothing lost
    assert served.lines("status", "ticker")[0].startswith("ticker ")  # still serving


def test_maintail_f_streams_new_lines(served):
    first = served.sup.add_program("first", command=SLEEP, startsecs=0.1)
    first.wait_for("RUNNING", timeout=5)
    added = threading.Event()

    def until(seen: list[str]) -> bool:
        if any("spawned: 'first'" in line for line in seen) and not added.is_set():
            added.set()
            served.sup.add_program("late", command=SLEEP, startsecs=0.1)
        return any("spawned: 'late'" in line for line in seen)

    seen = _follow(served, ["maintail", "-f"], until)
    assert seen[0] == "==> Press Ctrl-C to exit <==\n"


def test_a_waiting_start_blocks_neither_clients_nor_supervision(served):
    sup = served.sup
    slow = sup.add_program("slow", command=SLEEP, autostart=False, startsecs=3)
    flappy = sup.add_program(
        "flappy", command="sh -c 'exit 1'", autostart=False, startsecs=0.2, startretries=1
    )
    times: dict[str, float] = {}
    fatal = threading.Event()
    flappy.observe(lambda change: change.new == "FATAL" and fatal.set(), "state")

    def start_slow() -> None:
        times["result"] = served.proxy().supervisor.startProcess("slow")
        times["started"] = time.monotonic()

    thread = threading.Thread(target=start_slow)
    thread.start()
    slow.wait_for("STARTING", timeout=5)
    flappy.start()  # fails, backs off 1 s, fails again: FATAL, all while "slow" waits
    status = served.lines("status", "slow")  # answered while the start waits
    times["status"] = time.monotonic()
    assert status[0].startswith("slow                             STARTING")
    assert fatal.wait(5)
    times["fatal"] = time.monotonic()
    thread.join(10)
    assert times["result"] is True and slow.state == "RUNNING"
    assert times["status"] < times["started"] and times["fatal"] < times["started"]


def test_wrong_password_is_refused_and_changes_nothing(served):
    idle = served.sup.add_program("idle", command=SLEEP, autostart=False)
    done = served.ctl("start", "idle", password="wrong")
    assert done.stdout.startswith("Server requires authentication\n")
    assert done.returncode == 1
    assert idle.state == "STOPPED" and not idle.records()
    no_user = subprocess.run(
        [str(served.ctl_argv()[0]), "-s", served.info.url, "status"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
    )
    assert no_user.stdout.startswith("Server requires authentication\n")
    assert served.lines("status", "idle")[0].startswith("idle ")


def test_supervisorctl_over_tcp(served_tcp):
    assert served_tcp.info.url.startswith("http://127.0.0.1:")
    web = served_tcp.sup.add_program("web", command=SLEEP, startsecs=0.1)
    web.wait_for("RUNNING", timeout=5)
    assert served_tcp.lines("stop", "web") == ["web: stopped"]
    assert served_tcp.lines("start", "web") == ["web: started"]
    assert served_tcp.lines("signal", "TERM", "web") == ["web: signalled"]
    web.wait_for("EXITED", "STARTING", "BACKOFF", timeout=5)
    done = served_tcp.ctl("status", "web", password="wrong")
    assert done.stdout.startswith("Server requires authentication")


def test_interrupted_tail_f_does_not_leak(served):
    web = served.sup.add_program("web", command="sh -c 'echo hi; exec sleep 30'", startsecs=0.1)
    wait_output(web, "hi")
    proc = subprocess.Popen(
        served.ctl_argv("tail", "-f", "web"), stdout=subprocess.PIPE, text=True, env=ENV
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "==> Press Ctrl-C to exit <==\n"
    assert "hi\n" in [proc.stdout.readline() for _ in range(2)]  # (after nbsup's marker)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does
    assert proc.wait(5) == 0
    assert served.server().wait_connections(0, 5)
