"""Every program's output for the session: log files, in-memory tails and attempt books."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..core.errors import LogUnavailable
from ..core.options import ProgramOptions
from .attempts import AttemptBook, Reading
from .clock import Scheduler
from .logfile import LogFile, LogFiles
from .programlogs import ProgramLogs
from .recorder import Recorder

#: Called with (program, channel, error or None once fixed) when a log file fails or recovers.
LogErrorListener = Callable[[str, str, str | None], None]


class SessionLogs:
    """Makes each program's :class:`ProgramLogs` and keeps what outlives them.

    Parameters
    ----------
    scheduler
        Time, to date markers and warnings.
    recorder
        Its journal gets a WARN line when a log file fails (an INFO line once it recovers).
    log_folder
        Where AUTO log files go (None: AUTO keeps output in memory only).
    tail_bytes
        In-memory tail per output channel.

    Attributes
    ----------
    markers : bool
        Write a marker line into the log files at each spawn and exit.
    on_log_error : callable or None
        Called with (program, channel, error or None) when a log file fails or recovers.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        recorder: Recorder,
        log_folder: Path | None = None,
        tail_bytes: int = 64 * 1024,
    ) -> None:
        self.scheduler = scheduler
        self.recorder = recorder
        self.log_folder = log_folder
        self.tail_bytes = tail_bytes
        self.files = LogFiles()
        #: Each program's attempts, kept for the session (across replacement and removal).
        self.books: dict[str, AttemptBook] = {}
        self.markers = True
        self.on_log_error: LogErrorListener | None = None

    def for_program(self, options: ProgramOptions) -> ProgramLogs:
        """A new program's logs (its attempts continue the book of any earlier same name)."""
        name = options.name
        book = self.books.setdefault(name, AttemptBook(name))
        return ProgramLogs(
            options,
            self.files,
            book,
            self.log_folder,
            self.tail_bytes,
            self._wall_now,
            self._log_error,
            self._markers_wanted,
        )

    def attempt_output(
        self, name: str, attempt: int, channel: str, nbytes: int | None = None
    ) -> Reading:
        """Find the output of attempt ``attempt`` of ``name`` (read it with ``.read()``).

        Raises
        ------
        LogUnavailable
            No such attempt, or its output is no longer kept.
        """
        book = self.books.get(name)
        if book is None:
            raise LogUnavailable(f"{name} has had no attempts")
        return book.prepare(attempt, channel, nbytes)

    def close(self) -> None:
        """Close every log file."""
        self.files.close()

    def _wall_now(self) -> float:
        return self.scheduler.wall(self.scheduler.now())

    def _markers_wanted(self) -> bool:
        return self.markers

    def _log_error(self, name: str, channel: str, error: str | None, file: LogFile | None) -> None:
        journal = self.recorder.journal
        if journal is not None:
            wall = self._wall_now()
            if error is not None:
                journal.log(wall, "WARN", f"{name}: {channel} log: {error}")
            elif file is not None:
                lost = f" ({file.dropped} bytes were lost)" if file.dropped else ""
                journal.log(wall, "INFO", f"{name}: {channel} log: writing {file.path}{lost}")
        if self.on_log_error is not None:
            self.on_log_error(name, channel, error)


__all__ = ["LogErrorListener", "SessionLogs"]
