"""``tail -f`` over HTTP: stream a growing log file, as supervisord's ``tail_f_producer``.

``supervisorctl tail -f x`` and ``maintail -f`` GET ``/logtail/x/stdout`` and
``/mainlogtail`` and print the chunked response as it arrives. The stream starts with the
last 1024 bytes, then sends what is appended; a rotated file (new inode) is reopened and a
truncated one (``clear``) announced with ``==> File truncated <==``, as supervisord does.
A program's log wakes the stream as soon as the program writes (its output channel
signals new output); supervisord.log has no such signal and is checked five times a
second. The stream ends when the client goes away or the server stops.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

#: Bytes sent before following (``http.py``: ``tail_f_producer(request, logfile, 1024)``).
HEAD = 1024
#: Largest chunk read and sent at once.
CHUNK = 64 * 1024


class Wakeup:
    """How a stream waits for more data: on a program's output channel, or on a timer.

    Parameters
    ----------
    stopped
        Set when the server stops; every wait ends early then.
    channel
        The program's :class:`~nbsup.runtime.output.OutputChannel` (None: no signal, check
        every ``interval`` seconds).
    interval
        The longest wait (also how soon a stream notices a client that went away).
    """

    def __init__(
        self, stopped: threading.Event, channel: Any = None, interval: float = 0.2
    ) -> None:
        self.stopped = stopped
        self.channel = channel
        self.interval = interval

    def mark(self) -> int:
        """Where the channel is now: taken before reading the file, so no write is missed."""
        return int(getattr(self.channel, "total", 0))

    def wait(self, mark: int) -> None:
        """Block until output past ``mark`` exists, the server stops or ``interval`` passes."""
        waiter = getattr(self.channel, "wait_for_more", None)
        if waiter is None or self.stopped.is_set():
            self.stopped.wait(self.interval)
        else:
            waiter(mark, self.interval)


def follow(
    path: Path,
    send: Callable[[bytes], None],
    wakeup: Wakeup,
    client_gone: Callable[[], bool],
    head: int = HEAD,
) -> None:
    """Send the last ``head`` bytes of ``path``, then what is appended, until the client
    goes away (``send`` raises OSError or ``client_gone()``) or the server stops."""
    try:
        while not wakeup.stopped.is_set():
            with open(path, "rb") as file:
                if not _follow_open(file, path, send, wakeup, client_gone, head):
                    return
            head = 0  # a rotated file is sent from its start
    except OSError:  # the client went away (broken pipe), or the file cannot be read
        return


def _follow_open(
    file: BinaryIO,
    path: Path,
    send: Callable[[bytes], None],
    wakeup: Wakeup,
    client_gone: Callable[[], bool],
    head: int,
) -> bool:
    """Follow one open file; True when ``path`` now names another file (rotated)."""
    inode = os.fstat(file.fileno()).st_ino
    size = os.fstat(file.fileno()).st_size
    position = size - head if head and size >= head else 0
    while not wakeup.stopped.is_set():
        mark = wakeup.mark()
        if _rotated(path, inode):
            return True
        size = os.fstat(file.fileno()).st_size
        if size < position:
            position = 0
            send(b"==> File truncated <==\n")
        elif size > position:
            file.seek(position)
            data = file.read(min(size - position, CHUNK))
            position += len(data)
            send(data)
        elif client_gone():
            return False
        else:
            wakeup.wait(mark)
    return False


def _rotated(path: Path, inode: int) -> bool:
    try:
        return os.stat(path).st_ino != inode
    except OSError:  # unlinked: keep reading what is open until a new file appears
        return False
