"""Vectorised first pass over a supervisord.log: lines, prefixes, times, message kinds.

A supervisord.log line is ``YYYY-mm-dd HH:MM:SS,mmm LEVEL message`` (semantics.md §15.1):
a fixed-width 29-byte prefix. Everything here works on the raw bytes with numpy, so a
million-line log is scanned without a Python-level loop per line; only the lines whose
message starts like one of the kinds the replay cares about are turned into strings.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: supervisord's level names (``loggers.py:21-28``), in the order of the level codes.
LEVELS: tuple[str, ...] = ("CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT")
#: Bytes of ``2024-01-31 12:00:00,123 INFO `` before the message.
PREFIX_LEN = 29
#: The first eight bytes of the messages the replay reads, and their kind names.
KIND_KEYS: dict[bytes, str] = {
    b"spawned:": "spawned",
    b"spawnerr": "spawnerr",
    b"success:": "success",
    b"exited: ": "exited",
    b"gave up:": "gave_up",
    b"killing ": "killing",
    b"waiting ": "waiting",
    b"stopped:": "stopped",
    b"Attempte": "kill_backoff",
    b"unknown ": "unknown",
    b"received": "received",
    b"supervis": "started",
    b"nbsup st": "started",
}
KINDS: tuple[str, ...] = tuple(KIND_KEYS.values())

_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22])
_LITERALS = {4: b"-", 7: b"-", 10: b" ", 13: b":", 16: b":", 19: b",", 23: b" ", 28: b" "}
_LEVEL_CODES = np.array([int.from_bytes(x.encode(), "little") for x in LEVELS], dtype=np.uint32)
_KIND_CODES = np.array([int.from_bytes(k, "little") for k in KIND_KEYS], dtype=np.uint64)
_WINDOW = PREFIX_LEN + 8  # the prefix and the first eight bytes of the message
_DST_BLOCK = 900  # UTC offsets are looked up once per 15 minutes of local time
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_FIELD_WEIGHTS = np.zeros((12, 5), dtype=np.float32)  # digits -> year, month, day, hour, minute
for _field, _columns in enumerate(((0, 4), (4, 6), (6, 8), (8, 10), (10, 12))):
    for _column in range(*_columns):
        _FIELD_WEIGHTS[_column, _field] = 10.0 ** (_columns[1] - 1 - _column)


@dataclass
class ScannedLog:
    """The result of :func:`scan`.

    Attributes
    ----------
    data
        The log's bytes (CRLF turned into LF).
    starts, ends
        Byte offsets of every physical line (``ends`` excludes the newline).
    prefixed
        Indices (into ``starts``) of the lines that begin a message, in order.
    epoch
        Epoch seconds (UTC) of each prefixed line; NaN where the timestamp is impossible.
    kind
        Index into :data:`KINDS` of each prefixed line's message, or -1.
    level
        Index into :data:`LEVELS` of each prefixed line.
    """

    data: bytes
    starts: IntArray
    ends: IntArray
    prefixed: IntArray
    epoch: FloatArray
    kind: IntArray
    level: IntArray

    @property
    def n_lines(self) -> int:
        return len(self.starts)

    def text(self, line: int) -> str:
        """Physical line ``line`` (from 0) as text."""
        return self.data[int(self.starts[line]) : int(self.ends[line])].decode("utf-8", "replace")


def split_lines(data: bytes) -> tuple[IntArray, IntArray]:
    """Start and end offsets of every line; a final newline ends the last line."""
    array = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(array == 10).astype(np.int64)
    starts = np.concatenate((np.zeros(1, np.int64), newlines + 1))
    ends = np.concatenate((newlines, np.array([len(data)], np.int64)))
    if len(data) == 0 or data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def scan(data: bytes, tz: str | tzinfo | None = None) -> ScannedLog:
    """Find the message lines of a supervisord.log and decode their prefixes.

    Parameters
    ----------
    data
        The whole log.
    tz
        Time zone the log was written in (a zone name or a ``tzinfo``); None for this
        machine's local zone, as supervisord writes local time. In the hour repeated when
        clocks go back, times are read as the first pass (the log cannot tell).
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    starts, ends = split_lines(data)
    candidates = np.flatnonzero(ends - starts >= PREFIX_LEN)
    head = _heads(data, starts[candidates])
    digits = head[:, _DIGITS] - np.uint8(48)  # wraps around below "0": > 9 too
    ok = (digits <= 9).all(axis=1)
    for position, char in _LITERALS.items():
        ok &= head[:, position] == char[0]
    level_words = np.ascontiguousarray(head[:, 24:28]).view("<u4").ravel()
    level, known = _lookup(_LEVEL_CODES, level_words)
    ok &= known
    prefixed = candidates[ok].astype(np.int64)
    epoch = _epoch(digits[ok], tz)
    kind_words = np.ascontiguousarray(head[ok, PREFIX_LEN:]).view("<u8").ravel()
    kind, known = _lookup(_KIND_CODES, kind_words)
    long_enough = ends[prefixed] - starts[prefixed] >= _WINDOW
    kind = np.where(known & long_enough, kind, -1)
    return ScannedLog(data, starts, ends, prefixed, epoch, kind, level[ok])


