"""Attempts: which part of a program's output each spawn wrote, so it can be read back.

An *attempt* is one spawn of a program: the k-th row of its event log that enters
STARTING (spawn errors included: their output is empty). For each attempt and channel an
:class:`AttemptBook` keeps where the output began and ended, both as log file positions
(which survive rotations, see :mod:`nbsup.runtime.logfile`) and as positions in the
in-memory tail (for channels without a file). Nothing is parsed back from the files: the
markers written between attempts are for people.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.errors import LogUnavailable
from .logfile import LogFile, read_pieces
from .output import OutputChannel

#: Attempts indexed per program (the oldest are forgotten; their numbers stay counted).
MAX_ATTEMPTS = 10_000


class Span:
    """Where one attempt's output on one channel is: file positions and tail positions."""

    __slots__ = ("channel", "file", "file_end", "file_start", "tail_end", "tail_start")

    def __init__(self, channel: OutputChannel) -> None:
        self.channel = channel
        self.file: LogFile | None = channel.file if channel.path is not None else None
        self.file_start = self.file.position if self.file is not None else 0
        self.file_end: int | None = None
        self.tail_start = channel.total
        self.tail_end: int | None = None

    def close(self) -> None:
        """The attempt ended: its output stops here (before the exit marker)."""
        if self.file_end is None:
            self.file_end = self.file.position if self.file is not None else 0
            self.tail_end = self.channel.total


class Attempt:
    """One spawn: its number (from 1), its pid (None if it failed) and its spans."""

    __slots__ = ("number", "pid", "spans")

    def __init__(self, number: int, pid: int | None, spans: dict[str, Span]) -> None:
        self.number = number
        self.pid = pid
        self.spans = spans


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

    Parameters
    ----------
    name
        The program's name (for messages).
    limit
        How many of the latest attempts are indexed.
    """

    def __init__(self, name: str, limit: int = MAX_ATTEMPTS) -> None:
        self.name = name
        self.count = 0
        self.attempts: deque[Attempt] = deque(maxlen=limit)

    def begin(self, pid: int | None, channels: Mapping[str, OutputChannel]) -> Attempt:
        """A new attempt, whose output starts at the channels' current positions."""
        self.count += 1
        attempt = Attempt(self.count, pid, {name: Span(ch) for name, ch in channels.items()})
        self.attempts.append(attempt)
        return attempt

    def find(self, k: int) -> Attempt:
        """Attempt ``k`` (from 1; negative counts from the latest, -1 being the latest)."""
        number = k if k > 0 else self.count + 1 + k
        if k == 0 or not 1 <= number <= self.count:
            raise LogUnavailable(
                f"{self.name} has had {self.count} attempt{'s' * (self.count != 1)}: "
                f"no attempt {k} (use 1..{self.count}, or -1 for the latest)"
            )
        first = self.count - len(self.attempts) + 1
        if number < first:
            raise LogUnavailable(
                f"attempt {number} of {self.name} is older than the "
                f"{self.attempts.maxlen} attempts indexed"
            )
        return self.attempts[number - first]

    def prepare(self, k: int, channel: str, nbytes: int | None = None) -> Reading:
        """Find attempt ``k``'s output on ``channel`` (on the supervisor's thread).

        Raises
        ------
        LogUnavailable
            No such attempt, no such channel then, or the output is no longer kept.
        """
        attempt = self.find(k)
        what = f"attempt {attempt.number} of {self.name} ({channel})"
        span = attempt.spans.get(channel)
        if span is None:
            raise LogUnavailable(f"{what}: there was no {channel} (redirect_stderr=true)")
        if span.file is None:
            end = span.tail_end if span.tail_end is not None else span.channel.total
            begin = span.tail_start if nbytes is None else max(span.tail_start, end - nbytes)
            data = span.channel.read_range(begin, end)
            if data is None:
                raise LogUnavailable(
                    f"{what}: it had no log file and its output is no longer in memory "
                    f"(tail_bytes={span.channel.tail_bytes})"
                )
            return Reading(data=data)
        file = span.file
        end = span.file_end if span.file_end is not None else file.position
        begin = span.file_start if nbytes is None else max(span.file_start, end - nbytes)
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
