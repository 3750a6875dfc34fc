"""Reading supervision records back: supervisord.log files and nbsup's event files.

Both readers return the event log schema of :mod:`nbsup.eventlog`, so a log written by a
real supervisord and a session recorded by nbsup can be compared row for row.
"""

from __future__ import annotations

from . import accessor as _accessor  # noqa: F401  (registers the df.nbsup accessor)
from .eventfile import read_events
from .history import history, sessions
from .logreader import read_supervisord_log

__all__ = ["history", "read_events", "read_supervisord_log", "sessions"]
