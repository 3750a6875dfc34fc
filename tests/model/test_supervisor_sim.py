"""The model (Supervisor, Program) on virtual time: the real driver and machines, a fake
clock and a fake launcher. No processes, no sleeps."""

from __future__ import annotations

import pytest

from nbsup import Fault, FaultCode, OptionError, ProcessState
from nbsup.testing import Life


def test_wait_for_fatal_follows_supervisord_schedule(sim):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.01, exit=1))
    program = sup.add_program("x", command="sh -c 'exit 1'")
    assert program.wait_for("FATAL", timeout=15) is ProcessState.FATAL
    events = program.events
    assert list(events["to_state"]) == ["STARTING", "BACKOFF"] * 4 + ["FATAL"]
    assert list(events["tries"].iloc[:8]) == [0, 1, 1, 2, 2, 3, 3, 4]
    spawns = events[events["to_state"] == "STARTING"]["elapsed"].tolist()
    assert spawns == pytest.approx([0.0, 1.01, 3.02, 6.03])
    assert program.description == "Exited too quickly (process log may have details)"
    assert program.tries == 0 and program.pid == 0


def test_observer_sees_every_transition_in_order_and_failures_are_isolated(sim):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.2, exit=0))
    seen: list[tuple[str, str, int]] = []

    def broken(change):
        raise RuntimeError("user bug")

    program = sup.add_program("x", command="true", autostart=False, startretries=0)
    program.observe(broken, "state")
    program.observe(lambda c: seen.append((c.old.value, c.new.value, program.tries)), "state")
    program.start()
    program.wait_for("FATAL", timeout=5)
    assert seen == [("STOPPED", "STARTING", 0), ("STARTING", "BACKOFF", 1), ("BACKOFF", "FATAL", 0)]


def test_bad_option_changes_nothing(sim):
    sup, clock, launcher = sim
    sup.add_program("x", command="sleep 100")
    before = sup["x"].options
    with pytest.raises(OptionError, match=r"startsecs=abc: expected a number"):
        sup.add_program("x", command="sleep 1", startsecs="abc")
    assert sup["x"].options is before
    assert sup["x"].state is ProcessState.STARTING
    assert len(sup) == 1


def test_start_wait_reports_spawn_error(sim):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.1, exit=0))
    program = sup.add_program("x", command="true", autostart=False)
    with pytest.raises(Fault) as caught:
        program.start(wait=True)
    assert caught.value.code is FaultCode.SPAWN_ERROR
    with pytest.raises(Fault) as again:
        program.start()
    assert again.value.code is FaultCode.ALREADY_STARTED


def test_replacing_a_running_program_stops_it_first(sim):
    sup, clock, launcher = sim
    first = sup.add_program("x", command="sleep 100")
    clock.advance(2)
    second = sup.add_program("x", command="sleep 200", startsecs=3)
    assert second is first
    clock.advance(0.01)
    states = list(first.events["to_state"])
    assert states == ["STARTING", "RUNNING", "STOPPING", "STOPPED", "STARTING"]
    assert first.options.command == "sleep 200"


def test_shutdown_stops_by_descending_priority(sim):
    sup, clock, launcher = sim
    sup.add_program("low", command="a", priority=1)
    sup.add_program("high", command="b", priority=900)
    clock.advance(2)
    assert sup.shutdown(timeout=30)
    stops = sup.events[sup.events["to_state"] == "STOPPING"]["program"].tolist()
    assert stops == ["high", "low"]
    assert all(p.state is ProcessState.STOPPED for p in sup)
