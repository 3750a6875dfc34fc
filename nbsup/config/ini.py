"""The ini syntax of supervisord.conf, with the rules supervisord reads it by.

supervisord 4.3.0 reads its files with Python's ``RawConfigParser`` configured as
``inline_comment_prefixes=(';', '#')`` and ``strict=False`` (``UnhosedConfigParser``). This
module applies the same rules and keeps where each value came from (file and line):

* ``[name]`` starts a section (anything after the last ``]`` is ignored); ``[DEFAULT]``
  holds fallbacks for every section; a repeated header continues the same section.
* ``option = value`` or ``option: value``; option names are lower-cased, section names are
  not; a repeated option replaces the earlier value.
* A line that starts with ``;`` or ``#`` (after blanks) is a comment; elsewhere ``;`` or ``#``
  starts a comment only after a blank (``a;b`` is a value, ``a ;b`` is ``a``).
* A line indented deeper than its option's line continues the value (joined with newlines);
  blank lines inside a value are kept, trailing ones dropped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import ConfigError

_SECTION = re.compile(r"\[(?P<header>.+)\]")
_OPTION = re.compile(r"(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$")
_NONSPACE = re.compile(r"\S")
_INLINE_PREFIXES = (";", "#")
_LINE_PREFIXES = ("#", ";")

#: The section whose options are fallbacks for every other section.
DEFAULT = "DEFAULT"


@dataclass(frozen=True)
class Entry:
    """One option's value as written, and where."""

    value: str
    file: str
    line: int


@dataclass
class SectionText:
    """One ``[header]`` occurrence in a file and the options written under it."""

    name: str
    file: str
    line: int
    options: dict[str, Entry] = field(default_factory=dict)
    #: Options given twice: (option, the earlier entry that the later one replaced).
    replaced: list[tuple[str, Entry]] = field(default_factory=list)


@dataclass
class IniText:
    """A parsed file: its ``[DEFAULT]`` options and its other section occurrences, in order."""

    file: str
    defaults: SectionText
    sections: list[SectionText]


def parse_ini(lines: Iterable[str], file: str) -> IniText:
    """Parse the lines of one file (as read in text mode, newlines kept).

    Raises
    ------
    ConfigError
        For the first line that is neither a section header, an option, a continuation,
        a comment nor blank, or an option before any section header.
    """
    defaults = SectionText(DEFAULT, file, 0)
    sections: list[SectionText] = []
    current: SectionText | None = None
    open_values: dict[tuple[int, str], list[str]] = {}  # value lines, joined at the end
    option: str | None = None
    indent_level = 0
    for number, line in enumerate(lines, start=1):
        comment = _comment_start(line)
        text = line[:comment].strip() if comment is not None else line.strip()
        if not text:
            if comment is None and current is not None and option:
                open_values[(id(current), option)].append("")
            continue
        first = _NONSPACE.search(line)
        indent = first.start() if first else 0
        if current is not None and option and indent > indent_level:
            open_values[(id(current), option)].append(text)
            continue
        indent_level = indent
        header = _SECTION.match(text)
        if header:
            name = header.group("header")
            if name == DEFAULT:
                current = defaults
            else:
                current = SectionText(name, file, number)
                sections.append(current)
            option = None
            continue
        if current is None:
            raise ConfigError(
                f"an option before any [section] header: {line.strip()!r}", file, number
            )
        match = _OPTION.match(text)
        if not match or not match.group("option").rstrip():
            raise ConfigError(
                f"cannot parse {line.strip()!r} (expected [section], option = value, "
                "an indented continuation or a ; comment)",
                file,
                number,
            )
        option = match.group("option").rstrip().lower()
        if option in current.options:
            current.replaced.append((option, current.options[option]))
        current.options[option] = Entry("", file, number)
        open_values[(id(current), option)] = [match.group("value").strip()]
    for section in [defaults, *sections]:
        for name, entry in section.options.items():
            joined = "\n".join(open_values[(id(section), name)]).rstrip()
            section.options[name] = Entry(joined, entry.file, entry.line)
    return IniText(file, defaults, sections)


def _comment_start(line: str) -> int | None:
    """Where a comment starts in ``line`` (None: no comment), as ``RawConfigParser`` finds it.

    Each prefix's occurrences are searched in step (first ones, then second ones...) and the
    first step that finds one after a blank decides, as in Python 3.11's configparser.
    """
    start = sys.maxsize
    searching = {prefix: -1 for prefix in _INLINE_PREFIXES}
    while start == sys.maxsize and searching:
        found = {}
        for prefix, after in searching.items():
            index = line.find(prefix, after + 1)
            if index == -1:
                continue
            found[prefix] = index
            if index == 0 or line[index - 1].isspace():
                start = min(start, index)
        searching = found
    if line.strip().startswith(_LINE_PREFIXES):
        return 0
    return None if start == sys.maxsize else start
