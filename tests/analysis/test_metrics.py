"""nbsup.analysis.metrics: known answers on hand-built frames, a simulated supervisor run,
and property tests (pure, never raises) on random frames of the event-log schema."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsup.analysis import metrics
from nbsup.core.backoff import ExponentialBackoff
from nbsup.core.record import COLUMNS
from nbsup.eventlog import DTYPES, empty_frame, frame_from_columns
from nbsup.testing import Life

T0 = 1_800_000_000.0
STATES = list(metrics.STATES)


def stamp(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + seconds, unit="s", tz="UTC")


def events(*rows: tuple[Any, ...], elapsed: bool = True) -> pd.DataFrame:
    """A frame from ``(t, program, from_state, to_state[, extras])`` rows; ``time`` is
    T0 + t and ``elapsed`` is t (NaN with ``elapsed=False``)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for t, program, old, new, *more in rows:
        extra = more[0] if more else {}
        values = {
            "time": T0 + t,
            "elapsed": t if elapsed else math.nan,
            "program": program,
            "group": program,
            "from_state": old,
            "to_state": new,
            "pid": None,
            "tries": None,
            "exitstatus": None,
            "signal": None,
            "expected": None,
            "message": "",
        }
        values.update(extra)
        for name in COLUMNS:
            columns[name].append(values[name])
    return frame_from_columns(columns)


def crash_loop() -> list[tuple[Any, ...]]:
    """``x`` fails before startsecs 4 times (retries 0.1 s late), then FATAL."""
    bad = {"tries": 1, "exitstatus": 1, "expected": False}
    return [
        (0.0, "x", "STOPPED", "STARTING", {"tries": 0}),
        (0.1, "x", "STARTING", "BACKOFF", bad),
        (1.2, "x", "BACKOFF", "STARTING", {"tries": 1}),
        (1.3, "x", "STARTING", "BACKOFF", {**bad, "tries": 2}),
        (3.4, "x", "BACKOFF", "STARTING", {"tries": 2}),
        (3.5, "x", "STARTING", "BACKOFF", {**bad, "tries": 3}),
        (6.6, "x", "BACKOFF", "STARTING", {"tries": 3}),
        (6.7, "x", "STARTING", "BACKOFF", {**bad, "tries": 4}),
        (7.7, "x", "BACKOFF", "FATAL"),
    ]


def service() -> list[tuple[Any, ...]]:
    """``y`` runs, crashes at 11 (autorestart), is stopped at 20, started again at 30."""
    return [
        (0.0, "y", "STOPPED", "STARTING", {"tries": 0}),
        (1.0, "y", "STARTING", "RUNNING"),
        (11.0, "y", "RUNNING", "EXITED", {"exitstatus": 2, "expected": False}),
        (11.0, "y", "EXITED", "STARTING", {"tries": 0}),
        (12.0, "y", "STARTING", "RUNNING"),
        (20.0, "y", "RUNNING", "STOPPING", {"signal": "SIGTERM"}),
        (20.5, "y", "STOPPING", "STOPPED", {"exitstatus": -1, "signal": "SIGTERM"}),
        (30.0, "y", "STOPPED", "STARTING", {"tries": 0}),
        (31.0, "y", "STARTING", "RUNNING"),
    ]


def both() -> pd.DataFrame:
    """The two programs interleaved by time, as a supervisor records them."""
    rows = sorted(crash_loop() + service(), key=lambda row: row[0])
    return events(*rows)


def ints(frame: pd.DataFrame, program: str) -> dict[str, int]:
    return {k: int(v) for k, v in frame.loc[program].items()}


# ----------------------------------------------------------------- hand-built known answers


def test_restarts_counts_starts_failures_and_fatals() -> None:
    table = metrics.restarts(both())
    assert list(table.columns) == [
        "starts", "automatic", "manual", "failed_starts", "unexpected_exits", "fatals",
    ]  # fmt: skip
    assert list(table.index) == ["x", "y"] and table.index.name == "program"
    assert (table.dtypes == "int64").all()
    assert ints(table, "x") == {
        "starts": 4, "automatic": 3, "manual": 1, "failed_starts": 4,
        "unexpected_exits": 0, "fatals": 1,
    }  # fmt: skip
    assert ints(table, "y") == {
        "starts": 3, "automatic": 1, "manual": 2, "failed_starts": 0,
        "unexpected_exits": 1, "fatals": 0,
    }  # fmt: skip


