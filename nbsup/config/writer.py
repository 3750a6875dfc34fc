"""``to_supervisord_conf``: programs' options as a supervisord.conf.

The file reads back (:func:`nbsup.config.read_config`) as the same options, and supervisord
4.3.0 reads it too: options nbsup's defaults give but supervisord's do not are written out
(``stopasgroup=true``...), nbsup-only options and values get a ``;`` comment saying how
supervisord differs, and groups become ``[group:x]`` sections.
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from ..core.backoff import BackoffPolicy
from ..core.options import CONVERTERS, ProgramOptions, build_options
from .errors import ConfigError
from .expand import expand
from .ini import Entry, parse_ini
from .programs import key_value_pairs
from .schema import NBSUP_ONLY, file_defaults, supervisord_refusal

_HEADER = """\
; supervisord.conf written by nbsup ({count} programs).
; supervisord 4.3.0 reads it: it ignores the options marked nbsup-only (and refuses the
; values marked so). nbsup reads it back as the same programs: %supervise --conf <this file>

[supervisord]
; supervisord needs this section (add logfile=, pidfile=... as you like); nbsup ignores it
"""
_LOGFILES = ("stdout_logfile", "stderr_logfile")
_SIZES = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024))


def to_supervisord_conf(options_list: Iterable[ProgramOptions]) -> str:
    """A supervisord.conf text defining these programs.

    Parameters
    ----------
    options_list
        The programs' options (``Supervisor.options(name)``, ``ConfigFile.options``...), in
        the order their sections should appear.

    Returns
    -------
    str
        The file's text; reading it back gives equal :class:`ProgramOptions` (unless a
        ``[group:x]``'s programs have different priorities: a group has one priority in a
        supervisord.conf, the lowest is written, with a comment).

    Raises
    ------
    ConfigError
        A value a supervisord.conf cannot hold (a ``;`` after a blank, which starts a
        comment; leading blanks; a ``BackoffPolicy`` object...), or two programs of one name.
    """
    programs = list(options_list)
    names = [p.name for p in programs]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"two programs are named {name!r}", section=f"program:{name}")
    groups: dict[str, list[ProgramOptions]] = {}
    for program in programs:
        groups.setdefault(program.group_name, []).append(program)
    defaults = build_options("x", {**file_defaults(), "command": "x"})
    blocks = [_HEADER.format(count=len(programs))]
    for program in programs:
        members = groups[program.group_name]
        in_group = len(members) > 1 or members[0].name != program.group_name
        same = len({m.priority for m in members}) == 1
        blocks.append(_program(program, defaults, write_priority=not (in_group and same)))
    for group, members in groups.items():
        if len(members) > 1 or members[0].name != group:
            blocks.append(_group(group, members))
    return "\n".join(blocks)


def _program(options: ProgramOptions, defaults: ProgramOptions, write_priority: bool) -> str:
    section = f"program:{options.name}"
    lines = [f"[{section}]", _line(section, "command", options.command)]
    for field in fields(ProgramOptions):
        option = field.name
        if option not in CONVERTERS or option in ("command", "group", "priority"):
            continue
        value = getattr(options, option)
        default = options.stopasgroup if option == "killasgroup" else getattr(defaults, option)
        if value == default or value is None:
            continue
        text = _text(section, option, value)
        note = _comment(option, text)
        if note:
            lines.append(f"; {note}")
        line = _line(section, option, text)
        if option == "environment" and _environment_back(line) != dict(value):
            raise ConfigError(
                'cannot be written in a supervisord.conf (supervisord\'s KEY="value" list '
                "would read it differently)",
                section=section,
                option=option,
                value=text,
            )
        lines.append(line)
    if write_priority and options.priority != defaults.priority:
        lines.append(_line(section, "priority", str(options.priority)))
    return "\n".join(lines) + "\n"


def _group(group: str, members: list[ProgramOptions]) -> str:
    section = f"group:{group}"
    priorities = {m.name: m.priority for m in members}
    lowest = min(priorities.values())
    lines = [f"[{section}]", _line(section, "programs", ",".join(priorities))]
    if len(set(priorities.values())) > 1:
        listed = ", ".join(f"{name}={value}" for name, value in priorities.items())
        lines.append(
            f"; nbsup gave these programs different priorities ({listed}); a group has one "
            "(supervisord orders the group by it, nbsup gives it to every member)"
        )
    if lowest != 999 or len(set(priorities.values())) > 1:
        lines.append(_line(section, "priority", str(lowest)))
    return "\n".join(lines) + "\n"


def _comment(option: str, text: str) -> str:
    if option in NBSUP_ONLY:
        return f"nbsup-only: {NBSUP_ONLY[option]}"
    refusal = supervisord_refusal(option, text)
    return f"nbsup-only value: {refusal}" if refusal else ""


def _text(section: str, option: str, value: Any) -> str:
    """An option value as it is written in a file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, signal.Signals):
        return value.name.removeprefix("SIG")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, BackoffPolicy):
        raise ConfigError(
            "a BackoffPolicy object cannot be written to a file (use backoff=linear or "
            "exponential with the backoff* options)",
            section=section,
            option=option,
        )
    if option == "exitcodes":
        return ",".join(str(code) for code in value)
    if option == "umask":
        return f"{value:03o}"
    if option == "environment":
        return _environment(section, dict(value))
    if option.endswith("_maxbytes"):
        return _size(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _size(value: int) -> str:
    for suffix, size in _SIZES:
        if value and value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def _environment(section: str, environment: dict[str, str]) -> str:
    pairs = []
    for key, value in environment.items():
        quote = '"' if '"' not in value else "'"
        if quote in value or value[:1] in ("'", '"') or value[-1:] in ("'", '"'):
            raise ConfigError(
                "a value with both kinds of quotes, or starting or ending with a quote, "
                "cannot be written (supervisord strips quotes around values)",
                section=section,
                option="environment",
                value=f"{key}={value}",
            )
        pairs.append(f"{key}={quote}{value}{quote}")
    return ",".join(pairs)


def _line(section: str, option: str, text: str) -> str:
    """``option=value`` with ``%`` escaped; checked to read back as ``text``.

    A value with ``a#b #c`` reads back whole only when a ``;`` comment follows it
    (configparser looks for the first ``;`` and the first ``#`` together), so that form is
    tried second.
    """
    times = 2 if option in _LOGFILES else 1
    escaped = text.replace("%", "%" * 2**times)
    first, *rest = escaped.split("\n")
    line = "\n".join([f"{option}={first}", *(f"    {part}" if part else "" for part in rest)])
    for candidate in (line, line + " ;"):
        if _read_back(section, option, candidate, times) == text:
            return candidate
    raise ConfigError(
        "cannot be written in a supervisord.conf (a ; or # after a blank starts a comment; "
        "blanks around a value or a line are dropped)",
        section=section,
        option=option,
        value=text,
    )


def _read_back(section: str, option: str, line: str, times: int) -> str | None:
    try:
        parsed = parse_ini([f"[{section}]\n", *(part + "\n" for part in line.split("\n"))], "-")
        entry = parsed.sections[0].options[option]
        text = expand(Entry(entry.value, "-", entry.line), {}, section, option, times)
    except (ConfigError, KeyError, IndexError):
        return None
    return text


def _environment_back(line: str) -> dict[str, str] | None:
    text = _read_back("program:x", "environment", line, 1)
    try:
        return None if text is None else key_value_pairs(text)
    except ValueError:
        return None
