"""One program's output: its channels, their log files, markers and attempts.

:class:`ProgramLogs` turns a program's options into channels (``stdout``, and ``stderr``
unless ``redirect_stderr``), each writing to ``AUTO`` (``<folder>/<name>-<channel>.log``),
``NONE`` (no file) or a path (``~`` expanded; its folder must exist). At each spawn and
exit it writes a marker line into the files and records the attempt's positions in the
program's :class:`~nbsup.runtime.attempts.AttemptBook`. A file that cannot be opened or
written is reported (never raised): the program runs on, its output kept in memory.
stdout and stderr naming one path share one file: one marker, their output interleaved.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..core.options import ProgramOptions
from .attempts import AttemptBook
from .logfile import LogFile, LogFiles
from .output import OutputChannel, format_stamp

#: Called with (program, channel, error or None once it is fixed, the file or None).
Report = Callable[[str, str, str | None, LogFile | None], None]

MARKER = "==> nbsup: attempt"


def channel_names(options: ProgramOptions) -> list[str]:
    """``["stdout"]`` with ``redirect_stderr``, else ``["stdout", "stderr"]``."""
    return ["stdout"] if options.redirect_stderr else ["stdout", "stderr"]


def log_target(options: ProgramOptions, channel: str, folder: Path | None) -> Path | None:
    """The file ``channel`` is written to: None for NONE (or AUTO without a folder)."""
    value = getattr(options, f"{channel}_logfile")
    if value == "NONE":
        return None
    if value == "AUTO":
        return None if folder is None else folder / f"{options.name}-{channel}.log"
    return Path(os.path.expanduser(value)).absolute()


class ProgramLogs:
    """The output side of one program.

    Parameters
    ----------
    options
        The program's options (``*_logfile``, ``*_maxbytes``, ``*_backups``...).
    files
        The supervisor's log files, shared by path.
    book
        The program's attempts (outlives this object when the program is replaced).
    folder
        Where AUTO logs go (None: AUTO keeps no file).
    tail_bytes
        In-memory tail per channel.
    clock
        Epoch seconds now.
    report
        Told when a channel's file starts or stops failing.
    markers
        Whether marker lines are written (asked at each spawn).
    """

    def __init__(
        self,
        options: ProgramOptions,
        files: LogFiles,
        book: AttemptBook,
        folder: Path | None,
        tail_bytes: int,
        clock: Callable[[], float],
        report: Report,
        markers: Callable[[], bool] = lambda: True,
    ) -> None:
        self.name = options.name
        self.files = files
        self.book = book
        self.folder = folder
        self.tail_bytes = tail_bytes
        self.clock = clock
        self.report = report
        self.markers = markers
        self.channels: dict[str, OutputChannel] = {}
        self.current: int | None = None  # the running attempt's number
        self._held: list[tuple[str, bytes]] | None = None
        self._watching: dict[str, tuple[LogFile, Callable[[], None]]] = {}
        self._reported: dict[str, str | None] = {}
        self.configure(options)

    # ------------------------------------------------------------------ configuration

    def configure(self, options: ProgramOptions) -> None:
        """Set up the channels for ``options`` (a replaced program keeps its tails)."""
        names = channel_names(options)
        for name in [n for n in self.channels if n not in names]:
            self._unwatch(name)
            self.channels.pop(name).close()
            self._refresh(name)
        channels = {}
        for name in names:
            target = log_target(options, name, self.folder)
            file = None
            if target is not None:
                maxbytes = getattr(options, f"{name}_logfile_maxbytes")
                backups = getattr(options, f"{name}_logfile_backups")
                auto = getattr(options, f"{name}_logfile") == "AUTO"  # its folder is ours
                file = self.files.acquire(target, maxbytes, backups, make_folder=auto)
            timestamps = getattr(options, f"{name}_timestamps")
            channel = self.channels.get(name)
            if channel is None:
                channel = OutputChannel(file, self.tail_bytes, timestamps, self.clock, target)
            else:
                self._unwatch(name)
                channel.configure(file, timestamps, target)
            channels[name] = channel
            self._watch(name, file)
        self.channels = channels

    def _watch(self, name: str, file: LogFile | None) -> None:
        if file is not None:

            def changed() -> None:
                self._refresh(name)

            file.listeners.append(changed)
            self._watching[name] = (file, changed)
        self._refresh(name)

    def _unwatch(self, name: str) -> None:
        watched = self._watching.pop(name, None)
        if watched is not None:
            file, changed = watched
            if changed in file.listeners:
                file.listeners.remove(changed)
            self.files.release(file)

    def _refresh(self, name: str) -> None:
        watched = self._watching.get(name)
        file = watched[0] if watched is not None else None
        error = file.error if file is not None else None
        if error != self._reported.get(name):
            self._reported[name] = error
            self.report(self.name, name, error, file)

    @property
    def errors(self) -> dict[str, str]:
        """The channels whose log file is failing now, with why."""
        return {name: error for name, error in self._reported.items() if error}

    # ------------------------------------------------------------------ output

    def sink(self, channel: str, data: bytes) -> None:
        """Route a chunk of output to its channel."""
        target = self.channels.get(channel) or self.channels["stdout"]
        target.write(data)

    # ------------------------------------------------------------------ attempts

    def spawning(self) -> Callable[[str, bytes], None]:
        """A spawn begins: retry files that could not be opened; the new process's output
        callback, which holds what comes before :meth:`spawned` (or :meth:`spawn_failed`)
        marks its attempt, so that it follows the marker. An earlier process's output is
        not held: it belongs before the new marker (its attempt is closed by then)."""
        for channel in self.channels.values():
            file = channel.file
            if file is not None and not file.is_open:
                file.open()
        held: list[tuple[str, bytes]] = []
        self._held = held

        def sink(channel: str, data: bytes) -> None:
            if self._held is held:
                held.append((channel, data))
            else:
                self.sink(channel, data)

        return sink

    def spawned(self, pid: int, wall: float) -> None:
        """The process started: a new attempt, marked in the files."""
        number = self.current = self.book.begin(pid)  # spans start after the marker
        self._mark(f"{MARKER} {number} spawned, pid {pid}, {format_stamp(wall)}")
        self.book.open_spans(number, self.channels)
        self.release_held()

    def spawn_failed(self, message: str, wall: float) -> None:
        """The spawn failed: an attempt without output, marked in the files."""
        number = self.book.begin(None)
        self._mark(f"{MARKER} {number} could not spawn: {message}, {format_stamp(wall)}")
        self.book.open_spans(number, self.channels)
        self.book.close_spans(number)
        self.release_held()

    def release_held(self) -> None:
        """Write the output that came while spawning (and stop holding)."""
        held, self._held = self._held or [], None
        for channel, data in held:
            self.sink(channel, data)

    def exited(self, how: str, wall: float, ran: float | None) -> None:
        """The process ended (``how``: ``exit status 1``...): close its attempt."""
        number, self.current = self.current, None
        if number is None:
            return
        self.book.close_spans(number)
        after = "" if ran is None else f" after {ran:.3f} s"
        self._mark(
            f"{MARKER} {number} exited ({how}){after}, pid {self.book.pid(number)}, "
            f"{format_stamp(wall)}"
        )

    def _mark(self, line: str) -> None:
        if not self.markers():
            return
        marked: set[int] = set()
        for channel in self.channels.values():
            file = channel.file
            if file is not None and id(file) in marked:  # stdout and stderr share a file
                channel.mark(None)
                continue
            if file is not None:
                marked.add(id(file))
            channel.mark(line)

    # ------------------------------------------------------------------ lifetime

    def clear(self) -> None:
        """Empty the tails and the current log files (``supervisorctl clear``)."""
        for channel in self.channels.values():
            channel.clear()

    def close(self) -> None:
        """Release the files and forget the tails (the program is removed)."""
        for name in list(self.channels):
            self._unwatch(name)
            self.channels[name].close()
        self._reported.clear()