def test_backoff_delays_pairs_each_backoff_with_its_retry() -> None:
    delays = metrics.backoff_delays(both())
    assert list(delays.columns) == [
        "program", "tries", "backoff", "start", "nominal", "actual", "lateness",
    ]  # fmt: skip
    assert delays["program"].tolist() == ["x"] * 3  # the 4th BACKOFF led to FATAL: no retry
    assert delays["tries"].tolist() == [1, 2, 3]
    assert delays["nominal"].tolist() == [1.0, 2.0, 3.0]
    assert delays["actual"].tolist() == [1.1, 2.1, 3.1]
    assert delays["lateness"].tolist() == [0.1, 0.1, 0.1]
    assert delays["backoff"].tolist() == [stamp(0.1), stamp(1.3), stamp(3.5)]
    assert delays["start"].tolist() == [stamp(1.2), stamp(3.4), stamp(6.6)]
    assert str(delays["backoff"].dtype) == "datetime64[ns, UTC]"


def test_backoff_delays_with_a_policy_object() -> None:
    delays = metrics.backoff_delays(both(), ExponentialBackoff(base=0.5))
    assert delays["nominal"].tolist() == [0.5, 1.0, 2.0]
    assert delays["lateness"].tolist() == [0.6, 1.1, 1.1]
    with pytest.raises(ValueError, match="policy='fibonacci'"):
        metrics.backoff_delays(both(), "fibonacci")


def test_time_in_state_counts_the_last_state_to_the_frame_end() -> None:
    table = metrics.time_in_state(both())
    assert list(table.columns) == STATES and table.columns.name == "state"
    x, y = table.loc["x"].to_dict(), table.loc["y"].to_dict()
    assert x == {**dict.fromkeys(STATES, 0.0), "STARTING": 0.4, "BACKOFF": 7.3, "FATAL": 23.3}
    assert y == {
        **dict.fromkeys(STATES, 0.0),
        "STARTING": 3.0, "RUNNING": 18.0, "STOPPING": 0.5, "STOPPED": 9.5,
    }  # fmt: skip
    assert table.sum(axis=1).tolist() == [31.0, 31.0]  # both programs start at 0


def test_time_in_state_until_a_number_or_a_timestamp() -> None:
    later = metrics.time_in_state(both(), until=40)
    assert later.loc["x", "FATAL"] == 32.3 and later.loc["y", "RUNNING"] == 27.0
    early = metrics.time_in_state(both(), until=stamp(5.0))
    assert early.loc["x"].to_dict() == {
        **dict.fromkeys(STATES, 0.0), "STARTING": 0.3, "BACKOFF": 4.7
    }  # fmt: skip
    assert early.loc["y", "RUNNING"] == 4.0 and early.loc["y", "STARTING"] == 1.0
    naive = metrics.time_in_state(both(), until=stamp(5.0).tz_localize(None))
    pd.testing.assert_frame_equal(naive, early)


def test_intervals_are_the_spells_between_rows() -> None:
    spells = metrics.intervals(events(*service()), until=35.0)
    assert spells["state"].astype(str).tolist() == [
        "STARTING", "RUNNING", "EXITED", "STARTING", "RUNNING", "STOPPING", "STOPPED",
        "STARTING", "RUNNING",
    ]  # fmt: skip
    assert spells["duration"].tolist() == [1.0, 10.0, 0.0, 1.0, 8.0, 0.5, 9.5, 1.0, 4.0]
    assert spells["end"].iloc[-1] == stamp(35.0)
    assert (spells["end_s"] - spells["start_s"]).round(9).tolist() == spells["duration"].tolist()