def _heads(data: bytes, starts: IntArray) -> npt.NDArray[np.uint8]:
    """The first WINDOW bytes from each of ``starts`` (zeros past the end), gathered
    through a sliding-window view; only the log's last bytes are copied to be padded."""
    inside = int(np.searchsorted(starts, len(data) - _WINDOW, side="right"))
    head: npt.NDArray[np.uint8] = np.zeros((0, _WINDOW), dtype=np.uint8)
    if inside:
        window = sliding_window_view(np.frombuffer(data, dtype=np.uint8), _WINDOW)
        head = window[starts[:inside]]
    if inside < len(starts):
        offset = int(starts[inside])
        tail = np.frombuffer(data[offset:] + bytes(_WINDOW), dtype=np.uint8)
        last = sliding_window_view(tail, _WINDOW)[starts[inside:] - offset]
        head = np.concatenate((head, last))
    return head


def _lookup(
    codes: npt.NDArray[np.unsignedinteger], words: npt.NDArray[np.unsignedinteger]
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Index of each word in ``codes`` (0 where absent) and whether it was there."""
    if not len(words):
        return np.zeros(0, np.int64), np.zeros(0, bool)
    order = np.argsort(codes)
    ordered = codes[order]
    found = np.minimum(np.searchsorted(ordered, words), len(ordered) - 1)
    hit = ordered[found] == words
    return np.where(hit, order[found], 0).astype(np.int64), hit


def _epoch(digits: npt.NDArray[np.uint8], tz: str | tzinfo | None) -> FloatArray:
    """Epoch seconds of the timestamps given as their 17 digits; NaN where impossible.

    Lines of one minute follow each other: the date and minute are decoded once per run.
    """
    n = len(digits)
    words = np.zeros((n, 2), dtype=np.uint64)
    words.view(np.uint8)[:, :12] = digits[:, :12]
    new_minute = np.ones(n, dtype=bool)
    new_minute[1:] = (words[1:] != words[:-1]).any(axis=1)
    heads = np.flatnonzero(new_minute)
    run = np.cumsum(new_minute) - 1
    # year, month, day, hour, minute: one small float matrix product (exact)
    fields = (digits[heads, :12].astype(np.float32) @ _FIELD_WEIGHTS).astype(np.int64)
    year, month, day, hour, minute = fields.T
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    month = np.clip(month, 1, 12)
    days_in_month = _MONTH_DAYS[month - 1] + ((month == 2) & leap)
    valid_minute = (year >= 1900) & (year <= 2261)  # datetime64[ns] ends in April 2262
    valid_minute &= month_ok & (day >= 1) & (day <= days_in_month)
    valid_minute &= (hour < 24) & (minute < 60)
    minute_start = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60
    seconds = digits[:, 12].astype(np.int64) * 10 + digits[:, 13]
    millis = digits[:, 14].astype(np.int64) * 100 + digits[:, 15] * 10 + digits[:, 16]
    valid = valid_minute[run] & (seconds <= 60)
    naive = minute_start[run] + seconds
    out = np.full(n, np.nan)
    if valid.any():
        blocks = naive[valid] // _DST_BLOCK
        low = int(blocks.min())
        if int(blocks.max()) - low < 1_000_000:  # a dense table: no sort needed
            present = np.zeros(int(blocks.max()) - low + 1, dtype=bool)
            present[blocks - low] = True
            unique = np.flatnonzero(present) + low
            table = np.zeros(len(present))
            table[unique - low] = _utc_offsets(unique * _DST_BLOCK, tz)
            offsets = table[blocks - low]
        else:
            unique, inverse = np.unique(blocks, return_inverse=True)
            offsets = _utc_offsets(unique * _DST_BLOCK, tz)[inverse]
        out[valid] = naive[valid] - offsets + millis[valid] / 1000.0
    return out


def _days_from_civil(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    result: IntArray = era * 146097 + doe - 719468
    return result


def _utc_offsets(naive_starts: IntArray, tz: str | tzinfo | None) -> FloatArray:
    """UTC offset (seconds east) of the zone at each naive local time (epoch-like)."""
    zone: tzinfo | None = ZoneInfo(tz) if isinstance(tz, str) else tz
    offsets = np.full(len(naive_starts), np.nan)
    for i, naive in enumerate(naive_starts.tolist()):
        local = datetime(1970, 1, 1) + timedelta(seconds=naive)
        try:
            if zone is None:
                fields = (local.year, local.month, local.day, local.hour, local.minute, 0)
                stamp = time.mktime((*fields, 0, 0, -1))
                offsets[i] = calendar.timegm((*fields, 0, 0, 0)) - stamp
            else:
                delta = local.replace(tzinfo=zone).utcoffset()
                offsets[i] = 0.0 if delta is None else delta.total_seconds()
        except (OverflowError, ValueError, OSError):
            continue
    return offsets
