"""What nbsup ignored in, or accepts beyond, a supervisord.conf: collected while reading,
shown as one warning."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """One thing to tell about a file: an ignored section or option, an nbsup-only one.

    ``section`` is the section name without brackets (``program:web``); ``option`` is None
    for a note about a whole section; ``file`` is the file the section was read from.
    """

    section: str
    option: str | None
    text: str
    file: str


def warning_text(path: str, notes: Iterable[Note]) -> str:
    """The one warning for ``path``: a line per section and reason, options listed together.

    Returns an empty string when there is nothing to tell.
    """
    merged: dict[tuple[str, str, str], list[str]] = {}
    for note in notes:
        options = merged.setdefault((note.file, note.section, note.text), [])
        if note.option is not None and note.option not in options:
            options.append(note.option)
    if not merged:
        return ""
    lines = [
        f"{path}: nbsup ignores what it does not support and accepts a few nbsup-only settings:"
    ]
    for (file, section, text), options in merged.items():
        where = f"[{section}]" + (" " + ", ".join(options) if options else "")
        origin = "" if file == path else f" (in {file})"
        lines.append(f"  {where}{origin}: {text}")
    return "\n".join(lines)