def test_uptimes_one_row_per_run_that_reached_running() -> None:
    runs = metrics.uptimes(both())
    assert list(runs.columns) == [
        "program", "start", "running", "end", "uptime", "ended", "exitstatus", "signal",
    ]  # fmt: skip
    assert runs["program"].tolist() == ["y"] * 3  # x never reached RUNNING
    assert runs["start"].tolist() == [stamp(0), stamp(11), stamp(30)]
    assert runs["running"].tolist() == [stamp(1), stamp(12), stamp(31)]
    assert runs["end"].iloc[:2].tolist() == [stamp(11), stamp(20.5)]
    assert pd.isna(runs["end"].iloc[2])
    assert runs["uptime"].tolist() == [11.0, 9.5, 1.0]
    assert runs["ended"].tolist() == ["crashed", "stopped", "running"]
    assert runs["exitstatus"].tolist()[:2] == [2, -1]
    assert runs["signal"].tolist()[1] == "SIGTERM"
    assert metrics.uptimes(both(), until=40)["uptime"].tolist() == [11.0, 9.5, 10.0]
    cut = metrics.uptimes(both(), until=15)  # rows after 15 have not happened yet
    assert cut["ended"].tolist() == ["crashed", "running"] and cut["uptime"].tolist()[1] == 4.0


def test_uptimes_expected_exit_and_unknown() -> None:
    frame = events(
        (0, "z", "STOPPED", "STARTING"),
        (1, "z", "STARTING", "RUNNING"),
        (5, "z", "RUNNING", "EXITED", {"exitstatus": 0, "expected": True}),
        (6, "z", "EXITED", "STARTING"),
        (7, "z", "STARTING", "RUNNING"),
        (9, "z", "RUNNING", "UNKNOWN"),
    )
    runs = metrics.uptimes(frame)
    assert runs["ended"].tolist() == ["exited", "unknown"]
    assert runs["uptime"].tolist() == [5.0, 3.0]


def test_mtbf_is_the_mean_gap_between_failures() -> None:
    table = metrics.mtbf(both())
    assert list(table.columns) == ["failures", "first_failure", "last_failure", "mtbf"]
    assert table.loc["x", "failures"] == 5  # 4 BACKOFF + FATAL
    assert table.loc["x", "mtbf"] == pytest.approx(1.9)  # (7.7 - 0.1) / 4
    assert table.loc["x", "first_failure"] == stamp(0.1)
    assert table.loc["x", "last_failure"] == stamp(7.7)
    assert table.loc["y", "failures"] == 1 and math.isnan(table.loc["y", "mtbf"])


def test_crash_loops_merge_overlapping_windows() -> None:
    loops = metrics.crash_loops(both())
    assert list(loops.columns) == ["program", "start", "end", "count"]
    assert loops.to_dict("records") == [
        {"program": "x", "start": stamp(0.1), "end": stamp(7.7), "count": 5}
    ]
    # failures of x at 0.1, 1.3, 3.5, 6.7, 7.7: two separate pairs within 2 s
    pairs = metrics.crash_loops(both(), n=2, window=2)
    assert pairs[["start", "end", "count"]].values.tolist() == [
        [stamp(0.1), stamp(1.3), 2],
        [stamp(6.7), stamp(7.7), 2],
    ]
    # the window is (t - w, t]: 0.1 is exactly 1.2 s before 1.3, so not inside
    edge = metrics.crash_loops(both(), n=2, window=pd.Timedelta(seconds=1.2))
    assert edge["start"].tolist() == [stamp(6.7)]
    restarts = metrics.crash_loops(both(), n=3, window="10s", events="restarts")
    assert restarts.values.tolist() == [["x", stamp(1.2), stamp(6.6), 3]]
    assert metrics.crash_loops(both(), n=6).empty
    with pytest.raises(ValueError, match="n=0"):
        metrics.crash_loops(both(), n=0)


