"""Which supervisord.conf sections and options nbsup reads, ignores or adds, and
supervisord's own value rules (``supervisor/datatypes.py``) for the nbsup-only notes."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import MISSING, fields
from types import MappingProxyType

from ..core.options import CONVERTERS, ProgramOptions

#: ``[program:x]`` options both supervisord and nbsup have, with supervisord's defaults.
#: Programs read from a file keep these defaults where nbsup's differ (stopasgroup and
#: killasgroup are false; killasgroup follows stopasgroup).
SUPERVISORD_DEFAULTS: Mapping[str, object] = MappingProxyType(
    {
        "autostart": "true",
        "startsecs": "1",
        "startretries": "3",
        "autorestart": "unexpected",
        "exitcodes": "0",
        "stopsignal": "TERM",
        "stopwaitsecs": "10",
        "stopasgroup": "false",
        "killasgroup": None,  # = stopasgroup
        "directory": None,
        "environment": {},
        "redirect_stderr": "false",
        "stdout_logfile": "AUTO",
        "stdout_logfile_maxbytes": "50MB",
        "stdout_logfile_backups": "10",
        "stderr_logfile": "AUTO",
        "stderr_logfile_maxbytes": "50MB",
        "stderr_logfile_backups": "10",
        "umask": None,
        "priority": "999",
    }
)

#: nbsup-only ``[program:x]`` options: supervisord ignores them. Each with how supervisord
#: behaves instead (for the warning and the exported file's comments).
NBSUP_ONLY: Mapping[str, str] = MappingProxyType(
    {
        "restartpause": "supervisord has no pause before an autorestart (its 1 s poll loop "
        "restarts about 1 s after the exit)",
        "backoff": "supervisord's backoff is always linear: 1 s, 2 s, 3 s...",
        "backoffbase": "supervisord's backoff is always linear: 1 s, 2 s, 3 s...",
        "backofffactor": "supervisord's backoff is always linear: 1 s, 2 s, 3 s...",
        "backoffmax": "supervisord's backoff is always linear: 1 s, 2 s, 3 s...",
        "backoffjitter": "supervisord's backoff is always linear: 1 s, 2 s, 3 s...",
        "backoffreset": "supervisord resets the failure count when the program reaches RUNNING",
        "stdout_timestamps": "supervisord writes output lines without timestamps",
        "stderr_timestamps": "supervisord writes output lines without timestamps",
    }
)

#: ``[program:x]`` options that only shape the file: which processes a section makes.
STRUCTURE = ("process_name", "numprocs", "numprocs_start")

#: supervisord ``[program:x]`` options nbsup does not support, with why (ignored, warned).
UNSUPPORTED: Mapping[str, str] = MappingProxyType(
    {
        "user": "programs run as the kernel's user",
        "serverurl": "SUPERVISOR_SERVER_URL is not given to programs",
        "stdout_capture_maxbytes": "no capture mode (it feeds event listeners)",
        "stderr_capture_maxbytes": "no capture mode (it feeds event listeners)",
        "stdout_events_enabled": "no event listeners",
        "stderr_events_enabled": "no event listeners",
        "stdout_syslog": "no syslog output",
        "stderr_syslog": "no syslog output",
    }
)

#: nbsup options that are not ``[program:x]`` options in a file, with what to write instead.
NOT_IN_FILES: Mapping[str, str] = MappingProxyType(
    {"group": "list the program in a [group:x] section's programs= instead"}
)

#: Every option a ``[program:x]`` section may have in nbsup's reading.
PROGRAM_OPTIONS = (*CONVERTERS, *STRUCTURE, *UNSUPPORTED)

#: Sections nbsup ignores, by name or by prefix, with why.
IGNORED_SECTIONS: Mapping[str, str] = MappingProxyType(
    {
        "supervisord": "daemon settings do not apply (the kernel is the supervisor)",
        "supervisorctl": "use %supervisorctl",
        "unix_http_server": "server settings are not read from the file",
        "inet_http_server": "server settings are not read from the file",
        "rpcinterface:": "no RPC interface plugins",
        "ctlplugin:": "no supervisorctl plugins",
        "eventlistener:": "event listeners are not supported",
        "fcgi-program:": "FastCGI programs are not supported",
    }
)


def ignored_section(name: str) -> str | None:
    """Why nbsup ignores section ``name`` (None for sections it reads)."""
    for key, why in IGNORED_SECTIONS.items():
        if name == key or (key.endswith(":") and name.startswith(key)):
            return why
    if name.startswith(("program:", "group:")) or name == "include":
        return None
    return "not a supervisord section (supervisord ignores it too)"


def file_defaults() -> dict[str, object]:
    """Every option's value for a program read from a file, before the file's own.

    supervisord's defaults for the options it has; nbsup's defaults for the nbsup-only ones.
    (``command`` has none; ``killasgroup`` follows ``stopasgroup``.)
    """
    nbsup_defaults = {f.name: f.default for f in fields(ProgramOptions) if f.default is not MISSING}
    defaults: dict[str, object] = dict(SUPERVISORD_DEFAULTS)
    defaults.update({name: nbsup_defaults[name] for name in NBSUP_ONLY})
    return defaults


# --------------------------------------------------------------- supervisord's value rules

_SIZES = {"kb": 1024, "mb": 1024**2, "gb": 1024**3}


def _integer(text: str) -> None:
    int(text)


def _byte_size(text: str) -> None:
    lowered = text.lower()
    for suffix in _SIZES:
        if lowered[-2:] == suffix:
            int(lowered[:-2])
            return
    int(lowered)


def _signal(text: str) -> None:
    try:
        int(text)
    except ValueError:
        name = text.strip().upper()
        if not getattr(signal, name if name.startswith("SIG") else "SIG" + name, None):
            raise


_RULES = {
    "startsecs": (_integer, "a whole number of seconds"),
    "stopwaitsecs": (_integer, "a whole number of seconds"),
    "startretries": (_integer, "a whole number"),
    "priority": (_integer, "a whole number"),
    "stdout_logfile_backups": (_integer, "a whole number"),
    "stderr_logfile_backups": (_integer, "a whole number"),
    "stdout_logfile_maxbytes": (_byte_size, "a whole number of bytes, KB, MB or GB"),
    "stderr_logfile_maxbytes": (_byte_size, "a whole number of bytes, KB, MB or GB"),
    "stopsignal": (_signal, "a signal name or number"),
}


def supervisord_refusal(option: str, text: str) -> str | None:
    """Why supervisord would refuse ``option=text`` (None when it accepts it).

    Only for values nbsup has accepted already: this finds nbsup's extensions, such as
    ``startsecs=0.5`` (supervisord: whole seconds only) or ``stdout_logfile_maxbytes=1.5MB``.
    """
    rule = _RULES.get(option)
    if rule is None:
        return None
    check, wanted = rule
    try:
        check(text)
    except (ValueError, OverflowError):
        return f"supervisord needs {wanted} and refuses {text!r}"
    return None
