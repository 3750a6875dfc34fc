"""The supervisor's records on disk: a JSON-lines event file and a supervisord.log.

Both are appended as things happen, with ``write`` on an ``O_APPEND`` descriptor: one per
file for the lines of one event (:meth:`Journal.append`), or for those of one turn of the
supervisor's loop (:meth:`Journal.hold`, :meth:`Journal.release`), so a kernel that dies
mid-run leaves every earlier line complete, written before anyone was told of it. The log
uses supervisord's line format (semantics.md §15.1) so existing tools can read it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.record import COLUMNS, EventRecord
from .clock import local_second

LEVELS = ("CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT")


def format_log_line(wall: float, level: str, message: str) -> str:
    """``2026-11-26 22:18:01,123 INFO message``: local time, milliseconds truncated."""
    second = int(wall)
    stamp = local_second(second)
    millis = int((wall - second) * 1000)
    return f"{stamp},{millis:03d} {level} {message}\n"


def _json_float(value: float) -> str:
    return repr(value) if math.isfinite(value) else json.dumps(value)


def _json_other(value: object) -> str:
    return json.dumps(value)


_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii
#: How json.dumps writes each type found in a record (its C string encoder included).
_JSON_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _json_string,
    int: int.__repr__,
    float: _json_float,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "null",
}
_RECORD_TEMPLATE = "{" + ", ".join(f'"{name}": %s' for name in COLUMNS) + "}\n"


def format_record_line(record: EventRecord) -> str:
    """One events.jsonl line: the record as a JSON object with the event log's columns.

    The same text as ``json.dumps`` of the column dict, written without building the dict
    and a new encoder per record (that was most of the cost of journalling a transition).
    """
    get = _JSON_BY_TYPE.get
    return _RECORD_TEMPLATE % tuple([get(type(v), _json_other)(v) for v in record.as_tuple()])


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
        """Append one transition (:func:`format_record_line`)."""
        self._write(self._events, format_record_line(record))

    def log(self, wall: float, level: str, message: str) -> None:
        """Append one supervisord.log line (multi-line messages stay as they are)."""
        self._write(self._log, format_log_line(wall, level, message))

    def append(self, records: list[str], lines: list[str]) -> None:
        """Append formatted record lines and log lines: one ``write`` per file."""
        if records:
            self._write(self._events, "".join(records))
        if lines:
            self._write(self._log, "".join(lines))

    def hold(self) -> None:
        """Keep what is appended from now on, in order, until :meth:`release`."""
        if self._held is None:
            self._held = {self._events: [], self._log: []}

    def release(self) -> None:
        """Write what was held (one ``write`` per file) and stop holding."""
        self.write_held()
        self._held = None

    def write_held(self) -> None:
        """Write what is held so far, one ``write`` per file, and hold on."""
        if self._held is not None:
            for fd, texts in self._held.items():
                if texts:
                    self._write_now(fd, "".join(texts))
                    texts.clear()

    def _write(self, fd: int, text: str) -> None:
        if fd < 0:
            return
        if self._held is not None:
            self._held[fd].append(text)
            return
        self._write_now(fd, text)

    def _write_now(self, fd: int, text: str) -> None:
        try:
            os.write(fd, text.encode("utf-8", "replace"))
        except OSError as error:
            self.error = f"cannot write under {self.folder}: {error.strerror}"

    def close(self) -> None:
        self.release()
        for fd in (self._events, self._log):
            if fd >= 0:
                os.close(fd)
        self._events = self._log = -1
