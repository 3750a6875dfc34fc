"""The schedule-precision benchmark pairs each event with its nominal time correctly."""

from __future__ import annotations

import pytest

from benchmarks.schedule_precision import SIGKILL, Row, errors


def test_an_escalation_counts_from_stopping_to_the_sigkill_and_stopped_apart() -> None:
    rows = [
        Row("kill0", "STOPPED", "STARTING", None, 10.0),
        Row("kill0", "STARTING", "RUNNING", None, 10.01),
        Row("kill0", "RUNNING", "STOPPING", None, 10.5),
        Row("kill0", "STOPPED", "STARTING", None, 9.0),  # out of order: sorted by time
        Row("kill0", "STOPPING", SIGKILL, None, 11.502),
        Row("kill0", "STOPPING", "STOPPED", None, 11.515),
        Row("kill0", "RUNNING", "STOPPING", None, 12.5),
        Row("kill0", "STOPPING", "STOPPED", None, 12.6),  # stopped by SIGTERM: no escalation
        Row("kill0", "RUNNING", "STOPPING", None, 14.5, exact=False),
        Row("kill0", "STOPPING", SIGKILL, None, 15.5),  # no exact start: skipped
    ]
    found = errors(rows)
    assert found["kill"] == [pytest.approx(0.002)]
    assert found["kill_stopped"] == [pytest.approx(0.015)]


def test_backoff_and_running_errors_against_their_nominal_delays() -> None:
    rows = [
        Row("backoff0", "STARTING", "BACKOFF", 1, 1.0),
        Row("backoff0", "BACKOFF", "STARTING", None, 2.003),
        Row("backoff0", "STARTING", "BACKOFF", 2, 2.1),
        Row("backoff0", "BACKOFF", "STARTING", None, 4.099),
        Row("running0", "STOPPED", "STARTING", None, 1.0),
        Row("running0", "STARTING", "RUNNING", None, 2.004),
        Row("running1", "STOPPED", "STARTING", None, 1.0),
        Row("running1", "STARTING", "RUNNING", None, 2.5, exact=False),
    ]
    found = errors(rows)
    assert found["backoff"] == [pytest.approx(0.003), pytest.approx(0.001)]
    assert found["running"] == [pytest.approx(0.004)]
    assert found["kill"] == found["kill_stopped"] == []
