"""A program's output stream: appended to its log file and kept as a bounded in-memory tail.

Each chunk a child writes goes to the channel's :class:`~nbsup.runtime.logfile.LogFile`
(if it has one: ``NONE`` or a file that cannot be opened means none) and into a tail of at
most ``tail_bytes``, so a program printing gigabytes cannot grow the kernel's memory.

With ``timestamps``, each line in the *file* starts with the local time the chunk was read,
``2026-11-27 01:02:03.456`` and one space (see :func:`format_stamp`); a line split across
chunks gets one prefix, at its start. The in-memory tail stays raw: the widgets render it
as a terminal would (``\\r`` progress bars, ANSI colours), which prefixes would break.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from .clock import local_second
from .logfile import LogFile


def format_stamp(wall: float) -> str:
    """``2026-11-27 01:02:03.456``: local time, milliseconds truncated."""
    seconds = int(wall)
    return f"{local_second(seconds)}.{int((wall - seconds) * 1000):03d}"


class _Stamper:
    """Line prefixes (the strftime part is cached for the current second)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.line_start = True

    def prefix(self) -> bytes:
        return f"{format_stamp(self.clock())} ".encode()

    def stamp(self, data: bytes) -> bytes:
        """``data`` with a prefix at the start of each line (no per-line Python loop)."""
        prefix = self.prefix()
        ends = data[-1] == 10
        body = data[:-1] if ends else data
        body = body.replace(b"\n", b"\n" + prefix)
        parts = [prefix, body] if self.line_start else [body]
        if ends:
            parts.append(b"\n")
        self.line_start = ends
        return b"".join(parts)


class OutputChannel:
    """One stream (stdout or stderr) of one program.

    Parameters
    ----------
    file
        The log file, or None to keep the output in memory only.
    tail_bytes
        How many of the latest bytes to keep in memory.
    timestamps
        Prefix each line in the file with the time it was read.
    clock
        Epoch seconds now (the supervisor's clock: virtual in simulations).
    target
        The configured log file path (kept for display even when it cannot be opened).
    """

    def __init__(
        self,
        file: LogFile | None = None,
        tail_bytes: int = 64 * 1024,
        timestamps: bool = False,
        clock: Callable[[], float] = time.time,
        target: Path | None = None,
    ) -> None:
        self.file = file
        self.tail_bytes = tail_bytes
        self.timestamps = timestamps
        self.target = target if target is not None else (file.path if file else None)
        self._stamper = _Stamper(clock)
        self._tail = bytearray()
        self._total = 0
        self._lock = threading.Lock()  # guards the tail: readers may be on other threads
        self._more: threading.Condition | None = None  # made by the first wait_for_more
        self._listeners: list[Callable[[], None]] = []

    @property
    def path(self) -> Path | None:
        """The log file being written, or None when there is none (NONE, cannot open)."""
        file = self.file
        return file.path if file is not None and file.is_open else None

    @property
    def error(self) -> str | None:
        """Why the log file cannot be written now, or None."""
        return None if self.file is None else self.file.error

    @property
    def total(self) -> int:
        """Bytes of output since the channel was created (clearing does not reset it)."""
        return self._total

    @property
    def position(self) -> int | None:
        """The log file position of the next byte, or None without a file."""
        return None if self.file is None else self.file.position

    def configure(self, file: LogFile | None, timestamps: bool, target: Path | None) -> None:
        """Write to another file from now on (the caller releases the previous one)."""
        self.file = file
        self.timestamps = timestamps
        self.target = target

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        """Append a chunk of output (called on the supervisor's thread)."""
        if not data:
            return
        file = self.file
        if file is not None:
            file.write(self._stamper.stamp(data) if self.timestamps else data)
        else:
            self._stamper.line_start = data[-1] == 10
        with self._lock:
            tail = self._tail
            if len(data) >= self.tail_bytes:
                tail[:] = data[-self.tail_bytes :]
            else:
                tail += data
                excess = len(tail) - self.tail_bytes
                if excess > 0:
                    del tail[:excess]
            self._total += len(data)
            if self._more is not None:
                self._more.notify_all()
        for listener in self._listeners:
            listener()

    def mark(self, line: str | None) -> None:
        """Write a line of nbsup's own into the file (not the tail), on a line of its own
        (None: write nothing, but start the next output on a new line)."""
        self._stamper.line_start = True
        file = self.file
        if file is None or line is None:
            return
        newline = "" if file.ends_with_newline else "\n"
        file.write(f"{newline}{line}\n".encode("utf-8", "replace"))

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each write (on the writing thread; keep it cheap)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ reading

    def tail(self, nbytes: int | None = None) -> bytes:
        """The last ``nbytes`` of output (all of the in-memory tail by default)."""
        with self._lock:
            data = bytes(self._tail)
        return data if nbytes is None or nbytes >= len(data) else data[-nbytes:]

    def read_since(self, position: int) -> tuple[bytes, int]:
        """Output written after byte ``position`` (as far as the tail holds it), and the end."""
        with self._lock:
            start = max(position, self._total - len(self._tail))
            data = bytes(self._tail[start - (self._total - len(self._tail)) :])
            return data, self._total

    def read_range(self, begin: int, end: int) -> bytes | None:
        """Output bytes ``begin`` … ``end`` (as counted by :attr:`total`), or None when the
        tail no longer holds all of them."""
        with self._lock:
            first = self._total - len(self._tail)
            if begin < first or end > self._total:
                return None
            return bytes(self._tail[begin - first : end - first])

    def wait_for_more(self, position: int, timeout: float) -> bool:
        """Block until output past ``position`` exists or ``timeout`` passes."""
        with self._lock:
            if self._more is None:  # a condition on the same lock, only for those who wait
                self._more = threading.Condition(self._lock)
            return self._more.wait_for(lambda: self._total > position, timeout)

    # ------------------------------------------------------------------ lifetime

    def clear(self) -> None:
        """Empty the tail and truncate the log file (call it on the supervisor's thread)."""
        with self._lock:
            self._tail.clear()
        if self.file is not None:
            self.file.truncate()

    def close(self) -> None:
        """Forget the tail (the caller releases the file)."""
        with self._lock:
            self._tail = bytearray()
        self.file = None
