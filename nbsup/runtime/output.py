"""A program's output: appended to a log file and kept as a bounded in-memory tail.

Each chunk a child writes goes to its log file with one ``write`` (no buffering, so the
file is always current) and into a tail of at most ``tail_bytes``, so a program printing
gigabytes cannot grow the kernel's memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path


class OutputChannel:
    """One stream (stdout or stderr) of one program.

    Parameters
    ----------
    path
        The log file, created if missing and appended to; None keeps no file.
    tail_bytes
        How many of the latest bytes to keep in memory.
    """

    def __init__(self, path: Path | None, tail_bytes: int = 64 * 1024) -> None:
        self.path = path
        self.tail_bytes = tail_bytes
        self._tail = bytearray()
        self._total = 0
        self._changed = threading.Condition()
        self._fd = -1
        self._listeners: list[Callable[[], None]] = []
        self.error: str | None = None
        if path is not None:
            self._open()

    def _open(self) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            self.error = f"cannot write {self.path}: {error.strerror}"
            self._fd = -1

    @property
    def total(self) -> int:
        """Bytes written since the channel was created or cleared."""
        return self._total

    def write(self, data: bytes) -> None:
        """Append a chunk of output (called on the supervisor's thread)."""
        if self._fd >= 0:
            try:
                os.write(self._fd, data)
            except OSError as error:
                self.error = f"cannot write {self.path}: {error.strerror}"
        with self._changed:
            tail = self._tail
            if len(data) >= self.tail_bytes:
                tail[:] = data[-self.tail_bytes :]
            else:
                tail += data
                excess = len(tail) - self.tail_bytes
                if excess > 0:
                    del tail[:excess]
            self._total += len(data)
            self._changed.notify_all()
        for listener in self._listeners:
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each write (on the writing thread; keep it cheap)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def tail(self, nbytes: int | None = None) -> bytes:
        """The last ``nbytes`` of output (all of the in-memory tail by default)."""
        with self._changed:
            data = bytes(self._tail)
        return data if nbytes is None or nbytes >= len(data) else data[-nbytes:]

    def read_since(self, position: int) -> tuple[bytes, int]:
        """Output written after byte ``position`` (as far as the tail holds it), and the end."""
        with self._changed:
            start = max(position, self._total - len(self._tail))
            data = bytes(self._tail[start - (self._total - len(self._tail)) :])
            return data, self._total

    def wait_for_more(self, position: int, timeout: float) -> bool:
        """Block until output past ``position`` exists or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: self._total > position, timeout)

    def clear(self) -> None:
        """Empty the tail and truncate the log file."""
        with self._changed:
            self._tail.clear()
            self._total = 0
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
