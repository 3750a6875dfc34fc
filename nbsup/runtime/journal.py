"""The supervisor's records on disk: a JSON-lines event file and a supervisord.log.

Both are appended as things happen, with ``write`` on an ``O_APPEND`` descriptor: one per
line, or one per file for the lines of one event (:meth:`Journal.batch`), so a kernel that
dies mid-run leaves every earlier line complete (write-ahead). The log
uses supervisord's line format (semantics.md §15.1) so existing tools can read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.record import COLUMNS, EventRecord
from .clock import local_second

LEVELS = ("CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT")


def format_log_line(wall: float, level: str, message: str) -> str:
    """``2026-11-26 22:18:01,123 INFO message``: local time, milliseconds truncated."""
    second = int(wall)
    stamp = local_second(second)
    millis = int((wall - second) * 1000)
    return f"{stamp},{millis:03d} {level} {message}\n"


class Journal:
    """Appends event rows and log lines under ``folder``.

    Parameters
    ----------
    folder
        Created if needed; holds ``events.jsonl`` and ``supervisord.log``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self.events_path = folder / "events.jsonl"
        self.log_path = folder / "supervisord.log"
        self._events = os.open(self.events_path, flags, 0o644)
        self._log = os.open(self.log_path, flags, 0o644)
        self.error: str | None = None
        self._held: dict[int, list[str]] | None = None

    def record(self, record: EventRecord) -> None:
        """Append one transition as a JSON object with the event log's columns."""
        line = json.dumps(dict(zip(COLUMNS, record.as_tuple(), strict=True))) + "\n"
        self._write(self._events, line)

    def log(self, wall: float, level: str, message: str) -> None:
        """Append one supervisord.log line (multi-line messages stay as they are)."""
        self._write(self._log, format_log_line(wall, level, message))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lines written inside; write them at the end, one ``write`` per file."""
        if self._held is not None:  # already batching: the outer batch writes
            yield
            return
        held: dict[int, list[str]] = {}
        self._held = held
        try:
            yield
        finally:
            self._held = None
            for fd, lines in held.items():
                self._write(fd, "".join(lines))

    def _write(self, fd: int, line: str) -> None:
        if fd < 0:
            return
        if self._held is not None:
            self._held.setdefault(fd, []).append(line)
            return
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        except OSError as error:
            self.error = f"cannot write under {self.folder}: {error.strerror}"

    def close(self) -> None:
        for fd in (self._events, self._log):
            if fd >= 0:
                os.close(fd)
        self._events = self._log = -1
