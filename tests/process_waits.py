"""Waiting for processes to exit, on events: one pidfd per process, ``select`` with a timeout.

Shared by the runtime, kernel and browser tests (``tests/`` is on ``sys.path`` through its
``conftest.py``). A zombie counts as exited: its pidfd is readable as soon as it dies.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterable


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
