"""The Program mirror: observers are told of every change, as traitlets' set_trait tells
them, though the mirror writes the machine's values without re-validating them."""

from __future__ import annotations

from traitlets import All

from nbsup import ProcessState
from nbsup.testing import Life

MIRRORED = ("pid", "tries", "exitstatus", "spawnerr", "laststart", "laststop", "description")


def test_observers_of_all_traits_see_each_change_once_with_its_old_value(sim):
    sup, clock, launcher = sim
    launcher.script("x", [Life(runs=0.5, exit=3), Life(runs=None)])
    program = sup.add_program("x", command="true", autostart=False, startsecs=1)
    changes: list[tuple[str, object, object]] = []
    program.observe(lambda c: changes.append((c.name, c.old, c.new)), All)
    last = {name: getattr(program, name) for name in (*MIRRORED, "state")}
    program.start(wait=False)
    program.wait_for("RUNNING", timeout=5)
    program.stop()
    for name, old, new in changes:
        assert old != new, f"{name}: told of a change from {old!r} to itself"
        assert old == last[name], f"{name}: old value {old!r}, but it was {last[name]!r}"
        last[name] = new
    assert last == {name: getattr(program, name) for name in last}
    states = [(old.value, new.value) for name, old, new in changes if name == "state"]
    assert states == [
        ("STOPPED", "STARTING"), ("STARTING", "BACKOFF"), ("BACKOFF", "STARTING"),
        ("STARTING", "RUNNING"), ("RUNNING", "STOPPING"), ("STOPPING", "STOPPED"),
    ]  # fmt: skip
    assert changes[-1][0] == "state"  # the other traits of a transition come first


def test_the_mirrored_values_have_the_traits_types(sim):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=None))
    program = sup.add_program("x", command="true", startsecs=0)
    program.wait_for("RUNNING", timeout=5)
    program.stop()
    assert program.state is ProcessState.STOPPED
    assert isinstance(program.laststart, float) and isinstance(program.laststop, float)
    assert program.laststop >= program.laststart
    assert program.pid == 0 and program.tries == 0 and program.exitstatus == -1
    assert program.trait_values()["description"] == program.description


def test_observing_one_trait_is_told_of_that_trait_only(sim):
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=None))
    program = sup.add_program("x", command="true", autostart=False, startsecs=0)
    pids: list[tuple[int, int]] = []
    program.observe(lambda c: pids.append((c.old, c.new)), "pid")
    program.start(wait=True)
    running = program.pid
    program.stop()
    assert pids == [(0, running), (running, 0)]