def test_summary_one_row_per_program() -> None:
    table = metrics.summary(both())
    assert list(table.columns) == [
        "group", "state", "since", "transitions", "starts", "restarts", "failures", "fatals",
        "time_to_fatal", "uptime", "downtime", "mtbf",
    ]  # fmt: skip
    x, y = table.loc["x"], table.loc["y"]
    assert (x["group"], x["state"], x["since"]) == ("x", "FATAL", stamp(7.7))
    assert [x[k] for k in ("transitions", "starts", "restarts", "failures", "fatals")] == [
        9, 4, 3, 5, 1,
    ]  # fmt: skip
    assert x["time_to_fatal"] == 7.7 and x["uptime"] == 0.0 and x["downtime"] == 31.0
    assert x["mtbf"] == pytest.approx(1.9)
    assert (y["state"], y["since"], y["transitions"], y["restarts"]) == (
        "RUNNING", stamp(31), 9, 1,
    )  # fmt: skip
    assert math.isnan(y["time_to_fatal"]) and math.isnan(y["mtbf"])
    assert (y["uptime"], y["downtime"]) == (18.0, 13.0)
    assert table["state"].dtype == DTYPES["to_state"]
    at_5 = metrics.summary(both(), until=5.0)
    assert at_5["state"].astype(str).tolist() == ["BACKOFF", "RUNNING"]
    assert at_5["fatals"].tolist() == [0, 0]


def test_row_order_and_clock_fallbacks() -> None:
    expected = metrics.summary(both())
    by_program = events(*(crash_loop() + service()))  # not interleaved: sorted per program
    pd.testing.assert_frame_equal(metrics.summary(by_program), expected)
    no_elapsed = events(*(crash_loop() + service()), elapsed=False)  # wall time only
    pd.testing.assert_frame_equal(metrics.summary(no_elapsed), expected, atol=1e-6)
    restarted = both()  # elapsed goes backwards (a second supervisor run): use time
    restarted.loc[restarted["elapsed"] > 10, "elapsed"] -= 100
    pd.testing.assert_frame_equal(metrics.summary(restarted), expected, atol=1e-6)


def test_plain_dtypes_are_accepted() -> None:
    plain = both().astype(
        {"from_state": object, "to_state": object, "program": object, "expected": object}
    )
    plain["time"] = plain["time"].dt.tz_localize(None)  # naive means UTC
    pd.testing.assert_frame_equal(metrics.summary(plain), metrics.summary(both()))


@pytest.mark.parametrize("until", [None, 3.0])
def test_empty_frames_give_empty_tables_with_the_columns(until: float | None) -> None:
    frame = empty_frame()
    assert metrics.restarts(frame).shape == (0, 6)
    assert metrics.backoff_delays(frame).shape == (0, 7)
    assert metrics.intervals(frame, until).shape == (0, 7)
    assert metrics.time_in_state(frame, until).shape == (0, 8)
    assert metrics.uptimes(frame, until).shape == (0, 8)
    assert metrics.mtbf(frame).shape == (0, 4)
    assert metrics.crash_loops(frame).shape == (0, 4)
    table = metrics.summary(frame, until)
    assert table.shape == (0, 12) and str(table["since"].dtype) == "datetime64[ns, UTC]"


# ----------------------------------------------------------------- a simulated supervisor


def test_default_exit_1_scenario_follows_the_linear_schedule(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.01, exit=1))
    sup.add_program("x", command="sh -c 'exit 1'")
    sup["x"].wait_for("FATAL", timeout=15)
    frame = sup.events
    delays = metrics.backoff_delays(frame)
    assert delays["tries"].tolist() == [1, 2, 3]
    assert delays["nominal"].tolist() == [1.0, 2.0, 3.0]
    assert delays["actual"].tolist() == [1.0, 2.0, 3.0]  # exactly: virtual time
    assert delays["lateness"].tolist() == [0.0, 0.0, 0.0]
    assert ints(metrics.restarts(frame), "x") == {
        "starts": 4, "automatic": 3, "manual": 1, "failed_starts": 4,
        "unexpected_exits": 0, "fatals": 1,
    }  # fmt: skip
    summary = metrics.summary(frame).loc["x"]
    assert summary["state"] == "FATAL" and summary["time_to_fatal"] == 6.04
    assert metrics.time_in_state(frame).loc["x", "BACKOFF"] == 6.0
    assert metrics.uptimes(frame).empty


def test_exponential_backoff_run_against_its_policy(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.01, exit=1))
    sup.add_program("x", command="boom", backoff="exponential", startretries=5)
    sup["x"].wait_for("FATAL", timeout=60)
    delays = metrics.backoff_delays(sup.events, ExponentialBackoff())
    assert delays["nominal"].tolist() == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert delays["lateness"].tolist() == [0.0] * 5


