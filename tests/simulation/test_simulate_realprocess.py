"""simulate() against a real ``nbsup.Supervisor`` running real processes: same scenario,
identical transition sequences (and log messages, pids aside); explain() gives both runs
the same edges. Waits block on transitions, never on sleeps."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import nbsup
from nbsup import ProcessState
from nbsup.simulation import explain, simulate

pytestmark = pytest.mark.realprocess

TOLERANCE = 0.1  # seconds: a real backoff restart is a few ms late; generous under load


def rows(frame: pd.DataFrame) -> list[tuple[str, str, int | None, bool | None]]:
    return [
        (
            str(r.from_state),
            str(r.to_state),
            None if pd.isna(r.tries) else int(r.tries),
            None if pd.isna(r.expected) else bool(r.expected),
        )
        for r in frame.itertuples()
    ]


def pidless(frame: pd.DataFrame) -> list[str]:
    return [re.sub(r"pid \d+", "pid N", str(m)) for m in frame["message"]]


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[nbsup.Supervisor]:
    supervisor = nbsup.Supervisor(state_dir=str(tmp_path / "state"))
    try:
        yield supervisor
    finally:
        assert supervisor.shutdown(15)


def wait_until(program: nbsup.Program, predicate: Callable[[], bool], timeout: float) -> None:
    """Block until ``predicate()`` holds, checked at each of ``program``'s transitions."""
    done = threading.Event()

    def check(_change: object = None) -> None:
        if predicate():
            done.set()

    program.observe(check, "state")
    check()
    try:
        assert done.wait(timeout), f"{program.name} is {program.state.value}"
    finally:
        program.unobserve(check, "state")


def same_run(real: pd.DataFrame, simulated: pd.DataFrame, **options: object) -> None:
    assert rows(real) == rows(simulated)
    assert pidless(real) == pidless(simulated)
    ours = explain(real, with_edge=True, **options)
    theirs = explain(simulated, with_edge=True, **options)
    assert list(ours["edge"]) == list(theirs["edge"])
    # every BACKOFF -> STARTING is `tries` seconds late, give or take the real world's ms
    real_t = list(real["elapsed"])
    for i, row in enumerate(rows(real)):
        if row[:2] == ("BACKOFF", "STARTING"):
            assert abs(real_t[i] - real_t[i - 1] - row[2]) < TOLERANCE  # type: ignore[operator]


def test_early_exits_until_fatal(sup: nbsup.Supervisor) -> None:
    options = {"startretries": 1}
    program = sup.add_program("x", command="sh -c 'exit 1'", **options)
    program.wait_for("FATAL", timeout=10)
    same_run(program.events, simulate("crash-immediately", **options), **options)


def test_exit_after_startsecs_is_expected(sup: nbsup.Supervisor) -> None:
    options = {"startsecs": 0.1}
    program = sup.add_program("x", command="sh -c 'sleep 0.3; exit 0'", **options)
    program.wait_for("EXITED", timeout=10)
    same_run(program.events, simulate("exit0-after:0.3", **options), **options)


def test_stop_in_backoff_then_start_keeps_the_counter(sup: nbsup.Supervisor) -> None:
    options = {"startretries": 2}
    program = sup.add_program("x", command="sh -c 'exit 1'", **options)
    wait_until(program, lambda: program.state is ProcessState.BACKOFF and program.tries == 2, 10)
    program.stop()
    program.start()
    program.wait_for("FATAL", timeout=10)
    simulated = simulate("crash-immediately", actions=[(1.5, "stop"), (2, "start")], **options)
    same_run(program.events, simulated, **options)
    assert rows(simulated)[5] == ("STOPPED", "STARTING", 2, None)


def test_signal_death_is_unexpected_then_stop(sup: nbsup.Supervisor) -> None:
    options = {"startsecs": 0.2, "restartpause": 0.2}
    program = sup.add_program("x", command="sleep 30", **options)
    program.wait_for("RUNNING", timeout=10)
    program.signal("HUP")
    wait_until(program, lambda: list(program.events["to_state"]).count("RUNNING") == 2, 10)
    program.stop()
    simulated = simulate(
        "never-exits", actions=[(1, "signal", "SIGHUP"), (3, "stop")], until=10, **options
    )
    same_run(program.events, simulated, **options)
