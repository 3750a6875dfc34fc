"""supervisord's wording for a program's status: descriptions and process info.

``description`` follows ``rpcinterface._interpretProcessInfo`` (semantics.md §14):
``pid 123, uptime 0:00:05`` when RUNNING, the spawn error when BACKOFF or FATAL, the stop
time (``Nov 26 10:18 PM``) when STOPPED or EXITED, ``Not started`` before the first start.
"""

from __future__ import annotations

import datetime
import time

from .core.states import ProcessState


def uptime_text(start: float, now: float) -> str:
    """``0:00:05`` or ``1 day, 2:03:04``: whole seconds, never negative."""
    seconds = max(0, int(now) - int(start))
    return str(datetime.timedelta(seconds=seconds))


def description(
    state: ProcessState,
    *,
    name: str,
    pid: int,
    spawnerr: str | None,
    laststart: float | None,
    laststop: float | None,
    now: float | None = None,
) -> str:
    """supervisorctl's description column for a program in ``state`` (times are epoch s)."""
    if state is ProcessState.RUNNING:
        now = time.time() if now is None else now
        return f"pid {pid}, uptime {uptime_text(laststart or now, now)}"
    if state in (ProcessState.BACKOFF, ProcessState.FATAL):
        return spawnerr or f'unknown error (try "tail {name}")'
    if state in (ProcessState.STOPPED, ProcessState.EXITED):
        if laststart:
            stop = laststop if laststop is not None else laststart
            return time.strftime("%b %d %I:%M %p", time.localtime(stop))
        return "Not started"
    return ""


def status_line(namespec: str, state: str, desc: str, width: int = 30) -> str:
    """One line of ``supervisorctl status``: name padded to ``width + 3``, state to 10."""
    return f"{namespec:<{width + 3}}{state:<10}{desc}"


def status_table(rows: list[tuple[str, str, str]]) -> str:
    """``supervisorctl status`` for (namespec, state, description) rows."""
    width = max([30, *(len(name) for name, _, _ in rows)])
    return "\n".join(status_line(name, state, desc, width) for name, state, desc in rows)
