"""The real supervisord 4.3.0 reading a config file (no daemon), in nbsup's terms.

``supervisord_programs(path)`` runs supervisord's own ``ServerOptions.read_config`` in this
process and turns each process config into the option values nbsup's ``ProgramOptions``
has, so the two readings can be compared option by option.
"""

from __future__ import annotations

import signal
from typing import Any

from supervisor.datatypes import Automatic, RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.options import EventListenerPoolConfig, FastCGIGroupConfig, ServerOptions

#: Options both supervisord and nbsup have, compared by the differential tests.
COMPARED = (
    "command", "autostart", "autorestart", "startsecs", "startretries", "exitcodes",
    "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup", "redirect_stderr",
    "environment", "directory", "umask", "stdout_logfile", "stdout_logfile_maxbytes",
    "stdout_logfile_backups", "stderr_logfile", "stderr_logfile_maxbytes",
    "stderr_logfile_backups", "priority",
)  # fmt: skip


def read_with_supervisord(path: str) -> ServerOptions:
    """supervisord's reading of ``path`` (raises ValueError when supervisord refuses it)."""
    options = ServerOptions()
    options.configfile = path
    options.process_config_file(do_usage=False)
    return options


def supervisord_programs(path: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(group, name, options)`` for each [program:x] process, in supervisord's start order
    (groups by priority then name, processes by priority then name). Event listener pools and
    FastCGI programs are left out: nbsup ignores them."""
    options = read_with_supervisord(path)
    found = []
    for group in options.configroot.supervisord.process_group_configs:  # sorted already
        if isinstance(group, EventListenerPoolConfig | FastCGIGroupConfig):
            continue
        for process in sorted(group.process_configs):
            found.append((group.name, process.name, _nbsup_terms(process, group.priority)))
    return found


def _nbsup_terms(process: Any, group_priority: int) -> dict[str, Any]:
    values = {name: getattr(process, name) for name in COMPARED}
    values["autorestart"] = {
        RestartUnconditionally: "true",
        RestartWhenExitUnexpected: "unexpected",
        False: "false",
    }[process.autorestart]
    values["exitcodes"] = tuple(dict.fromkeys(process.exitcodes))  # nbsup drops repeats
    values["stopsignal"] = signal.Signals(process.stopsignal)
    values["priority"] = group_priority
    for channel in ("stdout", "stderr"):
        key = f"{channel}_logfile"
        value = values[key]
        values[key] = "AUTO" if value is Automatic else "NONE" if value is None else value
    if process.redirect_stderr:  # supervisord drops stderr_logfile; nbsup keeps it, unused
        for key in ("stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups"):
            del values[key]
    return values


def nbsup_terms(options: Any) -> dict[str, Any]:
    """The same dict for an nbsup ``ProgramOptions``."""
    values = {name: getattr(options, name) for name in COMPARED}
    values["autorestart"] = str(options.autorestart.value)
    values["environment"] = dict(options.environment)
    if options.redirect_stderr:
        for key in ("stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups"):
            del values[key]
    return values
