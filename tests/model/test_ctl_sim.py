"""supervisorctl's command language on a simulated supervisor: outputs as supervisorctl's."""

from __future__ import annotations

import os
import threading

import pytest

from nbsup.ctl import Supervisorctl
from nbsup.supervisor import Supervisor
from nbsup.testing import FakeClock, FakeLauncher, Life


@pytest.fixture
def ctl(sim) -> tuple[Supervisorctl, Supervisor, FakeClock, FakeLauncher]:
    sup, clock, launcher = sim
    return Supervisorctl(sup, follow_timeout=0.5), sup, clock, launcher


def lines(ctl: Supervisorctl, command: str) -> list[str]:
    out: list[str] = []
    ctl.run(command, out.append)
    return "\n".join(out).splitlines()


def test_status_format(ctl):
    c, sup, clock, launcher = ctl
    launcher.script("bad", Life(runs=0.01, exit=1))
    sup.add_program("web", command="sleep 100")
    sup.add_program("bad", command="false", startretries=0)
    sup.add_program("idle", command="true", autostart=False)
    sup.add_program("worker", command="sleep 100", group="pool")
    clock.advance(65)
    web, worker = sup["web"].pid, sup["worker"].pid
    status = lines(c, "status")
    assert status[:2] == [
        "bad                              FATAL     Exited too quickly (process log may have details)",
        "idle                             STOPPED   Not started",
    ]
    assert status[2:] == [
        f"pool:worker                      RUNNING   pid {worker}, uptime 0:01:05",
        f"web                              RUNNING   pid {web}, uptime 0:01:05",
    ]
    status = lines(c, "status web nosuch")
    assert status == ["nosuch: ERROR (no such process)", status[1]]
    assert status[1].startswith("web" + " " * 30 + "RUNNING   pid ")


def test_start_stop_restart_signal_messages(ctl):
    c, sup, clock, launcher = ctl
    launcher.script("flaky", Life(runs=0.2, exit=0))
    sup.add_program("web", command="sleep 100", autostart=False)
    sup.add_program("flaky", command="x", autostart=False)
    assert lines(c, "start web") == ["web: started"]
    assert lines(c, "start web") == ["web: ERROR (already started)"]
    assert lines(c, "start flaky") == ["flaky: ERROR (spawn error)"]
    assert lines(c, "start nosuch") == ["nosuch: ERROR (no such process)"]
    assert lines(c, "signal HUP web") == ["web: signalled"]
    clock.advance(0.01)
    assert sup["web"].state.value == "EXITED"
    assert lines(c, "signal HUP web") == ["web: ERROR (not running)"]
    assert lines(c, "signal NOPE web") == ["web: ERROR (bad signal name)"]
    assert lines(c, "stop web") == ["web: ERROR (not running)"]
    assert lines(c, "restart web") == ["web: ERROR (not running)", "web: started"]
    assert lines(c, "stop web") == ["web: stopped"]
    assert lines(c, "stop") == ["Error: stop requires a process name"]
    assert lines(c, "bogus") == ["*** Unknown syntax: bogus"]


def test_stop_all_goes_by_descending_priority(ctl):
    c, sup, clock, launcher = ctl
    sup.add_program("first", command="a", priority=1)
    sup.add_program("last", command="b", priority=500)
    clock.advance(2)
    assert lines(c, "stop all") == ["last: stopped", "first: stopped"]
    assert lines(c, "start all") == ["first: started", "last: started"]


def test_pid_remove_clear_tail(ctl):
    c, sup, clock, launcher = ctl
    launcher.script("talker", Life(runs=None, output=b"hello\nworld\n"))
    sup.add_program("talker", command="x")
    clock.advance(2)
    assert lines(c, "pid") == [str(os.getpid())]
    assert lines(c, "pid talker") == [str(sup["talker"].pid)]
    assert lines(c, "pid nosuch") == ["No such process nosuch"]
    assert lines(c, "tail talker") == ["hello", "world"]
    assert lines(c, "tail -6 talker") == ["world"]
    assert lines(c, "tail talker stderr") == []
    assert lines(c, "tail talker bogus") == ["Error: bad channel 'bogus'"]
    assert lines(c, "tail -x talker") == ["Error: bad argument -x"]
    assert lines(c, "clear talker") == ["talker: cleared"]
    assert lines(c, "tail talker") == []
    assert lines(c, "remove talker") == ["ERROR: process/group still running: talker"]
    assert lines(c, "stop talker") == ["talker: stopped"]
    assert lines(c, "remove talker") == ["talker: removed process group"]
    assert lines(c, "remove talker") == ["ERROR: no such process/group: talker"]


def test_tail_follow_streams_new_output(ctl):
    c, sup, clock, launcher = ctl
    launcher.script("talker", Life(runs=None, output=b"first\n"))
    sup.add_program("talker", command="x")
    channel = sup["talker"].output_channel("stdout")
    writer = threading.Timer(0.1, channel.write, args=(b"second\n",))
    writer.start()
    out = lines(c, "tail -f talker")
    writer.join()
    assert out[0].startswith("==> Press the stop button")
    assert out[1:] == ["first", "second"]


def test_start_all_and_stop_all_go_together(ctl):
    """1,000 programs with startsecs=1 start in about one (virtual) second, not 1,000,
    as supervisord's startAllProcesses; failures are reported per program."""
    c, sup, clock, launcher = ctl
    launcher.script("flaky", Life(runs=0.2, exit=1))
    launcher.missing_commands.add("missing")
    for i in range(1000):
        sup.add_program(f"p{i:04d}", command="sleep 100", autostart=False, priority=i % 7)
    sup.add_program("flaky", command="x", autostart=False, startretries=0)
    sup.add_program("missing", command="nosuchcommand", autostart=False)
    started = clock.now()
    out = lines(c, "start all")
    assert clock.now() - started < 1.5
    assert len(out) == 1002
    assert "flaky: ERROR (spawn error)" in out and "missing: ERROR (no such file)" in out
    assert out.count("p0000: started") == 1 and out[0].endswith(": started")
    assert all(sup[f"p{i:04d}"].state.value == "RUNNING" for i in range(1000))
    assert lines(c, "start all") == [  # the others run
        "flaky: ERROR (spawn error)",
        "missing: ERROR (no such file)",
    ]
    started = clock.now()
    out = lines(c, "stop all")
    assert clock.now() - started < 0.5 and len(out) == 1000
    priorities = [int(line[1:5]) % 7 for line in out]
    assert priorities == sorted(priorities, reverse=True)  # priority 6 first, 0 last
    assert {p.state.value for p in sup.programs} <= {"STOPPED", "FATAL"}


def test_start_all_and_stop_all_in_python(sim):
    sup, clock, launcher = sim
    for name in ("a", "b"):
        sup.add_program(name, command="sleep 100", autostart=False)
    assert sup.start_all() == {"a": None, "b": None}
    assert sup.start_all() == {}  # nothing left to start
    assert sup.stop_all(["b"]) == {"b": None}
    faults = sup.stop_all(["a", "b"])
    assert faults["a"] is None and faults["b"] is not None and faults["b"].code == 70
