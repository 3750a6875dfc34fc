"""A stand-in for a kernel comm that records what widgets send (for the widget tests)."""

from __future__ import annotations

import threading
import time
from typing import Any


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


def updates_of(log: list[dict[str, Any]], comm_id: str, key: str = "value") -> list[dict[str, Any]]:
    """The update messages of one comm that set ``key``."""
    return [
        m for m in log
        if m["comm"] == comm_id and m["data"].get("method") == "update"
        and key in m["data"].get("state", {})
    ]  # fmt: skip
