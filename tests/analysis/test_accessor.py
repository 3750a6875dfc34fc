"""The ``df.nbsup`` accessor: registration, validation, purity, and the same answers as
nbsup.analysis.metrics on hand-built frames and on a simulated supervisor's event log."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import nbsup.analysis.accessor  # noqa: F401  (registers df.nbsup)
from nbsup.analysis import metrics
from nbsup.analysis.accessor import NbsupAccessor
from nbsup.core.backoff import LinearBackoff
from nbsup.core.record import COLUMNS
from nbsup.eventlog import empty_frame, frame_from_columns
from nbsup.testing import Life

T0 = 1_800_000_000.0


def events(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """A frame from ``(t, program, from_state, to_state[, extras])`` rows."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for t, program, old, new, *more in rows:
        values = dict.fromkeys(COLUMNS)
        values.update(time=T0 + t, elapsed=t, program=program, group="g", message="")
        values.update(from_state=old, to_state=new, **(more[0] if more else {}))
        for name in COLUMNS:
            columns[name].append(values[name])
    return frame_from_columns(columns)


def two_programs() -> pd.DataFrame:
    return events(
        (0.0, "web", "STOPPED", "STARTING", {"tries": 0, "pid": 10}),
        (0.0, "job", "STOPPED", "STARTING", {"tries": 0, "pid": 11}),
        (0.5, "job", "STARTING", "BACKOFF", {"tries": 1, "expected": False}),
        (1.0, "web", "STARTING", "RUNNING", {"pid": 10}),
        (1.5, "job", "BACKOFF", "STARTING", {"tries": 1, "pid": 12}),
        (2.0, "job", "STARTING", "BACKOFF", {"tries": 2, "expected": False}),
        (4.0, "job", "BACKOFF", "STARTING", {"tries": 2, "pid": 13}),
        (5.0, "job", "STARTING", "RUNNING", {"pid": 13}),
        (8.0, "web", "RUNNING", "EXITED", {"exitstatus": 1, "expected": False}),
        (8.0, "web", "EXITED", "STARTING", {"tries": 0, "pid": 14}),
        (9.0, "web", "STARTING", "RUNNING", {"pid": 14}),
        (10.0, "job", "RUNNING", "EXITED", {"exitstatus": 0, "expected": True}),
    )


CALLS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "restarts": lambda df: df.nbsup.restarts(),
    "backoff_delays": lambda df: df.nbsup.backoff_delays(),
    "backoff_delays(policy)": lambda df: df.nbsup.backoff_delays(LinearBackoff()),
    "intervals": lambda df: df.nbsup.intervals(),
    "time_in_state": lambda df: df.nbsup.time_in_state(),
    "time_in_state(until)": lambda df: df.nbsup.time_in_state(until=20.0),
    "uptimes": lambda df: df.nbsup.uptimes(),
    "mtbf": lambda df: df.nbsup.mtbf(),
    "crash_loops": lambda df: df.nbsup.crash_loops(n=2, window="5s"),
    "summary": lambda df: df.nbsup.summary(),
    "programs": lambda df: df.nbsup.programs,
}


def test_registered_on_dataframe() -> None:
    assert pd.DataFrame.nbsup is NbsupAccessor
    assert isinstance(two_programs().nbsup, NbsupAccessor)


def test_a_frame_without_the_columns_has_no_accessor() -> None:
    with pytest.raises(AttributeError, match=r"missing column\(s\): time, program, from_stat"):
        pd.DataFrame({"a": [1]}).nbsup  # noqa: B018
    partial = two_programs().drop(columns=["tries", "expected"])
    with pytest.raises(AttributeError, match=r"missing column\(s\): tries, expected \("):
        partial.nbsup  # noqa: B018
    assert not hasattr(pd.DataFrame(), "nbsup")


def test_construction_reads_no_data() -> None:
    # cheap __init__: column names only, so even unusable values construct
    odd = pd.DataFrame({name: [object()] for name in metrics.REQUIRED_COLUMNS})
    assert isinstance(odd.nbsup, NbsupAccessor)
    minimal = two_programs()[list(metrics.REQUIRED_COLUMNS)]  # no elapsed: wall time
    assert minimal.nbsup.summary()["uptime"].round(6).tolist() == [5.0, 8.0]


