"""Earlier kernels' sessions: list them, and read one back as an event log.

Every supervisor writes into its own session folder, ``<state_dir>/<YYYYmmdd-HHMMSS>-<pid>``
(``-2``, ``-3``… when two start in the same second), and appends each transition to its
``events.jsonl`` as it happens. After a kernel restart or crash those files are all that is
left of the old kernel's programs; :func:`history` reads them back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..core.errors import NbsupError
from .eventfile import EVENTS_FILE, read_events

__all__ = ["history", "sessions"]

_FOLDER = re.compile(r"^(?P<stamp>\d{8}-\d{6})-(?P<pid>\d+)(?:-(?P<n>\d+))?$")


@dataclass(frozen=True)
class _Session:
    folder: Path
    started: pd.Timestamp
    pid: int
    number: int

    @property
    def current(self) -> bool:
        return self.pid == os.getpid()


def _sessions(state_dir: str | os.PathLike[str]) -> list[_Session]:
    """The session folders under ``state_dir``, oldest first."""
    root = Path(state_dir).expanduser()
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        match = _FOLDER.match(folder.name)
        if match is None or not (folder / EVENTS_FILE).is_file():
            continue
        started = pd.Timestamp(datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S"))
        found.append(_Session(folder, started, int(match["pid"]), int(match["n"] or 1)))
    found.sort(key=lambda session: (session.started, session.number, session.folder.name))
    return found


def sessions(state_dir: str | os.PathLike[str] = ".nbsup") -> pd.DataFrame:
    """The supervisor sessions recorded under ``state_dir``, oldest first.

    Parameters
    ----------
    state_dir
        The supervisors' state folder (``Supervisor.state_dir``, ``.nbsup`` by default).

    Returns
    -------
    pandas.DataFrame
        One row per session: ``session`` (folder name), ``started`` (local time),
        ``pid`` (of the process that ran it), ``current`` (this process's own session),
        ``events`` (lines in its event file) and ``folder``.
    """
    rows = []
    for session in _sessions(state_dir):
        with open(session.folder / EVENTS_FILE, "rb") as file:
            lines = sum(1 for line in file if line.strip())
        rows.append(
            {
                "session": session.folder.name,
                "started": session.started,
                "pid": session.pid,
                "current": session.current,
                "events": lines,
                "folder": str(session.folder),
            }
        )
    columns = ["session", "started", "pid", "current", "events", "folder"]
    return pd.DataFrame(rows, columns=columns)


def history(session: int | str = -1, state_dir: str | os.PathLike[str] = ".nbsup") -> pd.DataFrame:
    """The event log of an earlier session, e.g. the kernel that ran before a restart.

    Parameters
    ----------
    session
        Which session: ``-1`` (default) is the latest one that is not this process's
        own, ``-2`` the one before it, and so on; ``"all"`` reads every earlier session;
        a folder name from :func:`sessions` picks that one (the current one included).
    state_dir
        The supervisors' state folder (``Supervisor.state_dir``, ``.nbsup`` by default).

    Returns
    -------
    pandas.DataFrame
        The event log schema of :mod:`nbsup.eventlog`, as :func:`nbsup.read_events`
        returns it (a torn last line left by a crash is skipped and counted in
        ``attrs["skipped_lines"]``); ``attrs["sessions"]`` names the files read.

    Raises
    ------
    NbsupError
        When there is no such session.
    """
    found = _sessions(state_dir)
    earlier = [item for item in found if not item.current]
    where = f"in {Path(state_dir).expanduser()}"
    if isinstance(session, str) and session != "all":
        chosen = [item for item in found if item.folder.name == session]
        if not chosen:
            names = ", ".join(item.folder.name for item in found[-5:]) or "none"
            raise NbsupError(f"no session {session!r} {where} (latest: {names})")
    elif session == "all":
        chosen = earlier
        if not chosen:
            raise NbsupError(f"no earlier session {where}")
    elif isinstance(session, int) and not isinstance(session, bool) and session < 0:
        if -session > len(earlier):
            raise NbsupError(
                f"session {session} asked for, but {len(earlier)} earlier session(s) {where}"
            )
        chosen = [earlier[session]]
    else:
        raise NbsupError(
            f"session={session!r}: expected -1, -2… (latest first), 'all' or a folder name"
        )
    frames = [read_events(item.folder / EVENTS_FILE) for item in chosen]
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = {
        "lines": sum(part.attrs["lines"] for part in frames),
        "skipped_lines": sum(part.attrs["skipped_lines"] for part in frames),
        "skipped_examples": [x for part in frames for x in part.attrs["skipped_examples"]][:5],
        "sessions": [name for part in frames for name in part.attrs["sessions"]],
    }
    return frame
