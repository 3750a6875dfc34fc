"""Fixtures for the widget tests: a simulated supervisor and a recording comm."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import ipywidgets.widgets.widget as widget_module
import pytest


class RecordingComm:
    """Stands in for a kernel comm: keeps every message a widget sends, with its time."""

    def __init__(self, log: list[dict[str, Any]], **kwargs: Any) -> None:
        self.comm_id = f"comm-{len(log)}-{time.monotonic_ns()}"
        self.kernel = True
        self.log = log
        self.data = kwargs.get("data")

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.log.append(
            {"comm": self.comm_id, "time": time.monotonic(), "data": data,
             "thread": threading.current_thread().name}
        )  # fmt: skip

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every widget message sent during the test."""
    log: list[dict[str, Any]] = []
    monkeypatch.setattr(
        widget_module.comm, "create_comm", lambda **kwargs: RecordingComm(log, **kwargs)
    )
    return log


def updates_of(log: list[dict[str, Any]], comm_id: str, key: str = "value") -> list[dict[str, Any]]:
    """The update messages of one comm that set ``key``."""
    return [
        m for m in log
        if m["comm"] == comm_id and m["data"].get("method") == "update"
        and key in m["data"].get("state", {})
    ]  # fmt: skip


@pytest.fixture(autouse=True)
def close_widgets() -> Iterator[None]:
    """Close every widget a test made (no ``__del__`` noise at interpreter exit)."""
    yield
    import ipywidgets

    ipywidgets.Widget.close_all()
