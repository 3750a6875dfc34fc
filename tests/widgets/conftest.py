"""Fixtures for the widget tests: a simulated supervisor and a recording comm."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets.widgets.widget as widget_module
import pytest
from recording_comm import RecordingComm


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every widget message sent during the test."""
    log: list[dict[str, Any]] = []
    monkeypatch.setattr(
        widget_module.comm, "create_comm", lambda **kwargs: RecordingComm(log, **kwargs)
    )
    return log


@pytest.fixture(autouse=True)
def close_widgets() -> Iterator[None]:
    """Close every widget a test made (no ``__del__`` noise at interpreter exit)."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()
