"""``read_config``: a supervisord.conf (and its includes) into nbsup programs.

Read as supervisord 4.3.0 reads it (``ServerOptions.read_config``): the same syntax, the
same expansions, ``numprocs``/``process_name``, ``[group:x]`` sections and ``[include]``s,
and supervisord's defaults for what a section leaves out. What nbsup does not support is
ignored and listed in one warning (:attr:`ConfigFile.warning`); a malformed file raises
:class:`~nbsup.config.errors.ConfigError` and gives nothing.
"""

from __future__ import annotations

import difflib
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from ..core.options import ProgramOptions
from .errors import ConfigError
from .expand import environ_names, expand
from .files import ConfigText, Section, read_files
from .ini import Entry
from .notes import Note, warning_text
from .programs import Context, ProgramEntry, key_value_pairs, processes_from_section, section_name
from .schema import ignored_section


@dataclass(frozen=True)
class GroupEntry:
    """A ``[group:x]`` section: its name, priority and programs (section names)."""

    name: str
    priority: int
    programs: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class ConfigFile:
    """What a supervisord.conf defines, in nbsup's terms.

    Attributes
    ----------
    path
        The main file, as given.
    programs
        Every program, in supervisord's start order: groups by ascending priority (then
        name), and within a group programs by their own priority (then name).
    groups
        ``[group:x]`` sections by name.
    notes
        What nbsup ignored or accepts beyond supervisord (see :attr:`warning`).
    files
        Every file read: the main file, then the included ones.
    """

    path: str
    programs: tuple[ProgramEntry, ...]
    groups: Mapping[str, GroupEntry]
    notes: tuple[Note, ...]
    files: tuple[str, ...]

    @property
    def warning(self) -> str:
        """One text listing everything ignored and every nbsup-only setting ("" if none)."""
        return warning_text(self.path, self.notes)

    @property
    def options(self) -> list[ProgramOptions]:
        """The programs' checked options, in start order."""
        return [entry.options for entry in self.programs]

    def select(self, names: Iterable[str]) -> ConfigFile:
        """Only the named programs and groups (a group, a ``[program:x]`` section's name, or
        one program's name), in start order; notes about other programs are left out.

        Raises
        ------
        ConfigError
            A name that is no program or group of the file.
        """
        wanted: set[str] = set()
        for name in [names] if isinstance(names, str) else names:
            found = {
                p.name
                for p in self.programs
                if name in (p.name, p.group, p.section.split(":", 1)[1].strip())
            }
            if not found:
                known = sorted({p.name for p in self.programs} | {p.group for p in self.programs})
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"no program or group named {name!r} in it{hint}", self.path)
            wanted |= found
        programs = tuple(p for p in self.programs if p.name in wanted)
        sections = {p.section for p in programs} | {f"group:{p.group}" for p in programs}
        notes = tuple(
            n
            for n in self.notes
            if not n.section.startswith(("program:", "group:")) or n.section in sections
        )
        groups = {k: g for k, g in self.groups.items() if f"group:{k}" in sections}
        return replace(self, programs=programs, notes=notes, groups=groups)


def read_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> ConfigFile:
    """Read a supervisord.conf into nbsup programs.

    Parameters
    ----------
    path
        The file; ``[include]`` patterns are relative to the including file's directory.
    environ
        The environment for ``%(ENV_X)s`` (``os.environ`` by default).

    Returns
    -------
    ConfigFile
        The programs (complete option dicts and checked options) in start order, the
        groups, and the notes for the one warning.

    Raises
    ------
    ConfigError
        Naming the file, line, section, option and the problem, for a syntax error, a bad
        value, an unknown option, a missing command, a duplicate program name, a numprocs
        problem or a missing include.
    """
    main = os.fspath(path)
    names = environ_names(os.environ if environ is None else environ)
    text = read_files(main, names)
    notes = list(text.notes)
    environment = _supervisord_environment(text, names, notes)
    names.update({f"ENV_{key}": value for key, value in environment.items()})
    _note_ignored_sections(text, notes)
    groups = _groups(text, names)
    members = {program: group for group in groups.values() for program in group.programs}
    context = Context(names, platform.node(), environment, dict(text.defaults))
    programs: list[ProgramEntry] = []
    for section in text.sections.values():
        if not section.name.startswith("program:"):
            continue
        program = section_name(section.name, section.file, section.line)
        group = members.get(program)
        made, said = processes_from_section(
            section,
            context,
            None if group is None else group.name,
            None if group is None else group.priority,
        )
        programs += made
        notes += said
    _check_unique(programs, groups)
    programs.sort(key=lambda p: (p.group_priority, p.group, p.priority, p.name))
    return ConfigFile(main, tuple(programs), groups, tuple(notes), tuple(text.files))


