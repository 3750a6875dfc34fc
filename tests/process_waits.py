"""Waiting on other processes: for their exit, on events (one pidfd per process, ``select``
with a timeout), and for what they show no event for (:func:`poll_until`).

Shared by the runtime, kernel, browser, analysis and differential tests (``tests/`` is on
``sys.path`` through its ``conftest.py``). A zombie counts as exited: its pidfd is readable
as soon as it dies.
"""

from __future__ import annotations

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


def poll_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.01, what: str = "condition"
) -> float:
    """Check ``predicate()`` every ``interval`` seconds until it holds; return the seconds it
    took (AssertionError naming ``what`` after ``timeout``).

    The one polling wait of the tests, for what another process does without telling us
    (a server answering, children appearing under a program, a daemon's log growing).
    """
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started
