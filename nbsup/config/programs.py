"""A ``[program:x]`` section into its processes' option dicts, as supervisord does it
(``ServerOptions._processes_from_section``).

Expansion names by option, as in supervisord: ``here``, ``program_name``, ``group_name``,
``host_node_name`` and ``ENV_X`` everywhere; ``process_num`` and ``numprocs`` too in
``process_name``, ``command``, ``directory``, ``environment``, the log file options and the
nbsup-only options; ``ENV_X`` of the program's own ``environment`` too in ``command``,
``directory`` and the log file options.
"""

from __future__ import annotations

import difflib
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import OptionError
from ..core.options import CONVERTERS, ProgramOptions, build_options, check_name
from .errors import ConfigError
from .expand import expand
from .files import Section
from .ini import Entry
from .notes import Note
from .schema import (
    NBSUP_ONLY,
    NOT_IN_FILES,
    PROGRAM_OPTIONS,
    STRUCTURE,
    UNSUPPORTED,
    file_defaults,
    supervisord_refusal,
)

#: Options expanded once per section, without ``process_num``/``numprocs``.
_SECTION_LEVEL = (
    *("priority", "autostart", "autorestart", "startsecs", "startretries", "stopsignal"),
    *("stopwaitsecs", "stopasgroup", "killasgroup", "exitcodes", "redirect_stderr"),
    *("numprocs", "numprocs_start", "umask"),
)
_LOGFILES = ("stdout_logfile", "stderr_logfile")


@dataclass(frozen=True)
class ProgramEntry:
    """One program (a process, in supervisord's words) read from a file.

    ``raw`` holds every option for :func:`nbsup.core.options.build_options`, supervisord's
    defaults filled in; ``options`` is the result. ``priority`` is the program's own
    ``priority=``; ``options.priority`` is its group's when it is in a ``[group:x]``.
    """

    name: str
    group: str
    section: str
    file: str
    line: int
    priority: int
    group_priority: int
    raw: Mapping[str, Any]
    options: ProgramOptions


@dataclass(frozen=True)
class Context:
    """What every section shares: expansion names and ``[supervisord] environment``."""

    environ: Mapping[str, object]
    host: str
    environment: Mapping[str, str]
    defaults: Mapping[str, Entry]


def section_name(section: str, file: str, line: int) -> str:
    """The name after ``program:``/``group:``, checked by supervisord's and nbsup's rules."""
    name = section.split(":", 1)[1].strip()
    for char in " :/":
        if char in name:
            raise ConfigError(f"a name cannot contain {char!r}", file, line, section)
    try:
        return check_name(name)
    except OptionError as error:
        raise ConfigError(error.allowed, file, line, section) from None


def processes_from_section(
    section: Section, context: Context, group: str | None, group_priority: int | None
) -> tuple[list[ProgramEntry], list[Note]]:
    """The programs ``[program:x]`` makes (``numprocs`` of them) and the notes about it.

    ``group``/``group_priority`` are those of the ``[group:x]`` listing it, or None.
    """
    reader = _Reader(section, context)
    program_name = section_name(section.name, section.file, section.line)
    group_name = group or program_name
    base = {
        **context.environ,
        "program_name": program_name,
        "host_node_name": context.host,
        "group_name": group_name,
    }
    entries = reader.entries()
    texts = {o: reader.expand(o, base) for o in _SECTION_LEVEL if o in entries}
    numprocs = reader.whole(texts, "numprocs", 1, minimum=1)
    first = reader.whole(texts, "numprocs_start", 0, minimum=0)
    template = reader.template(numprocs)
    own_priority = reader.whole(texts, "priority", 999, minimum=None)
    effective = own_priority if group_priority is None else group_priority
    programs = []
    for number in range(first, first + numprocs):
        names = {**base, "process_num": number, "numprocs": numprocs}
        raw = reader.process_raw(texts, names, effective)
        name = reader.process_name(template, names)
        raw["group"] = "" if group_name == name else group_name
        options = reader.build(name, raw)
        entry = ProgramEntry(
            name=name,
            group=group_name,
            section=section.name,
            file=section.file,
            line=section.line,
            priority=own_priority,
            group_priority=effective,
            raw=raw,
            options=options,
        )
        programs.append(entry)
    if group is not None and "priority" in entries and own_priority != group_priority:
        reader.note(
            "priority",
            f"in [group:{group}] (priority={group_priority}): nbsup gives it the group's "
            f"priority; supervisord uses {own_priority} only to order it within the group",
        )
    return programs, reader.notes


