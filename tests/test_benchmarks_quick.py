"""Smoke test of the resource benchmarks: ``python -m benchmarks --quick`` on tiny sizes.

It checks that each benchmark runs end to end against the real supervisord and a real
kernel and writes rows of the documented shape; the figures themselves mean nothing here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICK = ("idle_cost", "scale", "output_throughput", "kernel_responsiveness")
KEYS = {"benchmark", "metric", "nbsup", "supervisord", "ratio", "target", "limit", "unit", "note"}

pytestmark = [pytest.mark.slow, pytest.mark.differential, pytest.mark.kernel]


@pytest.mark.timeout(400)
def test_quick_benchmarks_write_result_rows(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(out), *QUICK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    assert payload["quick"] is True
    assert set(payload["seconds"]) == set(QUICK)
    rows = payload["results"]
    assert {r["benchmark"] for r in rows} == set(QUICK)
    for r in rows:
        assert set(r) == KEYS, r
        assert isinstance(r["nbsup"], int | float) and math.isfinite(r["nbsup"]), r
        assert r["supervisord"] is None or isinstance(r["supervisord"], int | float), r
        assert r["ratio"] == "n/a" or isinstance(r["ratio"], int | float), r
    by_name = {b: [r for r in rows if r["benchmark"] == b] for b in QUICK}
    assert len(by_name["idle_cost"]) == 2
    assert len(by_name["scale"]) == 7
    assert all(r["limit"] > 0 for r in by_name["scale"][:4])
    (throughput,) = by_name["output_throughput"]
    assert throughput["nbsup"] > 0 and throughput["supervisord"] > 0 and throughput["limit"] > 0
    assert len(by_name["kernel_responsiveness"]) == 3
    assert "| benchmark" in done.stdout  # the table was printed


@pytest.mark.timeout(120)
def test_profiling_helper_runs(tmp_path: Path) -> None:
    """``python -m benchmarks.profiling`` (used to find the causes of missed targets)."""
    runs = (
        ["scale", "--programs", "5", "--batched"],
        ["flap", "--programs", "3", "--seconds", "0.5", "--without", "mirror,journal,env,watchdog"],
    )
    for args in runs:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.profiling", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=100,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "loop thread" in done.stdout
