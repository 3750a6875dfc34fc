"""Log files on disk, appended to and rotated with supervisord's rules.

:class:`LogFile` is one file (``x.log``) and its backups (``x.log.1`` … ``x.log.N``). It
follows ``supervisor.loggers.RotatingFileHandler`` (4.3.0): each chunk is written whole,
and when the file then holds ``maxbytes`` or more it is rotated: ``x.log.(N-1)`` becomes
``x.log.N`` … ``x.log`` becomes ``x.log.1`` and a new empty ``x.log`` is started; with
``backups=0`` the file is truncated instead; ``maxbytes=0`` never rotates. A file may thus
exceed ``maxbytes`` by less than one chunk, as in supervisord.

The size is tracked in memory (one ``fstat`` at open, none per write). Every byte written
has a *position* in the file's whole history (positions keep counting across rotations),
and the file remembers which position range each backup holds, so a range of positions
(one attempt's output) can be found again after rotations, or reported as gone.

No buffering: each chunk is one ``os.write`` on an ``O_APPEND`` descriptor. Output comes
in chunks of up to 256 KiB, so a buffer would save few system calls, while writing at
once keeps the file current for ``tail``/``readProcessLog`` and loses nothing when the
kernel is killed (the data is in the page cache as soon as ``write`` returns).

A write or open error never stops the program: it is recorded in :attr:`LogFile.error`,
listeners are told, the chunk is dropped from the file, and the next chunk is tried again
(so writes resume when space returns after ENOSPC).
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable
from pathlib import Path

from ..core.errors import LogUnavailable

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC

#: A range of bytes to read: (path, offset in that file, length).
Piece = tuple[Path, int, int]


class LogFile:
    """One log file and its backups.

    Parameters
    ----------
    path
        The file (absolute). Backups are ``path.1`` … ``path.N``.
    maxbytes
        Rotate once the file holds this many bytes (0: never).
    backups
        How many rotated files to keep (0: truncate instead of keeping one).
    make_folder
        Create the file's folder if missing (for AUTO logs; a user's path must exist).
    """

    def __init__(
        self, path: Path, maxbytes: int = 0, backups: int = 0, make_folder: bool = False
    ) -> None:
        self.path = path
        self.maxbytes = maxbytes
        self.backups = backups
        self.make_folder = make_folder
        self.fd = -1
        self.size = 0  #: bytes in the current file, tracked in memory
        self.start = 0  #: position of the current file's first byte
        self.floor = 0  #: positions below this are not ours (an earlier session's content)
        self.spans: deque[tuple[int, int]] = deque()  #: (start, end) of path.1, path.2...
        self.cleared: deque[tuple[int, int]] = deque(maxlen=100)  #: ranges cleared
        self.regular = True  #: False for /dev/null, a FIFO...: never rotated
        self.ends_with_newline = True
        self.error: str | None = None
        self.dropped = 0  #: bytes lost since the last successful write
        self.users = 0
        self.listeners: list[Callable[[], None]] = []
        self._opened_before = False

    def __repr__(self) -> str:
        return f"<LogFile {self.path} size={self.size} error={self.error!r}>"

    @property
    def position(self) -> int:
        """The position the next byte written will have."""
        return self.start + self.size

    @property
    def is_open(self) -> bool:
        return self.fd >= 0

    # ------------------------------------------------------------------ opening

    def open(self) -> bool:
        """Open (or re-open) the file for appending; False and :attr:`error` if it failed."""
        if self.fd >= 0:
            return True
        try:
            if self.make_folder:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, _WRITE_FLAGS, 0o644)
        except OSError as error:
            self._fail(f"cannot open {self.path}: {error.strerror}", 0)
            return False
        info = os.fstat(fd)
        self.fd = fd
        self.regular = stat.S_ISREG(info.st_mode)
        size = info.st_size if self.regular else 0
        if not self._opened_before or size != self.size:
            # first open, or changed behind our back: what is there now is not ours
            self.spans.clear()
            self.start = self.position
            self.size = size
            self.floor = self.position
            self.ends_with_newline = size == 0 or _last_byte(self.path, size) == b"\n"
        self._opened_before = True
        self._succeeded()
        return True

    def close(self) -> None:
        """Close the descriptor; the history is kept for a later :meth:`open`."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        """Append ``data`` (one system call), then rotate if the file is full."""
        if not data:
            return
        if self.fd < 0:
            self.dropped += len(data)
            return
        written = 0
        try:
            written = os.write(self.fd, data)
            while written < len(data):  # a short write: the disk is (nearly) full
                more = os.write(self.fd, memoryview(data)[written:])
                if more <= 0:
                    raise OSError(28, os.strerror(28))
                written += more
        except OSError as error:
            self.size += written
            self._fail(f"cannot write {self.path}: {error.strerror}", len(data) - written)
            return
        self.size += written
        self.ends_with_newline = data[-1] == 10
        if self.error is not None:
            self._succeeded()
        if 0 < self.maxbytes <= self.size and self.regular:
            self.rotate()

    def rotate(self) -> None:
        """``x.log`` → ``x.log.1`` → … → ``x.log.N`` (``doRollover``); truncate if N is 0."""
        try:
            if self.backups > 0:
                for number in range(self.backups - 1, 0, -1):
                    _replace(f"{self.path}.{number}", f"{self.path}.{number + 1}")
                _replace(str(self.path), f"{self.path}.1")
                fd = os.open(self.path, _WRITE_FLAGS | os.O_TRUNC, 0o644)
                os.close(self.fd)
                self.fd = fd
                self.spans.appendleft((self.start, self.position))
                while len(self.spans) > self.backups:
                    self.spans.pop()
            else:
                os.ftruncate(self.fd, 0)
        except OSError as error:
            # half done (or the new file could not be made): what is where is unknown now
            self.spans.clear()
            self.floor = self.position
            self._fail(f"cannot rotate {self.path}: {error.strerror}", 0)
            return
        self.start = self.position
        self.size = 0
        self.ends_with_newline = True

    def truncate(self) -> None:
        """Empty the current file (``supervisorctl clear``); backups are kept."""
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)
        except OSError as error:
            self._fail(f"cannot clear {self.path}: {error.strerror}", 0)
            return
        self.cleared.append((self.start, self.position))
        self.start = self.position
        self.size = 0
        self.ends_with_newline = True

    # ------------------------------------------------------------------ errors

    def _fail(self, message: str, dropped: int) -> None:
        self.dropped += dropped
        if message != self.error:
            self.error = message
            self._tell()

    def _succeeded(self) -> None:
        if self.error is not None:
            self.error = None
            self._tell()
        self.dropped = 0

    def _tell(self) -> None:
        for listener in list(self.listeners):
            listener()

    # ------------------------------------------------------------------ reading

    def oldest(self) -> int:
        """The first position still on disk."""
        first = self.spans[-1][0] if self.spans else self.start
        return max(first, self.floor)

    def locate(self, begin: int, end: int) -> list[Piece]:
        """Where positions ``begin`` … ``end`` are on disk, oldest first.

        Raises
        ------
        LogUnavailable
            When part of the range was rotated away, cleared or is unknown.
        """
        if end <= begin:
            return []
        if not self.regular:
            raise LogUnavailable(f"{self.path} is not a regular file: it cannot be read back")
        files = [(self.start, self.position, self.path)]
        files += [
            (start, stop, Path(f"{self.path}.{number}"))
            for number, (start, stop) in enumerate(self.spans, 1)
        ]
        pieces: list[Piece] = []
        for start, stop, path in files:
            low, high = max(begin, start, self.floor), min(end, stop)
            if low < high:
                pieces.append((path, low - start, high - low))
        if sum(length for _, _, length in pieces) != end - begin:
            raise LogUnavailable(self._missing(begin, end))
        return pieces[::-1]

    def _missing(self, begin: int, end: int) -> str:
        if any(start < end and begin < stop for start, stop in self.cleared):
            return f"it was cleared from {self.path}"
        if begin < self.oldest():
            kept = f"{self.backups} backups" if self.backups else "no backups"
            return f"it was rotated away from {self.path} (maxbytes={self.maxbytes}, {kept})"
        return f"it is no longer in {self.path}"

    def open_pieces(self, pieces: list[Piece]) -> list[tuple[int, int, int]]:
        """Open each piece's file for reading: (descriptor, offset, length).

        Done on the writing thread, so no rotation can rename a file in between; the
        reading can then happen on any thread (an open descriptor follows a renamed file).
        """
        opened: list[tuple[int, int, int]] = []
        try:
            for path, offset, length in pieces:
                opened.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), offset, length))
        except OSError as error:
            for fd, _, _ in opened:
                os.close(fd)
            raise LogUnavailable(f"cannot read {error.filename}: {error.strerror}") from None
        return opened


def read_pieces(opened: list[tuple[int, int, int]]) -> bytes:
    """Read and close what :meth:`LogFile.open_pieces` opened.

    Raises
    ------
    LogUnavailable
        When a file became shorter meanwhile (truncated by a rotation or a clear).
    """
    parts = []
    try:
        for fd, offset, length in opened:
            data = os.pread(fd, length, offset)
            if len(data) != length:
                raise LogUnavailable("the log was truncated while being read")
            parts.append(data)
    finally:
        for fd, _, _ in opened:
            os.close(fd)
    return b"".join(parts)


class LogFiles:
    """The log files of one supervisor, one :class:`LogFile` per path.

    Two channels naming the same path share one file (and its rotation). A file nobody
    uses is closed but kept, so its history still locates earlier attempts' output.
    """

    def __init__(self) -> None:
        self.files: dict[Path, LogFile] = {}

    def acquire(self, path: Path, maxbytes: int, backups: int, make_folder: bool) -> LogFile:
        """The file at ``path``, opened (an error is recorded on it, never raised)."""
        file = self.files.get(path)
        if file is None:
            file = self.files[path] = LogFile(path, maxbytes, backups, make_folder)
        file.maxbytes, file.backups = maxbytes, backups
        file.users += 1
        file.open()
        return file

    def release(self, file: LogFile) -> None:
        """One user less; the last one closes the descriptor."""
        file.users -= 1
        if file.users <= 0:
            file.users = 0
            file.close()

    def close(self) -> None:
        for file in self.files.values():
            file.close()


def _last_byte(path: Path, size: int) -> bytes:
    """The file's last byte (a separate descriptor: ours may be write-only)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return b"\n"  # unreadable: assume a line end rather than add a blank line
    try:
        return os.pread(fd, 1, size - 1)
    finally:
        os.close(fd)


def _replace(source: str, target: str) -> None:
    """Rename, replacing ``target``; a missing ``source`` is fine (``removeAndRename``)."""
    try:
        os.replace(source, target)
    except FileNotFoundError:
        pass
