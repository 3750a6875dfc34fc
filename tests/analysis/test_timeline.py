"""nbsup.analysis.timeline: one lane per program, bars in supervisord's state colours."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import nbsup.analysis.accessor  # noqa: E402, F401  (registers df.nbsup)
from nbsup.analysis.timeline import STATE_COLORS, timeline  # noqa: E402
from nbsup.core.record import COLUMNS  # noqa: E402
from nbsup.eventlog import empty_frame, frame_from_columns  # noqa: E402
from nbsup.testing import Life  # noqa: E402

T0 = 1_800_000_000.0


def events(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """A frame from ``(t, program, from_state, to_state)`` rows."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for t, program, old, new in rows:
        values = dict.fromkeys(COLUMNS)
        values.update(time=T0 + t, elapsed=t, program=program, group=program, message="")
        values.update(from_state=old, to_state=new)
        for name in COLUMNS:
            columns[name].append(values[name])
    return frame_from_columns(columns)


def frame() -> pd.DataFrame:
    return events(
        (0, "web", "STOPPED", "STARTING"),
        (0, "job", "STOPPED", "STARTING"),
        (1, "web", "STARTING", "RUNNING"),
        (2, "job", "STARTING", "BACKOFF"),
        (3, "job", "BACKOFF", "STARTING"),
        (4, "job", "STARTING", "BACKOFF"),
        (6, "job", "BACKOFF", "FATAL"),
        (7, "web", "RUNNING", "STOPPING"),
        (8, "web", "STOPPING", "STOPPED"),
        (10, "web", "STOPPED", "STARTING"),
    )


def bars(fig: Figure) -> dict[str, dict[str, Any]]:
    """Per ``program:STATE`` gid: colour, lane (bar centre y) and the (x, width) ranges."""
    (ax,) = fig.axes
    found = {}
    for collection in ax.collections:
        boxes = [path.get_extents() for path in collection.get_paths()]
        centres = {round((box.y0 + box.y1) / 2, 6) for box in boxes}
        assert len(centres) == 1
        found[collection.get_gid()] = {
            "color": to_hex(collection.get_facecolor()[0]),
            "lane": centres.pop(),
            "ranges": [(box.x0, box.width) for box in boxes],
        }
    return found


def test_one_lane_per_program_in_state_colours() -> None:
    fig = frame().nbsup.timeline()
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["job", "web"]
    found = bars(fig)
    assert set(found) == {
        "job:STARTING", "job:BACKOFF", "job:FATAL",
        "web:STARTING", "web:RUNNING", "web:STOPPING", "web:STOPPED",
    }  # fmt: skip
    for gid, bar in found.items():
        program, state = gid.split(":")
        assert bar["color"] == STATE_COLORS[state]
        assert bar["lane"] == {"job": 0.0, "web": 1.0}[program]
    assert found["job:BACKOFF"]["ranges"] == [(2.0, 1.0), (4.0, 2.0)]
    assert found["job:FATAL"]["ranges"] == [(6.0, 4.0)]  # to the frame's end
    assert found["web:RUNNING"]["ranges"] == [(1.0, 6.0)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "FATAL"]
    assert ax.get_xlabel() == "elapsed (s)"


def test_the_documented_colours() -> None:
    assert STATE_COLORS == {
        "STOPPED": "#6b7280", "STARTING": "#2563eb", "RUNNING": "#16a34a",
        "BACKOFF": "#ea580c", "STOPPING": "#9333ea", "EXITED": "#0f766e",
        "FATAL": "#dc2626", "UNKNOWN": "#111827",
    }  # fmt: skip


def test_chosen_programs_existing_axes_wall_time_and_until() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    got = frame().nbsup.timeline(["web", "nope"], ax=ax, x="time", until=12.0, title="t")
    assert got is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == ["web", "nope"]
    found = bars(fig)
    assert {gid.split(":")[0] for gid in found} == {"web"}
    (x0, width), *_ = found["web:RUNNING"]["ranges"]
    start = matplotlib.dates.num2date(x0)
    assert abs(start - pd.Timestamp(T0 + 1, unit="s", tz="UTC")) < pd.Timedelta("1ms")
    assert width * 86400 == pytest.approx(6.0)
    assert found["web:STARTING"]["ranges"][-1][1] * 86400 == pytest.approx(2.0)  # until 12
    assert ax.get_xlabel() == "time (UTC)" and ax.get_title() == "t"
    assert frame().nbsup.timeline("job").axes[0].get_yticklabels()[0].get_text() == "job"
    with pytest.raises(ValueError, match="x='days'"):
        timeline(frame(), x="days")


def test_an_empty_frame_draws_an_empty_chart() -> None:
    fig = empty_frame().nbsup.timeline()
    (ax,) = fig.axes
    assert not ax.collections and ax.get_legend() is None
    assert [t.get_text() for t in ax.texts] == ["no events"]


def test_a_simulated_run_saved_as_png(sim, tmp_path: Path) -> None:
    sup, clock, launcher = sim
    launcher.script("crasher", Life(runs=0.3, exit=1))
    launcher.script("server", Life(runs=6, exit="SIGSEGV"))
    launcher.script("worker", Life(runs=None))
    sup.add_program("crasher", command="a")
    sup.add_program("server", command="b")
    sup.add_program("worker", command="c")
    clock.advance(15)
    sup["worker"].stop()
    clock.advance(2)
    events = sup.events
    before = events.copy(deep=True)
    fig = events.nbsup.timeline(until=clock.now(), title="simulated supervisor, 17 s")
    pd.testing.assert_frame_equal(events, before, check_exact=True)
    path = tmp_path / "timeline.png"
    fig.savefig(path, dpi=100)
    assert path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    colours = {bar["color"] for bar in bars(fig).values()}
    assert {STATE_COLORS[s] for s in ("BACKOFF", "FATAL", "RUNNING", "STOPPED")} <= colours
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "crasher", "server", "worker",
    ]  # fmt: skip


STATES = list(STATE_COLORS)


@st.composite
def event_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 15))
    times = draw(st.lists(st.floats(0, 1e4), min_size=n, max_size=n))
    columns: dict[str, list[Any]] = {name: [None] * n for name in COLUMNS}
    columns.update(
        time=[T0 + t for t in times],
        elapsed=draw(st.sampled_from([times, [math.nan] * n])),
        program=draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n)),
        from_state=draw(st.lists(st.sampled_from(STATES), min_size=n, max_size=n)),
        to_state=draw(st.lists(st.sampled_from(STATES), min_size=n, max_size=n)),
        message=[""] * n,
    )
    columns["group"] = columns["program"]
    return frame_from_columns(columns)


@settings(max_examples=30, deadline=None)
@given(event_frames(), st.sampled_from(["elapsed", "time"]))
def test_timeline_is_pure_and_total(frame: pd.DataFrame, x: str) -> None:
    before = frame.copy(deep=True)
    fig = frame.nbsup.timeline(x=x)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    lanes = len(set(frame["program"])) or 1
    assert fig.axes[0].get_ylim() == (lanes - 0.5, -0.5)
