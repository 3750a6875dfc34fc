"""Reading a supervisord.conf and the files its ``[include]`` sections name, into one set of
sections (as supervisord merges them), remembering where each value came from.

``[include] files=`` holds space-separated glob patterns, relative to the directory of the
file that has the ``[include]``; each pattern's matches are read in sorted order. A pattern
without wildcards that names no file is an error; a wildcard pattern that matches nothing
is only noted (supervisord warns too). nbsup also reads ``[include]`` sections of included
files (supervisord 4.3.0 reads only the main file's); that is noted as nbsup-only.
"""

from __future__ import annotations

import glob
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConfigError
from .expand import expand
from .ini import Entry, IniText, SectionText, parse_ini
from .notes import Note

#: Sections that may appear only once in all the files (supervisord would merge them).
UNIQUE_PREFIXES = ("program:", "group:")


@dataclass
class Section:
    """A section with its options merged from every occurrence (later values win)."""

    name: str
    file: str
    line: int
    options: dict[str, Entry] = field(default_factory=dict)


@dataclass
class ConfigText:
    """Every section of a file and its includes, in the order first seen."""

    main: str
    files: list[str]
    defaults: dict[str, Entry]
    sections: dict[str, Section]
    notes: list[Note]


def read_files(path: str, environ: Mapping[str, object]) -> ConfigText:
    """Read ``path`` and its includes.

    Parameters
    ----------
    path
        The main file.
    environ
        The ``ENV_X`` expansion names (for ``%(ENV_X)s`` in ``[include] files=``).

    Raises
    ------
    ConfigError
        A file that cannot be read or parsed, a missing include, an ``[include]`` without
        ``files=``, or a ``[program:x]``/``[group:x]`` section given twice.
    """
    text = ConfigText(path, [], {}, {}, [])
    _read(text, path, environ, nested=False, seen=set())
    return text


def _read(
    text: ConfigText, path: str, environ: Mapping[str, object], nested: bool, seen: set[str]
) -> None:
    if "\x00" in path:  # no system call takes it (they raise ValueError, not OSError)
        raise ConfigError("a file name cannot contain a NUL byte", path.replace("\x00", "\\x00"))
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    parsed = _parse(path)
    text.files.append(path)
    _merge(text, parsed)
    includes = [s for s in parsed.sections if s.name == "include"]
    if not includes:
        return
    if nested:
        text.notes.append(
            Note(
                "include",
                "files",
                "nbsup-only: read in an included file (supervisord 4.3.0 reads [include] "
                "only in the main file)",
                path,
            )
        )
    entry = _files_entry(includes, path)
    here = os.path.dirname(os.path.abspath(path))
    names = {**environ, "here": here, "host_node_name": platform.node()}
    patterns = expand(entry, names, "include", "files").split()
    for pattern in patterns:
        joined = os.path.join(here, pattern)
        matches = sorted(glob.glob(joined))
        if not matches:
            if not glob.has_magic(pattern):
                raise ConfigError(
                    f"the included file {joined} does not exist",
                    entry.file,
                    entry.line,
                    "include",
                    "files",
                    entry.value,
                )
            text.notes.append(
                Note("include", "files", f"no file matches {joined} (supervisord warns too)", path)
            )
        for match in matches:
            _read(text, match, environ, nested=True, seen=seen)


def _files_entry(includes: list[SectionText], path: str) -> Entry:
    entry = None
    for section in includes:
        entry = section.options.get("files", entry)
    if entry is None:
        raise ConfigError(
            "an [include] section needs a files= setting", path, includes[0].line, "include"
        )
    return entry


def _parse(path: str) -> IniText:
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_ini(handle, path)
    except FileNotFoundError:
        raise ConfigError("could not find config file", path) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", path) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text ({error.reason})", path) from None
    except OSError as error:
        raise ConfigError(f"could not read config file ({error.strerror})", path) from None


def _merge(text: ConfigText, parsed: IniText) -> None:
    for option, entry in parsed.defaults.options.items():
        text.defaults[option] = entry
    _note_replaced(text, parsed.defaults, parsed.file)
    for occurrence in parsed.sections:
        existing = text.sections.get(occurrence.name)
        if existing is None:
            existing = text.sections[occurrence.name] = Section(
                occurrence.name, occurrence.file, occurrence.line
            )
        elif occurrence.name.startswith(UNIQUE_PREFIXES):
            raise ConfigError(
                f"defined twice (first at {existing.file}:{existing.line}); "
                "supervisord would merge the two silently",
                occurrence.file,
                occurrence.line,
                occurrence.name,
            )
        elif occurrence.name != "include":  # each file's own [include] is read
            for option in occurrence.options:
                if option in existing.options:
                    occurrence.replaced.append((option, existing.options[option]))
        existing.options.update(occurrence.options)
        _note_replaced(text, occurrence, parsed.file)


def _note_replaced(text: ConfigText, section: SectionText, file: str) -> None:
    for option, earlier in section.replaced:
        later = section.options[option]
        text.notes.append(
            Note(
                section.name,
                option,
                f"given more than once; the last one ({later.file}:{later.line}) counts, "
                f"as in supervisord (it replaced {earlier.file}:{earlier.line})",
                file,
            )
        )
