"""``nbsup.explore()``: the what-if widget redraws from the real simulator."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

import itertools

import nbsup
from nbsup.widgets.explore import PRESETS


def test_default_is_supervisords_exit1_story(comm_log):
    explorer = nbsup.explore()
    assert 'data-spawns="4"' in explorer.numbers.value
    assert "FATAL: <b>6.0" in explorer.numbers.value
    assert bytes(explorer.chart.value).startswith(b"\x89PNG")
    assert "gave up after 4 failed starts (startretries=3 allows 3 retries)" in explorer.table.value
    frame = explorer.frame
    assert frame is not None and list(frame["to_state"])[-1] == "FATAL"


def test_changing_an_option_redraws_at_once(comm_log):
    explorer = nbsup.explore()
    explorer.controls["startretries"].value = 0
    assert 'data-spawns="1"' in explorer.numbers.value
    explorer.controls["startsecs"].value = 0.0
    assert "FATAL: <b>never" in explorer.numbers.value  # startsecs=0: exits are never failures


def test_presets_set_every_option_and_redraw_once(comm_log):
    explorer = nbsup.explore()
    redraws = []
    explorer.chart.observe(lambda change: redraws.append(1), "value")
    explorer.preset.value = "Kubernetes CrashLoopBackOff"
    assert len(redraws) == 1
    options = explorer.options()
    assert options["backoff"] == "exponential" and options["backoffmax"] == 300
    frame = explorer.frame
    starts = frame[frame["to_state"] == "STARTING"]["elapsed"].tolist()
    gaps = [round(b - a) for a, b in itertools.pairwise(starts)]
    assert gaps[:6] == [10, 20, 40, 80, 160, 300]  # 10 s doubling to 5 min
    assert set(PRESETS) >= {"supervisord (default)", "Kubernetes CrashLoopBackOff"}


def test_a_bad_value_is_shown_and_keeps_the_last_chart(comm_log):
    explorer = nbsup.explore()
    chart = explorer.chart.value
    explorer.controls["exitcodes"].value = "300"
    assert "exitcodes=300: expected exit codes from 0 to 255" in explorer.numbers.value
    assert explorer.chart.value == chart