class _Reader:
    """The per-section work: which options are set, their expansion, checks and notes."""

    def __init__(self, section: Section, context: Context) -> None:
        self.section = section
        self.context = context
        self.notes: list[Note] = []
        self._entries: dict[str, Entry] = {}

    def note(self, option: str | None, text: str, entry: Entry | None = None) -> None:
        file = entry.file if entry is not None else self.section.file
        self.notes.append(Note(self.section.name, option, text, file))

    def error(
        self, problem: str, option: str | None = None, entry: Entry | None = None
    ) -> ConfigError:
        """A ConfigError at ``option``'s line (the section's when it is not in the file)."""
        if entry is None and option is not None:
            entry = self._entries.get(option)
        if entry is None:
            return ConfigError(
                problem, self.section.file, self.section.line, self.section.name, option
            )
        return ConfigError(problem, entry.file, entry.line, self.section.name, option, entry.value)

    def entries(self) -> dict[str, Entry]:
        """The section's options with ``[DEFAULT]``'s, classified; notes for ignored ones."""
        own = self.section.options
        for option, entry in {**self.context.defaults, **own}.items():
            if option in UNSUPPORTED:
                self.note(option, f"ignored: {UNSUPPORTED[option]}", entry)
            elif option in NOT_IN_FILES:
                raise self.error(f"not a [program:x] option: {NOT_IN_FILES[option]}", option, entry)
            elif option in CONVERTERS or option in STRUCTURE:
                self._entries[option] = entry
                if option in NBSUP_ONLY:
                    self.note(option, f"nbsup-only option: {NBSUP_ONLY[option]}", entry)
            elif option not in own:
                self.note(None, f"[DEFAULT] {option}: not a [program:x] option; ignored here")
            else:
                raise ConfigError(
                    _unknown(option), entry.file, entry.line, self.section.name, option
                )
        return self._entries

    def expand(self, option: str, names: Mapping[str, object], times: int = 1) -> str:
        entry = self._entries[option]
        here = os.path.dirname(os.path.abspath(entry.file))
        return expand(entry, {**names, "here": here}, self.section.name, option, times)

    def whole(self, texts: dict[str, str], option: str, default: int, minimum: int | None) -> int:
        if option not in texts:
            return default
        try:
            number = int(texts[option])
        except ValueError:
            raise self.error("expected a whole number", option) from None
        if minimum is not None and number < minimum:
            raise self.error(f"expected a whole number >= {minimum}", option)
        return number

    def template(self, numprocs: int) -> str:
        entry = self._entries.get("process_name")
        template = "%(program_name)s" if entry is None else entry.value.strip()
        for char in " :/":
            if char in template:
                raise self.error(f"a name cannot contain {char!r}", "process_name")
        if numprocs > 1 and "%(process_num)" not in template:
            raise self.error(
                "%(process_num) must be present within process_name when numprocs > 1 "
                "(supervisord refuses it too)",
                "process_name" if entry is not None else "numprocs",
            )
        return template

    def process_name(self, template: str, names: Mapping[str, object]) -> str:
        entry = self._entries.get("process_name")
        if entry is None:
            value = str(names["program_name"])
        else:
            here = os.path.dirname(os.path.abspath(entry.file))
            written = Entry(template, entry.file, entry.line)
            value = expand(written, {**names, "here": here}, self.section.name, "process_name")
        try:
            return check_name(value)
        except OptionError as error:
            raise self.error(f"{value!r}: {error.allowed}", "process_name") from None

    def process_raw(
        self, texts: dict[str, str], names: dict[str, object], priority: int
    ) -> dict[str, Any]:
        """Every option of one process: defaults, then the file's values, expanded."""
        raw: dict[str, Any] = file_defaults()
        raw.update({o: t for o, t in texts.items() if o in CONVERTERS})
        if "killasgroup" not in texts:
            raw["killasgroup"] = raw["stopasgroup"]
        raw["priority"] = str(priority)
        environment: dict[str, str] = {}
        if "environment" in self._entries:
            environment = self._environment(self.expand("environment", names))
        names.update({f"ENV_{key}": value for key, value in environment.items()})
        raw["environment"] = {**self.context.environment, **environment}
        for option in self._entries:
            if option in CONVERTERS and option not in texts and option != "environment":
                raw[option] = self.expand(option, names, 2 if option in _LOGFILES else 1)
        for option in _LOGFILES:
            raw[option] = self._logfile(option, str(raw[option]))
        if "command" not in raw:
            raise self.error("a [program:x] section needs a command= (supervisord refuses it too)")
        return raw

    def build(self, name: str, raw: dict[str, Any]) -> ProgramOptions:
        """Check the process's options with nbsup's rules; note what supervisord would refuse."""
        try:
            options = build_options(name, raw)
        except OptionError as error:
            raise self.error(error.allowed, error.option) from None
        for option, entry in self._entries.items():
            refusal = supervisord_refusal(option, str(raw.get(option, entry.value)))
            if refusal is not None:
                self.note(option, f"nbsup-only value: {refusal}", entry)
        if options.redirect_stderr and options.stderr_logfile not in ("AUTO", "NONE"):
            self.note(
                "stderr_logfile",
                "ignored: redirect_stderr=true sends stderr to the stdout log (supervisord "
                "ignores the file name too)",
            )
        return options

    def _environment(self, text: str) -> dict[str, str]:
        try:
            return key_value_pairs(text)
        except ValueError as error:
            raise self.error(
                f'{error}; expected KEY="value",KEY2="value2"', "environment"
            ) from None

    def _logfile(self, option: str, value: str) -> str:
        lowered = value.lower()
        if lowered in ("none", "off"):
            return "NONE"
        if lowered == "auto":
            return "AUTO"
        if lowered == "syslog":
            self.note(option, "ignored: no syslog output (nbsup writes no log file for it)")
            return "NONE"
        path = os.path.expanduser(value)
        folder = os.path.dirname(path)
        if folder and not os.path.isdir(folder):
            raise self.error(
                f"the directory {folder} does not exist (supervisord refuses it too)", option
            )
        return path


def key_value_pairs(text: str) -> dict[str, str]:
    """``KEY=value,KEY2="value, with comma"`` by supervisord's rule
    (``datatypes.dict_of_key_value_pairs``: a non-POSIX ``shlex`` tokenizer; quotes around a
    value are stripped; every fourth token is taken to be the comma)."""
    lexer = shlex.shlex(text)
    lexer.wordchars += "/.+-():"
    tokens = list(lexer)
    pairs: dict[str, str] = {}
    for start in range(0, len(tokens), 4):
        key_eq_value = tokens[start : start + 3]
        if len(key_eq_value) != 3 or key_eq_value[1] != "=":
            raise ValueError(f"unexpected end of key/value pairs in {text!r}")
        pairs[key_eq_value[0]] = key_eq_value[2].strip("'\"")
    return pairs


def _unknown(option: str) -> str:
    close = difflib.get_close_matches(option, PROGRAM_OPTIONS, n=1)
    if close:
        return f"unknown option: did you mean {close[0]!r}?"
    return "unknown option (supervisord ignores it; nbsup refuses it in case it is a typo)"