@pytest.mark.parametrize("call", CALLS, ids=list(CALLS))
@pytest.mark.parametrize("make", [two_programs, empty_frame], ids=["two", "empty"])
def test_every_call_leaves_the_frame_unchanged(call: str, make: Callable[[], Any]) -> None:
    frame = make()
    before = frame.copy(deep=True)
    dtypes, index, columns = frame.dtypes.copy(), frame.index.copy(), list(frame.columns)
    result = CALLS[call](frame)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    assert frame.dtypes.equals(dtypes) and frame.index.equals(index)
    assert list(frame.columns) == columns
    if isinstance(result, pd.DataFrame):
        assert result is not frame
        result.iloc[:, :] = result.iloc[:, :]  # writing to the result never reaches the frame
        pd.testing.assert_frame_equal(frame, before, check_exact=True)


def test_methods_match_the_metric_functions() -> None:
    frame = two_programs()
    pairs = [
        (frame.nbsup.restarts(), metrics.restarts(frame)),
        (frame.nbsup.backoff_delays(), metrics.backoff_delays(frame)),
        (frame.nbsup.time_in_state(until=30), metrics.time_in_state(frame, 30)),
        (frame.nbsup.uptimes(), metrics.uptimes(frame)),
        (frame.nbsup.mtbf(), metrics.mtbf(frame)),
        (frame.nbsup.crash_loops(2, "5s"), metrics.crash_loops(frame, 2, "5s")),
        (frame.nbsup.summary(), metrics.summary(frame)),
    ]
    for got, expected in pairs:
        pd.testing.assert_frame_equal(got, expected)


def test_known_answers_through_the_accessor() -> None:
    acc = two_programs().nbsup
    assert acc.programs == ["job", "web"]
    assert acc.restarts().loc["job"].tolist() == [3, 2, 1, 2, 0, 0]
    assert acc.restarts().loc["web"].tolist() == [2, 1, 1, 0, 1, 0]
    delays = acc.backoff_delays()
    assert delays[["tries", "nominal", "actual", "lateness"]].values.tolist() == [
        [1, 1.0, 1.0, 0.0],
        [2, 2.0, 2.0, 0.0],
    ]
    spent = acc.time_in_state()
    assert spent.loc["job", ["STARTING", "BACKOFF", "RUNNING", "EXITED"]].tolist() == [
        2.0, 3.0, 5.0, 0.0,
    ]  # fmt: skip
    assert spent.loc["web", ["STARTING", "RUNNING", "EXITED"]].tolist() == [2.0, 8.0, 0.0]
    runs = acc.uptimes()
    assert runs[["program", "uptime", "ended"]].values.tolist() == [
        ["job", 6.0, "exited"],
        ["web", 8.0, "crashed"],
        ["web", 2.0, "running"],
    ]
    table = acc.mtbf()
    assert table["failures"].tolist() == [2, 1]
    assert table.loc["job", "mtbf"] == 1.5 and math.isnan(table.loc["web", "mtbf"])
    assert acc.crash_loops(n=2, window="5s")["count"].tolist() == [2]
    summary = acc.summary()
    assert summary["state"].astype(str).tolist() == ["EXITED", "RUNNING"]
    assert summary["downtime"].tolist() == [5.0, 2.0]


def test_a_simulated_supervisor_frame(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("x", Life(runs=0.01, exit=1))
    launcher.script("y", Life(runs=3, exit=1))
    sup.add_program("x", command="sh -c 'exit 1'")
    sup.add_program("y", command="sh -c 'sleep 3; exit 1'")
    clock.advance(12)
    frame = sup.events
    before = frame.copy(deep=True)
    assert frame.nbsup.backoff_delays()["actual"].tolist() == [1.0, 2.0, 3.0]
    summary = frame.nbsup.summary()
    assert summary["state"].astype(str).tolist() == ["FATAL", "STARTING"]
    assert summary.loc["y", "restarts"] == 3 and summary.loc["y", "failures"] == 3
    assert frame.nbsup.uptimes()["ended"].tolist() == ["crashed"] * 3
    pd.testing.assert_frame_equal(frame, before, check_exact=True)


def test_works_without_matplotlib() -> None:
    script = """
import sys
sys.modules["matplotlib"] = None  # as if not installed
import nbsup.analysis.accessor
from nbsup.eventlog import empty_frame
frame = empty_frame()
for name in ("restarts", "backoff_delays", "time_in_state", "uptimes", "mtbf",
             "crash_loops", "summary"):
    getattr(frame.nbsup, name)()
try:
    frame.nbsup.timeline()
except ImportError as error:
    print("ImportError:", error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "ImportError: timeline() needs matplotlib" in done.stdout


def test_importing_the_accessor_does_not_import_matplotlib() -> None:
    script = (
        "import sys, nbsup.analysis.accessor, nbsup.analysis.metrics, "
        "nbsup.analysis.timeline; print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr
