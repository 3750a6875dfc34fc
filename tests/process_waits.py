"""Waiting on other processes: for their exit, on events (one pidfd per process, ``select``
with a timeout), for the files they write (:class:`FolderWatch`, inotify), and for what they
show no event for (:func:`poll_until`).

Shared by the runtime, kernel, browser, analysis and differential tests (``tests/`` is on
``sys.path`` through its ``conftest.py``). A zombie counts as exited: its pidfd is readable
as soon as it dies.
"""

from __future__ import annotations

import ctypes
import os
import select
import time
from collections.abc import Callable, Iterable


def wait_exited(pids: Iterable[int], timeout: float) -> list[int]:
    """Block until every process has exited or ``timeout`` seconds pass; return the pids
    still running (empty when all exited)."""
    watching: dict[int, int] = {}
    for pid in pids:
        try:
            watching[os.pidfd_open(pid)] = pid
        except ProcessLookupError:  # already gone (and reaped)
            continue
    deadline = time.monotonic() + timeout
    try:
        while watching:
            ready, _, _ = select.select(
                list(watching), [], [], max(0.0, deadline - time.monotonic())
            )
            for fd in ready:
                os.close(fd)
                del watching[fd]
            if not ready:
                break
        return sorted(watching.values())
    finally:
        for fd in watching:
            os.close(fd)


#: inotify's events for "a file in the folder was written to or created".
_IN_MODIFY = 0x2
_IN_CREATE = 0x100


class FolderWatch:
    """Wakes when another process writes or creates a file in ``folder`` (inotify).

    Use it as a context manager; :meth:`wait` returns at the next write or after
    ``timeout`` seconds, whichever comes first.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(folder), _IN_MODIFY | _IN_CREATE) < 0:
            error = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(error, f"inotify_add_watch {folder}")

    def wait(self, timeout: float) -> bool:
        """True when something was written (the events are consumed), False on timeout."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def until_written(
    folder: str | os.PathLike[str],
    predicate: Callable[[], bool],
    timeout: float,
    what: str = "condition",
    recheck: float = 1.0,
) -> float:
    """Check ``predicate()`` each time a file in ``folder`` is written (at the latest every
    ``recheck`` seconds) until it holds; return the seconds it took (AssertionError naming
    ``what`` after ``timeout``). For a process whose log tells when to look again."""
    started = time.monotonic()
    with FolderWatch(folder) as watch:
        while not predicate():
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise AssertionError(f"{what} not met within {timeout} s")
            watch.wait(min(left, recheck))
    return time.monotonic() - started


def poll_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.01, what: str = "condition"
) -> float:
    """Check ``predicate()`` every ``interval`` seconds until it holds; return the seconds it
    took (AssertionError naming ``what`` after ``timeout``).

    The one polling wait of the tests, for what another process shows only in ``/proc``
    (children appearing under a program, a process gone to sleep).
    """
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
