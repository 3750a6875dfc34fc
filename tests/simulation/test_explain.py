"""``nbsup.simulation.explain``: one test per edge of semantics.md §5 (T1-T15, T8, T10b),
then the frame contract: a copy, options per program, missing values, imported traces."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sim_support import simulated_supervisor

from nbsup import OptionError
from nbsup.core.record import EventRecord
from nbsup.eventlog import frame_from_records
from nbsup.simulation import explain, simulate
from nbsup.testing import Life

SCENARIOS = Path(__file__).parent / "scenarios"


def reasons(frame: pd.DataFrame, **options: object) -> list[tuple[str, str, str, str]]:
    """(from, to, edge, reason) per row."""
    out = explain(frame, with_edge=True, **options)
    return [
        (str(r.from_state), str(r.to_state), str(r.edge), str(r.reason)) for r in out.itertuples()
    ]


def the(frame: pd.DataFrame, edge: str, **options: object) -> list[str]:
    """The reasons of the rows that took ``edge``."""
    found = [r for _, _, e, r in reasons(frame, **options) if e == edge]
    assert found, f"no {edge} row in {reasons(frame, **options)}"
    return found


def record(from_state: str, to_state: str, t: float, **values: object) -> EventRecord:
    fields = {"pid": None, "tries": None, "exitstatus": None, "signal": None, "expected": None}
    fields.update(values)
    message = str(fields.pop("message", ""))
    return EventRecord(
        time=1_800_000_000.0 + t, elapsed=t, program="x", group="x", from_state=from_state,
        to_state=to_state, message=message, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


# --------------------------------------------------------------------------- edges


def test_t1_autostart() -> None:
    assert the(simulate("never-exits"), "T1") == [
        "autostart=true: started as soon as the program was added"
    ]


def test_t2_start_requests() -> None:
    by_hand = simulate("never-exits", autostart=False, actions=[(2, "start")])
    assert the(by_hand, "T2", autostart=False) == ["started by request"]
    after_fatal = simulate("crash-immediately", actions=[(10, "start")], until=11)
    assert "after FATAL: the failure counter starts again at 0" in the(after_fatal, "T2")[0]
    after_backoff = simulate("crash-immediately", actions=[(1.5, "stop"), (2, "start")])
    assert the(after_backoff, "T2") == [
        "started by request after a stop in BACKOFF: the failure counter (2) survived the "
        "stop, so 2 more failed starts lead to FATAL"
    ]
    after_exit = simulate("exit0-after:2", actions=[(3, "start")], until=4)
    assert "autorestart=unexpected does not restart this exit" in the(after_exit, "T2")[0]


def test_t3_autorestart() -> None:
    true = simulate("crash-after:2", autorestart=True, until=4)
    assert the(true, "T3", autorestart=True) == [
        "autorestart=true: restarted 1 s after the exit (restartpause)"
    ]
    unexpected = simulate("crash-after:2", restartpause=0.5, until=4)
    assert the(unexpected, "T3", restartpause=0.5)[0] == (
        "autorestart=unexpected and exit code 1 is not in exitcodes=0: restarted 0.5 s after "
        "the exit (restartpause)"
    )
    killed = simulate((2, "SIGSEGV"), until=4)
    assert "a death by SIGSEGV is never expected" in the(killed, "T3")[0]


def test_t4_backoff_retries() -> None:
    t4 = the(simulate("crash-immediately"), "T4")
    assert t4[1] == (
        "retry 2 of 3: next start 2 s after the 2nd failure (backoff grows 1 s, 2 s, 3 s...)"
    )
    assert [r.split(":")[0] for r in t4] == ["retry 1 of 3", "retry 2 of 3", "retry 3 of 3"]
    exponential = simulate("crash-immediately", backoff="exponential", startretries=4)
    assert (
        "next start 4 s after the 3rd failure (exponential backoff: 1 s, 2 s, 4 s... up to "
        "backoffmax=60 s)" in the(exponential, "T4", backoff="exponential", startretries=4)[2]
    )


def test_t5_spawn_error() -> None:
    reasons_ = the(simulate("spawn-error", command="/no/such/cmd"), "T5")
    assert reasons_[0] == (
        "the spawn failed (can't find command '/no/such/cmd'): a spawn error counts as a failed "
        "start; failure 1 of at most 4: the next start comes 1 s later"
    )
    assert reasons_[-1].endswith(
        "failure 4: no retries left (startretries=3), so it gives up (FATAL)"
    )
    assert the(simulate("spawn-error"), "T1")[0].endswith(
        "the spawn itself failed at once (next row)"
    )


def test_t6_started() -> None:
    assert the(simulate("never-exits"), "T6") == [
        "stayed up 1.00 s ≥ startsecs=1: started successfully"
    ]
    retried = simulate([(0.1, 1), (None, 0)])
    assert the(retried, "T6")[0].endswith("; the failure counter (1) resets to 0")


def test_t7_exited_too_quickly() -> None:
    t7 = the(simulate("crash-after:0.31"), "T7")
    assert t7[0].startswith(
        "exited after 0.31 s, before startsecs=1: counts as a failed start whatever the exit "
        "code (this is the 'Exited too quickly' case); exit status 1"
    )
    expected_code = the(simulate("exit0-after:0.5", startretries=0), "T7", startretries=0)[0]
    assert "exit status 0 (in exitcodes, but that only counts after startsecs)" in expected_code


def test_t8_exit_during_starting_counts_as_started() -> None:
    frame = simulate((0, 1), startsecs=0, until=0.5)
    assert the(frame, "T8", startsecs=0)[0].startswith(
        "exited after 0.00 s with startsecs=0: an exit is never too quick, so it counts as "
        "started (RUNNING, without a 'success:' line)"
    )
    at_the_boundary = simulate((1, 0), startsecs=1)
    assert "not before startsecs=1" in the(at_the_boundary, "T8")[0]


def test_t9_exits_from_running() -> None:
    assert the(simulate("exit0-after:5"), "T9") == [
        "exited after 5.00 s: exit code 0 is in exitcodes, and autorestart=unexpected only "
        "restarts unexpected exits"
    ]
    assert the(simulate("crash-after:2", until=3), "T9")[0].endswith(
        "exit code 1 is not in exitcodes=0, and autorestart=unexpected restarts it after "
        "restartpause=1 s"
    )
    never = simulate("crash-after:2", autorestart=False)
    assert the(never, "T9", autorestart=False)[0].endswith(
        "autorestart=false never restarts: it stays EXITED"
    )
    hup = simulate("never-exits", actions=[(2, "signal", "HUP")], until=3)
    assert "SIGHUP killed it: a signal death is never expected" in the(hup, "T9")[0]


def test_t10_gave_up() -> None:
    assert the(simulate("crash-immediately"), "T10") == [
        "gave up after 4 failed starts (startretries=3 allows 3 retries)"
    ]
    assert the(simulate("crash-immediately", startretries=0), "T10", startretries=0) == [
        "gave up after 1 failed start (startretries=0 allows 0 retries)"
    ]
    # the options given are not the program's: the log says otherwise, and explain says so
    assert (
        "startretries was 1, not the 3 assumed here"
        in the(simulate("crash-immediately", startretries=1), "T10")[0]
    )


def test_t10b_fatal_at_shutdown(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.01, exit=1))
    sup.add_program("x", command="c", startretries=10)
    clock.advance(2)
    sup.shutdown()
    assert the(sup.events, "T10b", startretries=10) == [
        "the supervisor shut down while the program waited in BACKOFF: it gives up at once "
        "(FATAL, with no log line), after 2 failed starts"
    ]


def test_t11_stop_requested() -> None:
    running = simulate("never-exits", actions=[(3, "stop")])
    assert the(running, "T11") == [
        "a stop was requested: SIGTERM (stopsignal) sent to the process group; SIGKILL follows "
        "if it still runs after stopwaitsecs=10 s"
    ]
    starting = simulate("never-exits", actions=[(0.5, "stop")], stopasgroup=False, stopsignal="INT")
    assert the(starting, "T11", stopasgroup=False, stopsignal="INT") == [
        "a stop was requested: SIGINT (stopsignal) sent to the process; SIGKILL follows if it "
        "still runs after stopwaitsecs=10 s; a stop during STARTING is not a failed start "
        "(no BACKOFF)"
    ]


def test_t12_sigkill_escalation_row() -> None:
    # nbsup records no row for T12; an imported log may (supervisord's "killing 'x' ... SIGKILL")
    frame = frame_from_records([
        record("RUNNING", "STOPPING", 3.0, signal="SIGTERM"),
        record("STOPPING", "STOPPING", 13.0, signal="SIGKILL"),
        record("STOPPING", "STOPPED", 13.0, signal="SIGKILL", exitstatus=-1),
    ])  # fmt: skip
    assert the(frame, "T12") == [
        "still running stopwaitsecs=10 s after SIGTERM: SIGKILL sent (again every stopwaitsecs "
        "until it dies)"
    ]


def test_t13_stopped() -> None:
    ignored = simulate("ignores-term", actions=[(3, "stop")])
    assert the(ignored, "T13") == [
        "SIGKILL after stopwaitsecs=10 s because the process ignored SIGTERM; autorestart never "
        "applies to a stop"
    ]
    obeyed = simulate("never-exits", actions=[(3, "stop")])
    assert the(obeyed, "T13")[0].startswith("SIGTERM ended it after 0.00 s (the stop signal)")
    handled = frame_from_records([
        record("RUNNING", "STOPPING", 3.0, signal="SIGINT"),
        record("STOPPING", "STOPPED", 3.08, exitstatus=0),
    ])  # fmt: skip
    assert the(handled, "T13")[0].startswith(
        "it handled SIGINT and exited with exit code 0 after 0.08 s: an exit while stopping is "
        "STOPPED, whatever the code"
    )


def test_t14_stop_in_backoff() -> None:
    frame = simulate("crash-immediately", actions=[(1.5, "stop")])
    assert the(frame, "T14")[0].startswith(
        "stopped by request while in BACKOFF: the failure counter (2) is kept"
    )


def test_t15_unknown() -> None:
    frame = frame_from_records([
        record("STOPPED", "STARTING", 0.0, tries=0, pid=10),
        record("STARTING", "RUNNING", 1.0, pid=10),
        record("RUNNING", "UNKNOWN", 2.0, message="unknown problem killing x (10):Traceback"),
    ])  # fmt: skip
    assert the(frame, "T15")[0].startswith(
        "a signal could not be sent (an error other than 'no such process')"
    )


def test_every_edge_is_named() -> None:
    frame = pd.concat(
        [simulate("crash-immediately", actions=[(1.5, "stop"), (2, "start")]),
         simulate("ignores-term", actions=[(3, "stop")])], ignore_index=True,
    )  # fmt: skip
    out = explain(frame, with_edge=True)
    assert out["edge"].str.fullmatch(r"T\d+b?").all()
    assert not out["reason"].str.contains("not a supervisord transition").any()


# --------------------------------------------------------------------------- the frame


def test_returns_a_copy_and_never_modifies_the_input() -> None:
    frame = simulate("crash-immediately")
    before = frame.copy()
    out = explain(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(out.columns) == [*frame.columns, "reason"]
    assert out["reason"].dtype == "string" and out["reason"].notna().all()
    assert "edge" not in out.columns
    pd.testing.assert_frame_equal(out.drop(columns="reason"), frame)


def test_keeps_the_index_and_handles_empty_frames() -> None:
    frame = simulate("crash-immediately").iloc[3:].set_axis(range(100, 106))
    out = explain(frame)
    assert list(out.index) == list(frame.index)
    assert explain(simulate("never-exits", autostart=False))["reason"].empty


def test_options_by_program() -> None:
    one = simulate("crash-immediately", name="one", startretries=1)
    two = simulate("crash-immediately", name="two", startretries=2, startsecs=2)
    frame = pd.concat([one, two], ignore_index=True).sort_values("elapsed", kind="stable")
    out = explain(frame, options_by_program={"one": {"startretries": 1}, "two": two_options()})
    fatal = out[out["to_state"] == "FATAL"].set_index("program")["reason"]
    assert fatal["one"] == "gave up after 2 failed starts (startretries=1 allows 1 retry)"
    assert fatal["two"] == "gave up after 3 failed starts (startretries=2 allows 2 retries)"
    assert "before startsecs=2" in out[out["program"] == "two"]["reason"].iloc[1]


def two_options():
    from nbsup.simulation.explain import program_options

    return program_options({"startretries": 2, "startsecs": 2})


def test_works_with_missing_values() -> None:
    frame = simulate("crash-immediately", actions=[(1.5, "stop"), (2, "start")])
    frame["elapsed"] = float("nan")  # only the times remain
    for column in ("pid", "tries", "exitstatus", "expected"):
        frame[column] = pd.NA
    out = reasons(frame)
    assert [edge for _, _, edge, _ in out] == [
        "T1", "T7", "T4", "T7", "T14", "T2", "T7", "T4", "T7", "T10"
    ]  # fmt: skip
    assert out[1][3].startswith("exited after 0.01 s, before startsecs=1")
    assert "retry 2 of 3" in out[7][3] or "retry 3 of 3" in out[7][3]
    bare = frame[["from_state", "to_state"]]  # only the states
    assert [edge for _, _, edge, _ in reasons(bare)] == [
        "T1", "T7", "T4", "T7", "T14", "T2", "T7", "T4", "T7", "T10"
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.json")))
def test_a_supervisord_trace_takes_the_edges_of_its_simulation(name: str) -> None:
    from test_simulate import BEHAVIOURS

    scenario = json.loads((SCENARIOS / f"{name}.json").read_text())
    trace = pd.DataFrame([r for r in scenario["trace"] if r["phase"] == "run"])
    trace = trace.rename(columns={"t": "elapsed"})  # no pid, exitstatus, signal columns
    t0 = trace["elapsed"].iloc[0]
    actions = [(a["at"] - t0, a["action"]) for a in scenario["actions"]]
    simulated = simulate(BEHAVIOURS[name], actions=actions, until=60, **scenario["options"])
    theirs = explain(trace, with_edge=True, **scenario["options"])
    ours = explain(simulated.iloc[: len(trace)], with_edge=True, **scenario["options"])
    assert list(theirs["edge"]) == list(ours["edge"])
    if name == "exit1_defaults":  # supervisord's ms of lateness are shown, with the nominal
        assert "next start 1.005 s (nominal 1 s) after the 1st failure" in theirs["reason"][2]


def test_bad_input() -> None:
    with pytest.raises(OptionError):
        explain(simulate("never-exits"), startsecs="soon")
    with pytest.raises(ValueError, match="from_state"):
        explain(pd.DataFrame({"to_state": ["STARTING"]}))


def test_explains_ten_thousand_rows_quickly() -> None:
    import time

    frame = simulate("crash-immediately", startsecs=0, autorestart=True, restartpause=0, until=34)
    started = time.process_time()
    out = explain(frame, startsecs=0, autorestart=True, restartpause=0)
    took = time.process_time() - started
    print(f"[measure] explain: {len(out)} rows in {took:.3f} s CPU")
    assert took < 2.0


# --------------------------------------------------------------------------- records path


@pytest.mark.parametrize(
    "options",
    [
        {"startsecs": 1},
        {"startsecs": 0, "autorestart": "true", "restartpause": 0.5},
        {"startsecs": 2, "startretries": 1, "stopsignal": "INT"},
    ],
)
def test_explain_records_gives_the_frames_reasons(options: dict[str, object]) -> None:
    """The cards' fast path (records, no DataFrame) says exactly what ``explain`` says."""
    from nbsup.simulation.explain import explain_records, program_options

    sup, clock, launcher = simulated_supervisor()
    launcher.script("x", [Life(runs=0.3, exit=1), Life(runs=5, exit=0), Life()])
    program = sup.add_program("x", command="run", **options)
    clock.advance(30)
    if program.state.value in ("RUNNING", "STARTING", "BACKOFF"):
        program.stop(wait=False)
        clock.advance(30)
    records = program.records()
    assert len(records) >= 5
    frame = frame_from_records(records)
    expected = [str(r) for r in explain(frame, **options)["reason"]]
    assert explain_records(records, program_options(options)) == expected
    assert explain_records(records, sup.options("x")) == expected
