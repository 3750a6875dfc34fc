"""Read nbsup's own event files (``events.jsonl``) back into the event log schema.

The runtime's journal (:mod:`nbsup.runtime.journal`) appends one JSON object per
transition, with the columns of :data:`nbsup.core.record.COLUMNS` and ``time`` in epoch
seconds. A kernel killed mid-write can leave a torn last line: such lines (and any other
line that is not a valid record) are skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.record import COLUMNS
from ..core.states import ProcessState
from ..eventlog import empty_frame, frame_from_columns

__all__ = ["EVENTS_FILE", "read_events"]

#: The event file's name inside a session folder.
EVENTS_FILE = "events.jsonl"

_INT64 = (-(2**63), 2**63)
_STATES = frozenset(state.value for state in ProcessState)
_EXAMPLES = 5
_EXAMPLE_CHARS = 200


class _Invalid(ValueError):
    """A line that is not an event record."""


def read_events(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The events nbsup recorded, as an event log DataFrame.

    Parameters
    ----------
    path
        An ``events.jsonl`` file; a session folder (its ``events.jsonl`` is read); or a
        state folder such as ``.nbsup`` (every session folder in it is read, sessions in
        the order of their first event, and the frames are concatenated).

    Returns
    -------
    pandas.DataFrame
        The schema of :mod:`nbsup.eventlog`. ``elapsed`` is per session (seconds since
        that supervisor started). ``attrs``: ``lines`` (non-blank lines read),
        ``skipped_lines`` (lines that are not a valid record, e.g. a torn last line),
        ``skipped_examples`` (``(file, line number, text)``) and ``sessions`` (the
        files read, in order).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such file or folder: {root}")
    if root.is_dir():
        own = root / EVENTS_FILE
        files = [own] if own.is_file() else sorted(root.glob(f"*/{EVENTS_FILE}"))
    else:
        files = [root]
    read = [_read_file(file) for file in files]
    read.sort(key=lambda item: (_first_time(item[0]), str(item[1]["file"])))
    frames = [frame for frame, _ in read if len(frame)]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    frame.attrs = {
        "lines": sum(info["lines"] for _, info in read),
        "skipped_lines": sum(info["skipped_lines"] for _, info in read),
        "skipped_examples": [x for _, info in read for x in info["examples"]][:_EXAMPLES],
        "sessions": [str(info["file"]) for _, info in read],
    }
    return frame


def _first_time(frame: pd.DataFrame) -> float:
    return float(frame["time"].iloc[0].timestamp()) if len(frame) else math.inf


def _read_file(file: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One events.jsonl file: its frame and its line accounting."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    lines = skipped = 0
    examples: list[tuple[str, int, str]] = []
    for number, raw in enumerate(file.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        lines += 1
        try:
            values = _record(raw)
        except _Invalid:
            skipped += 1
            if len(examples) < _EXAMPLES:
                text = raw.decode("utf-8", "replace")[:_EXAMPLE_CHARS]
                examples.append((str(file), number, text))
            continue
        for name, value in zip(COLUMNS, values, strict=True):
            columns[name].append(value)
    info = {"file": file, "lines": lines, "skipped_lines": skipped, "examples": examples}
    return frame_from_columns(columns), info


def _record(raw: bytes) -> tuple[Any, ...]:
    """The column values of one line, checked; :class:`_Invalid` if it is no record."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise _Invalid(str(error)) from None
    if not isinstance(obj, dict):
        raise _Invalid("not an object")
    return tuple(_CHECKS[name](obj.get(name)) for name in COLUMNS)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid("not a number")
    if not math.isfinite(value):
        raise _Invalid("not finite")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("not a string")
    return value


def _state(value: Any) -> str:
    if value not in _STATES:
        raise _Invalid("not a state")
    return str(value)


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not _INT64[0] <= value < _INT64[1]:
        raise _Invalid("not a 64-bit integer")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _optional_bool(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _Invalid("not a boolean")
    return value


def _message(value: Any) -> str:
    return "" if value is None else _text(value)


_CHECKS: dict[str, Any] = {
    "time": _number,
    "elapsed": _number,
    "program": _text,
    "group": _text,
    "from_state": _state,
    "to_state": _state,
    "pid": _optional_int,
    "tries": _optional_int,
    "exitstatus": _optional_int,
    "signal": _optional_text,
    "expected": _optional_bool,
    "message": _message,
}
