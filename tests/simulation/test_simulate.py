"""``nbsup.simulation.simulate``: the real driver and machine on virtual time.

Checked against supervisord's reference traces (copied into ``scenarios/``), against the
same wiring as ``tests/conftest.py``, and for its presets, behaviours, actions, limits and
speed. Real processes are in ``test_simulate_realprocess.py``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from nbsup import OptionError
from nbsup.eventlog import COLUMNS, DTYPES
from nbsup.simulation import simulate
from nbsup.simulation.simulate import EPOCH
from nbsup.testing import Life

SCENARIOS = Path(__file__).parent / "scenarios"

#: How each reference program behaves, as a simulate() behaviour.
BEHAVIOURS = {
    "exit1_defaults": "crash-immediately",  # sh -c 'exit 1'
    "flap_exit0_startsecs0": "exit0-after:0.005",  # sh -c 'exit 0'
    "sleep05_exit0_in_starting": "exit0-after:0.5",  # sh -c 'sleep 0.5; exit 0'
    "sleep2_exit0_expected": "exit0-after:2",
    "sleep2_exit1_unexpected": "crash-after:2",
    "stop_ignores_term_asgroup": "ignores-term",  # sh -c 'trap "" TERM; sleep 100'
}


def rows(frame: pd.DataFrame) -> list[tuple[str, str, int | None, bool | None]]:
    """(from, to, tries, expected) per transition."""
    return [
        (
            str(r.from_state),
            str(r.to_state),
            None if pd.isna(r.tries) else int(r.tries),
            None if pd.isna(r.expected) else bool(r.expected),
        )
        for r in frame.itertuples()
    ]


def pidless(message: str) -> str:
    return re.sub(r"\(\d+\)", "(N)", re.sub(r"pid \d+", "pid N", message))


def load(name: str) -> dict:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


# --------------------------------------------------------------------------- reference traces


def test_every_reference_trace_has_a_behaviour() -> None:
    assert sorted(p.stem for p in SCENARIOS.glob("*.json")) == sorted(BEHAVIOURS)


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_reference_trace(name: str) -> None:
    scenario = load(name)
    trace = [row for row in scenario["trace"] if row["phase"] == "run"]
    t0 = trace[0]["t"]
    actions = [(a["at"] - t0, a["action"]) for a in scenario["actions"]]
    frame = simulate(BEHAVIOURS[name], actions=actions, until=60, **scenario["options"])
    got = frame.iloc[: len(trace)]

    def theirs_expected(r: dict) -> bool | None:
        if r["to_state"] == "EXITED":
            return bool(r["expected"])
        # nbsup marks a BACKOFF caused by an exit as not expected; supervisord's event has no field
        return False if r["to_state"] == "BACKOFF" and "exited:" in r["message"] else None

    assert rows(got) == [
        (r["from_state"], r["to_state"], r["tries"], theirs_expected(r)) for r in trace
    ]
    assert [pidless(m) for m in got["message"]] == [pidless(r["message"]) for r in trace]
    # a retry comes exactly `tries` seconds after its BACKOFF (supervisord: a few ms late)
    ours, theirs = list(got["elapsed"]), [r["t"] - t0 for r in trace]
    for i, r in enumerate(trace):
        if (r["from_state"], r["to_state"]) == ("BACKOFF", "STARTING"):
            assert ours[i] == ours[i - 1] + r["tries"]
            assert r["tries"] <= theirs[i] - theirs[i - 1] < r["tries"] + 0.05
    # a trace that ends at rest: the default run ends there too, with nothing more
    if trace[-1]["to_state"] in ("FATAL", "STOPPED") or trace[-1]["expected"] == 1:
        whole = simulate(BEHAVIOURS[name], actions=actions, **scenario["options"])
        assert rows(whole) == rows(got)


def test_exit1_defaults_times_are_exact() -> None:
    frame = simulate("crash-immediately")
    assert list(frame["elapsed"]) == pytest.approx(
        [0, 0.01, 1.01, 1.02, 3.02, 3.03, 6.03, 6.04, 6.04], abs=1e-12
    )
    starts = frame[frame["to_state"] == "STARTING"]
    assert list(starts["tries"]) == [0, 1, 2, 3]


def test_same_as_the_simulated_supervisor_of_the_test_suite(sim) -> None:
    """simulate() is the conftest wiring (Supervisor + InlineRunner + FakeClock/Launcher)."""
    lives = [Life(runs=0.3, exit=1), Life(runs=2.0, exit=1), Life(runs=None)]
    options = {"startsecs": 1, "startretries": 2, "restartpause": 0.5}
    sup, clock, launcher = sim
    launcher.script("x", lives)
    program = sup.add_program("x", command="simulated", **options)
    clock.advance(5)
    program.stop()
    clock.advance(20)
    theirs = program.events
    ours = simulate(lives, actions=[(5, "stop")], until=25, **options)
    columns = ["elapsed", "from_state", "to_state", "pid", "tries", "exitstatus", "signal"]
    pd.testing.assert_frame_equal(ours[columns], theirs[columns])
    assert list(ours["message"]) == list(theirs["message"])


# --------------------------------------------------------------------------- the frame


def test_frame_has_the_event_log_schema_and_virtual_times() -> None:
    frame = simulate("crash-after:2", until=10)
    assert list(frame.columns) == list(COLUMNS)
    for column, dtype in DTYPES.items():
        assert frame[column].dtype == dtype, column
    assert (frame["time"] == EPOCH + pd.to_timedelta(frame["elapsed"], unit="s")).all()
    assert frame["time"].iloc[2] == pd.Timestamp("2000-01-01 00:00:02", tz="UTC")
    assert set(frame["program"]) == {"x"} and set(frame["group"]) == {"x"}
    assert set(simulate("never-exits", name="web")["program"]) == {"web"}


# --------------------------------------------------------------------------- presets


def test_preset_crash_after_in_starting_and_after_startsecs() -> None:
    early = simulate("crash-after:0.5", startretries=1)
    assert rows(early) == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, False),
        ("BACKOFF", "FATAL", None, None),
    ]
    late = simulate("crash-after:0.5", startsecs=0.2, until=3)
    assert rows(late)[:4] == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 0, None),
    ]
    assert list(late["elapsed"])[:4] == [0, 0.2, 0.5, 1.5]


def test_preset_exit0_after_stays_exited() -> None:
    frame = simulate("exit0-after:5")
    assert rows(frame) == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, True),
    ]
    assert frame["elapsed"].iloc[-1] == 5
    assert rows(simulate("exit3-after:2", exitcodes="0,3"))[-1] == ("RUNNING", "EXITED", None, True)


def test_preset_never_exits_runs_to_the_horizon() -> None:
    assert rows(simulate("never-exits")) == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
    ]


def test_preset_spawn_error() -> None:
    frame = simulate("spawn-error", command="/no/such/cmd --flag", startretries=1)
    assert rows(frame) == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, None),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, None),
        ("BACKOFF", "FATAL", None, None),
    ]
    assert frame["message"].iloc[1] == "spawnerr: can't find command '/no/such/cmd'"
    assert frame["pid"].isna().all() and list(frame["elapsed"]) == [0, 0, 1, 1, 1]
    # a start request for a command that cannot be found is refused (NO_FILE), as in supervisord
    again = simulate("spawn-error", actions=[(30, "start")])
    assert len(again) == len(simulate("spawn-error"))
    assert again.attrs["refused"] == [
        {"at": 30.0, "action": "start", "fault": "NO_FILE: can't find command 'simulated'"}
    ]


def test_preset_ignores_term_needs_sigkill() -> None:
    frame = simulate("ignores-term", actions=[(3, "stop")], stopwaitsecs=4)
    assert [str(s) for s in frame["to_state"]] == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]
    assert list(frame["elapsed"]) == [0, 1, 3, 7]
    assert frame["signal"].iloc[-1] == "SIGKILL" and frame["exitstatus"].iloc[-1] == -1


# --------------------------------------------------------------------------- behaviours


def test_list_callable_life_and_signal_deaths() -> None:
    expected = [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, False),
        ("BACKOFF", "STARTING", 2, None),
        ("STARTING", "RUNNING", None, None),
    ]
    assert rows(simulate([(0.1, 1), (0.2, "SIGSEGV"), (None, 0)])) == expected
    assert rows(simulate(lambda n: (0.1, 1) if n < 3 else "never-exits")) == expected
    assert rows(simulate([Life(runs=0.1, exit=1), "crash-after:0.2", Life()])) == expected
    killed = simulate((2, "SEGV"), autorestart=False)
    assert killed["signal"].iloc[-1] == "SIGSEGV" and killed["exitstatus"].iloc[-1] == -1
    assert killed["message"].iloc[-1] == "exited: x (terminated by SIGSEGV; not expected)"


def test_callable_is_called_once_per_attempt() -> None:
    calls: list[int] = []

    def behaviour(attempt: int) -> tuple[float, int]:
        calls.append(attempt)
        return (0.1, 1)

    simulate(behaviour, actions=[(1.5, "stop"), (2, "start")])
    assert calls == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "behaviour",
    ["explode", "crash-after:soon", (-1, 0), (1, 256), (1, "SIGNOPE"), [], [(1, 0), 5], (1,)],
)
def test_bad_behaviour_is_a_value_error(behaviour: object) -> None:
    with pytest.raises(ValueError, match="behaviour"):
        simulate(behaviour)  # type: ignore[arg-type]


def test_bad_options_raise_option_error_before_anything() -> None:
    with pytest.raises(OptionError, match="startsecs"):
        simulate("crash-immediately", startsecs="abc")
    with pytest.raises(OptionError, match="did you mean 'startsecs'"):
        simulate("crash-immediately", startsec=1)
    with pytest.raises(OptionError):
        simulate("crash-immediately", name="bad name")


# --------------------------------------------------------------------------- actions


def test_stop_in_backoff_then_start_keeps_the_counter() -> None:
    frame = simulate("crash-immediately", actions=[(1.5, "stop"), (2, "start")])
    assert rows(frame) == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, False),
        ("BACKOFF", "STOPPED", None, None),
        ("STOPPED", "STARTING", 2, None),
        ("STARTING", "BACKOFF", 3, False),
        ("BACKOFF", "STARTING", 3, None),
        ("STARTING", "BACKOFF", 4, False),
        ("BACKOFF", "FATAL", None, None),
    ]
    assert frame["pid"].iloc[4] == 0
    assert list(frame["elapsed"])[4:] == [1.5, 2, 2.01, 5.01, 5.02, 5.02]


def test_stop_in_starting_and_signals() -> None:
    stopped = simulate("never-exits", actions=[(0.5, "stop")])
    assert [str(s) for s in stopped["to_state"]] == ["STARTING", "STOPPING", "STOPPED"]
    hup = simulate("never-exits", actions=[(3, "signal", "HUP")], until=10)
    assert rows(hup)[:5] == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
    ]
    assert hup["message"].iloc[2] == "exited: x (terminated by SIGHUP; not expected)"
    ignored = simulate((None, 0, ["SIGHUP", "SIGUSR1"]), actions=[(3, "signal", "SIGHUP")])
    assert len(ignored) == 2


def test_refused_actions_are_listed_and_change_nothing() -> None:
    frame = simulate(
        "crash-immediately",
        actions=[(30, "stop"), (31, "signal", "HUP"), (32, "signal", "NOPE"), (40, "start")],
        until=50,
    )
    assert frame.attrs["refused"] == [
        {"at": 30.0, "action": "stop", "fault": "NOT_RUNNING: x"},
        {"at": 31.0, "action": "signal", "fault": "NOT_RUNNING: x"},
        {"at": 32.0, "action": "signal", "fault": "BAD_SIGNAL: x"},
    ]
    assert str(frame["from_state"].iloc[9]) == "FATAL" and frame["elapsed"].iloc[9] == 40


def test_autostart_false_waits_for_a_start() -> None:
    assert simulate("never-exits", autostart=False).empty
    frame = simulate("never-exits", autostart=False, actions=[(5, "start")])
    assert list(frame["elapsed"]) == [5, 6]


@pytest.mark.parametrize(
    "actions",
    [[(1, "restart")], [(-1, "stop")], [(1,)], ["stop"], [(1, "signal")], [("x", "stop")]],
)
def test_bad_actions_are_value_errors(actions: list) -> None:
    with pytest.raises(ValueError, match="actions"):
        simulate("never-exits", actions=actions)


# --------------------------------------------------------------------------- until and limits


def test_until_is_exact_and_later_actions_are_skipped() -> None:
    frame = simulate("crash-after:2", until=4.5, actions=[(5, "stop")])
    assert frame["elapsed"].max() <= 4.5
    assert "STOPPING" not in set(frame["to_state"])
    assert (
        rows(simulate("crash-immediately", until=1.015)) == rows(simulate("crash-immediately"))[:3]
    )


def test_default_until_waits_for_the_actions_then_rest() -> None:
    frame = simulate("crash-immediately", actions=[(100, "start")])
    assert frame["elapsed"].iloc[9] == 100
    assert str(frame["to_state"].iloc[-1]) == "FATAL"
    assert len(frame) == 18


def test_restarting_without_time_passing_stops_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning, match="max_transitions"):
        frame = simulate((0, 0), startsecs=0, autorestart=True, restartpause=0, max_transitions=999)
    assert len(frame) == 999 and frame["elapsed"].max() == 0


def test_ten_thousand_transitions_in_well_under_a_second() -> None:
    options = {"startsecs": 0, "autorestart": True, "restartpause": 0}
    simulate("crash-immediately", until=1, **options)  # warm up imports
    wall, cpu = time.perf_counter(), time.process_time()
    frame = simulate("crash-immediately", until=33.34, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"[measure] simulate: {len(frame)} transitions in {wall:.3f} s ({cpu:.3f} s CPU)")
    assert len(frame) >= 10_000
    assert cpu < 2.0
