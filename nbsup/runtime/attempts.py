"""Attempts: which part of a program's output each spawn wrote, so it can be read back.

An *attempt* is one spawn of a program: the k-th row of its event log that enters
STARTING (spawn errors included: their output is empty). For each attempt and channel an
:class:`AttemptBook` keeps where the output began and ended, both as log file positions
(which survive rotations, see :mod:`nbsup.runtime.logfile`) and as positions in the
in-memory tail (for channels without a file). Nothing is parsed back from the files: the
markers written between attempts are for people.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.errors import LogUnavailable
from .logfile import LogFile, read_pieces
from .output import OutputChannel

#: Attempts indexed per program (the oldest are forgotten; their numbers stay counted).
MAX_ATTEMPTS = 10_000
#: Not known yet: an attempt still running has no end position.
OPEN = -1


class _Spans:
    """Where each attempt's output is on one channel: a column of positions per field.

    Kept as typed arrays, not an object per attempt: a program restarting thousands of
    times must not fill the heap with small objects for the garbage collector to walk.
    ``source`` indexes ``sources``, the (channel, log file) pairs in use over time.
    """

    __slots__ = ("file_end", "file_start", "source", "sources", "tail_end", "tail_start")

    def __init__(self, length: int) -> None:
        self.sources: list[tuple[OutputChannel, LogFile | None]] = []
        self.source = array("q", [-1]) * length  # -1: no such channel in that attempt
        self.file_start = array("q", [0]) * length
        self.file_end = array("q", [0]) * length
        self.tail_start = array("q", [0]) * length
        self.tail_end = array("q", [0]) * length

    def columns(self) -> tuple[array[int], ...]:
        return (self.source, self.file_start, self.file_end, self.tail_start, self.tail_end)

    def append_absent(self) -> None:
        for column, value in zip(self.columns(), (-1, 0, 0, 0, 0), strict=True):
            column.append(value)

    def open(self, index: int, channel: OutputChannel) -> None:
        file = channel.file if channel.path is not None else None
        if (
            not self.sources
            or self.sources[-1][0] is not channel
            or self.sources[-1][1] is not file
        ):
            self.sources.append((channel, file))
        self.source[index] = len(self.sources) - 1
        self.file_start[index] = file.position if file is not None else 0
        self.file_end[index] = self.tail_end[index] = OPEN
        self.tail_start[index] = channel.total

    def close(self, index: int) -> None:
        if self.source[index] < 0 or self.file_end[index] != OPEN:
            return
        channel, file = self.sources[self.source[index]]
        self.file_end[index] = file.position if file is not None else 0
        self.tail_end[index] = channel.total

    def forget(self, count: int) -> None:
        for column in self.columns():
            del column[:count]


@dataclass
class Reading:
    """An attempt's output, from the tail (``data``) or from open files (``opened``)."""

    data: bytes | None = None
    opened: list[tuple[int, int, int]] = field(default_factory=list)

    def read(self) -> bytes:
        """The bytes (reads and closes the files; fine on any thread)."""
        return self.data if self.data is not None else read_pieces(self.opened)


class AttemptBook:
    """The attempts of one program over the session (kept across replacement and removal).

    An attempt is known by its number (from 1). :meth:`begin` counts one,
    :meth:`open_spans` records where its output starts on each channel and
    :meth:`close_spans` where it ends.

    Parameters
    ----------
    name
        The program's name (for messages).
    limit
        How many of the latest attempts are indexed.
    """

    def __init__(self, name: str, limit: int = MAX_ATTEMPTS) -> None:
        self.name = name
        self.limit = limit
        self.count = 0
        self.first = 1  # the number of the oldest attempt indexed
        self.pids = array("q")  # 0: the spawn failed
        self._spans: dict[str, _Spans] = {}

    def begin(self, pid: int | None) -> int:
        """Count a new attempt; its output is placed by :meth:`open_spans`."""
        if self.count - self.first + 1 >= 2 * self.limit:  # forget in batches: amortised
            drop = self.count - self.first + 1 - self.limit
            del self.pids[:drop]
            for spans in self._spans.values():
                spans.forget(drop)
            self.first += drop
        self.count += 1
        self.pids.append(pid or 0)
        for spans in self._spans.values():
            spans.append_absent()
        return self.count

    def pid(self, number: int) -> int | None:
        """The pid of attempt ``number`` (None if its spawn failed or it is forgotten)."""
        index = number - self.first
        return (self.pids[index] or None) if 0 <= index < len(self.pids) else None

    def open_spans(self, number: int, channels: Mapping[str, OutputChannel]) -> None:
        """Attempt ``number``'s output starts at the channels' current positions."""
        index = number - self.first
        for name, channel in channels.items():
            spans = self._spans.get(name)
            if spans is None:
                spans = self._spans[name] = _Spans(len(self.pids))
            spans.open(index, channel)

    def close_spans(self, number: int) -> None:
        """Attempt ``number`` ended: its output stops here (before the exit marker)."""
        index = number - self.first
        if 0 <= index < len(self.pids):
            for spans in self._spans.values():
                spans.close(index)

    def find(self, k: int) -> int:
        """The number of attempt ``k`` (from 1; negative counts from the latest)."""
        number = k if k > 0 else self.count + 1 + k
        if k == 0 or not 1 <= number <= self.count:
            raise LogUnavailable(
                f"{self.name} has had {self.count} attempt{'s' * (self.count != 1)}: "
                f"no attempt {k} (use 1..{self.count}, or -1 for the latest)"
            )
        if number < self.first:
            raise LogUnavailable(
                f"attempt {number} of {self.name} is older than the {self.limit} attempts indexed"
            )
        return number

    def prepare(self, k: int, channel: str, nbytes: int | None = None) -> Reading:
        """Find attempt ``k``'s output on ``channel`` (on the supervisor's thread).

        Raises
        ------
        LogUnavailable
            No such attempt, no such channel then, or the output is no longer kept.
        """
        number = self.find(k)
        index = number - self.first
        what = f"attempt {number} of {self.name} ({channel})"
        spans = self._spans.get(channel)
        if spans is None or spans.source[index] < 0:
            raise LogUnavailable(f"{what}: there was no {channel} (redirect_stderr=true)")
        output, file = spans.sources[spans.source[index]]
        if file is None:
            end = spans.tail_end[index]
            end = output.total if end == OPEN else end
            start = spans.tail_start[index]
            begin = start if nbytes is None else max(start, end - nbytes)
            data = output.read_range(begin, end)
            if data is None:
                raise LogUnavailable(
                    f"{what}: it had no log file and its output is no longer in memory "
                    f"(tail_bytes={output.tail_bytes})"
                )
            return Reading(data=data)
        end = spans.file_end[index]
        end = file.position if end == OPEN else end
        start = spans.file_start[index]
        begin = start if nbytes is None else max(start, end - nbytes)
        try:
            return Reading(opened=file.open_pieces(file.locate(begin, end)))
        except LogUnavailable as error:
            raise LogUnavailable(f"{what}: {error}{_kept_hint(file, begin, end)}") from None


def _kept_hint(file: LogFile, begin: int, end: int) -> str:
    """Say how much of the end of a partly rotated-away range is still on disk."""
    kept = end - max(begin, file.oldest())
    if not 0 < kept < end - begin:
        return ""
    try:
        file.locate(end - kept, end)
    except LogUnavailable:
        return ""
    return f"; its last {kept} bytes are kept (pass nbytes={kept})"