def test_a_crashing_service_then_stopped(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("y", Life(runs=5, exit=2))
    sup.add_program("y", command="serve")
    clock.advance(20)
    sup["y"].stop()
    clock.advance(1)
    frame = sup.events
    runs = metrics.uptimes(frame)
    assert runs["ended"].tolist() == ["crashed"] * 3 + ["stopped"]
    assert runs["uptime"].tolist()[:3] == [5.0, 5.0, 5.0]
    table = metrics.mtbf(frame)
    assert table.loc["y", "failures"] == 3 and table.loc["y", "mtbf"] == 6.0
    assert metrics.restarts(frame).loc["y", "automatic"] == 3
    spent = metrics.time_in_state(frame).loc["y"]
    assert spent.sum() == pytest.approx(frame["elapsed"].max())


# ----------------------------------------------------------------- properties

NAMES = st.sampled_from(["a", "b", "c"])
OPTIONAL_INT = st.none() | st.integers(-5, 10)


@st.composite
def event_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    times = draw(st.lists(st.floats(0, 1e5), min_size=n, max_size=n))
    if draw(st.booleans()):
        times = sorted(times)
    elapsed_kind = draw(st.sampled_from(["same", "random", "nan"]))
    columns: dict[str, list[Any]] = {
        "time": [T0 + t for t in times],
        "elapsed": {
            "same": times,
            "random": draw(st.lists(st.floats(0, 1e5), min_size=n, max_size=n)),
            "nan": [math.nan] * n,
        }[elapsed_kind],
        "program": draw(st.lists(NAMES, min_size=n, max_size=n)),
        "from_state": draw(st.lists(st.sampled_from(STATES), min_size=n, max_size=n)),
        "to_state": draw(st.lists(st.sampled_from(STATES), min_size=n, max_size=n)),
        "pid": draw(st.lists(st.none() | st.integers(1, 99999), min_size=n, max_size=n)),
        "tries": draw(st.lists(OPTIONAL_INT, min_size=n, max_size=n)),
        "exitstatus": draw(st.lists(OPTIONAL_INT, min_size=n, max_size=n)),
        "signal": draw(st.lists(st.none() | st.just("SIGTERM"), min_size=n, max_size=n)),
        "expected": draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)),
        "message": [""] * n,
    }
    columns["group"] = columns["program"]
    frame = frame_from_columns(columns)
    if n and draw(st.booleans()):  # a frame that is a slice of a bigger one
        frame = frame.iloc[::-1].set_axis(np.arange(n) * 3 + 7)
    return frame


CALLS = {
    "restarts": lambda f: metrics.restarts(f),
    "backoff_delays": lambda f: metrics.backoff_delays(f),
    "intervals": lambda f: metrics.intervals(f, 50_000.0),
    "time_in_state": lambda f: metrics.time_in_state(f),
    "uptimes": lambda f: metrics.uptimes(f),
    "mtbf": lambda f: metrics.mtbf(f),
    "crash_loops": lambda f: metrics.crash_loops(f, n=2, window="1h"),
    "summary": lambda f: metrics.summary(f, until=stamp(60_000)),
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_frames())
def test_every_metric_is_pure_and_total(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    results = {name: call(frame) for name, call in CALLS.items()}
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    assert frame.dtypes.equals(before.dtypes)
    programs = sorted(set(frame["program"]))
    for name in ("restarts", "time_in_state", "mtbf"):
        assert results[name].index.tolist() == programs, name
    assert set(results["summary"].index) <= set(programs)  # programs seen by ``until``
    counts = results["restarts"]
    assert (counts["starts"] == counts["automatic"] + counts["manual"]).all()
    assert (results["time_in_state"].fillna(0) >= 0).all().all()
    assert (results["uptimes"]["uptime"].dropna() >= 0).all()
    assert (results["crash_loops"]["count"] >= 2).all()
    assert results["summary"]["transitions"].sum() <= len(frame)  # rows after until: dropped
    assert metrics.summary(frame)["transitions"].sum() == len(frame)