def _supervisord_environment(
    text: ConfigText, names: Mapping[str, object], notes: list[Note]
) -> dict[str, str]:
    """``[supervisord] environment=`` (added to every program's); notes for the rest."""
    section = text.sections.get("supervisord")
    if section is None:
        return {}
    for option, ignored in section.options.items():
        if option != "environment":
            notes.append(Note(section.name, option, "ignored: " + _why(section.name), ignored.file))
    if "environment" not in section.options:
        return {}
    entry = section.options["environment"]
    here = os.path.dirname(os.path.abspath(entry.file))
    once = expand(entry, {**names, "here": here}, section.name, "environment")
    twice = expand(
        Entry(once, entry.file, entry.line),
        {**names, "here": here, "host_node_name": platform.node()},
        section.name,
        "environment",
    )
    try:
        return key_value_pairs(twice)
    except ValueError as error:
        raise ConfigError(
            f'{error}; expected KEY="value",KEY2="value2"',
            entry.file,
            entry.line,
            section.name,
            "environment",
            entry.value,
        ) from None


def _why(section: str) -> str:
    return ignored_section(section) or ""


def _note_ignored_sections(text: ConfigText, notes: list[Note]) -> None:
    for section in text.sections.values():
        if section.name == "include":
            extra = [o for o in section.options if o != "files"]
            notes += [
                Note("include", o, "ignored: not an [include] option", section.file) for o in extra
            ]
            continue
        why = ignored_section(section.name)
        if why is None or section.name == "supervisord":
            continue
        options: list[str | None] = [*section.options] or [None]
        notes += [Note(section.name, o, "ignored: " + why, section.file) for o in options]


def _groups(text: ConfigText, names: Mapping[str, object]) -> dict[str, GroupEntry]:
    groups: dict[str, GroupEntry] = {}
    for section in text.sections.values():
        if section.name.startswith("group:"):
            group = _group(text, section, names)
            groups[group.name] = group
    placed: dict[str, str] = {}
    for group in groups.values():
        for program in group.programs:
            if program in placed:
                raise ConfigError(
                    f"program {program!r} is also in [group:{placed[program]}]; a program can "
                    "be in one group only",
                    group.file,
                    group.line,
                    f"group:{group.name}",
                    "programs",
                )
            placed[program] = group.name
    return groups


def _group(text: ConfigText, section: Section, names: Mapping[str, object]) -> GroupEntry:
    name = section_name(section.name, section.file, section.line)
    for option, entry in section.options.items():
        if option not in ("programs", "priority"):
            close = difflib.get_close_matches(option, ["programs", "priority"], n=1)
            hint = f"did you mean {close[0]!r}?" if close else "a group has programs= and priority="
            where = (entry.file, entry.line, section.name, option)
            raise ConfigError(f"unknown option: {hint}", *where)
    options = {**text.defaults, **section.options}
    values = {}
    for option in ("programs", "priority"):
        if option in options:
            written = options[option]
            here = os.path.dirname(os.path.abspath(written.file))
            values[option] = expand(written, {**names, "here": here}, section.name, option)
    listed = values.get("programs", "")
    programs = tuple(p.strip() for p in listed.split(",")) if listed else ()
    try:
        priority = int(values.get("priority", "999"))
    except ValueError:
        entry = options["priority"]
        raise ConfigError(
            "expected a whole number", entry.file, entry.line, section.name, "priority", entry.value
        ) from None
    for program in programs:
        if f"program:{program}" not in text.sections:
            entry = options["programs"]
            kind = (
                "fcgi-program (not supported)"
                if f"fcgi-program:{program}" in text.sections
                else "program"
            )
            raise ConfigError(
                f"names unknown {kind} {program!r}",
                entry.file,
                entry.line,
                section.name,
                "programs",
                entry.value,
            )
    return GroupEntry(name, priority, programs, section.file, section.line)


def _check_unique(programs: list[ProgramEntry], groups: Mapping[str, GroupEntry]) -> None:
    """Program names are unique across groups in nbsup (supervisord: within a group)."""
    seen: dict[str, ProgramEntry] = {}
    for program in programs:
        first = seen.setdefault(program.name, program)
        if first is not program:
            raise ConfigError(
                f"duplicate program name {program.name!r} (also made by [{first.section}] at "
                f"{first.file}:{first.line}); nbsup's program names are unique across groups",
                program.file,
                program.line,
                program.section,
            )
    for program in programs:
        group = groups.get(program.group)
        own = program.section.split(":", 1)[1].strip()
        if group is not None and own not in group.programs:
            raise ConfigError(
                f"[group:{group.name}] and [{program.section}] both make a group named "
                f"{group.name!r} (supervisord would drop one silently)",
                program.file,
                program.line,
                program.section,
            )
