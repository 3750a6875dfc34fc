"""Turning a ``%%supervise`` line and cell body into a program name and options.

``%%supervise [name] [option=value ...]``: the first word without ``=`` is the name; the
rest are supervisord options, plus ``interpreter=`` (``bash``, the default; ``python``,
the kernel's own Python; or any interpreter path) for the cell body, which is saved to a
script file and run by that interpreter. ``command=...`` instead of a body works as in a
``[program:x]`` section.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import OptionError


@dataclass(frozen=True)
class CellProgram:
    """What a ``%%supervise`` cell asks for."""

    name: str | None
    options: dict[str, str] = field(default_factory=dict)
    body: str = ""
    interpreter: str = "bash"

    def script_suffix(self) -> str:
        return ".py" if self.interpreter == "python" else ".sh"

    def command_for(self, script: Path) -> str:
        """The command line that runs ``script`` with the cell's interpreter."""
        if self.interpreter == "python":
            runner = [sys.executable]
        elif self.interpreter == "bash":
            runner = [shutil.which("bash") or "/bin/sh"]
        else:
            runner = shlex.split(self.interpreter)
        return shlex.join([*runner, str(script)])


def parse_line(line: str, body: str) -> CellProgram:
    """Parse a ``%%supervise`` line; raise OptionError (nothing changed) when it is wrong."""
    try:
        words = shlex.split(line)
    except ValueError as error:
        raise OptionError("line", line.strip(), f"cannot split it into words ({error})") from None
    name: str | None = None
    options: dict[str, str] = {}
    for index, word in enumerate(words):
        key, equals, value = word.partition("=")
        if not equals:
            if index == 0:
                name = word
                continue
            raise OptionError(word, None, "expected option=value after the program name")
        if not key:
            raise OptionError(word, None, "expected option=value")
        if key in options:
            raise OptionError(key, value, "given twice")
        options[key] = value
    interpreter = options.pop("interpreter", "bash").strip() or "bash"
    return CellProgram(name, options, body, interpreter)


def check_body(cell: CellProgram) -> None:
    """Exactly one of a cell body and ``command=`` (OptionError otherwise)."""
    has_body = bool(cell.body.strip())
    if "command" in cell.options and has_body:
        raise OptionError(
            "command", cell.options["command"], "give either command= or a cell body, not both"
        )
    if "command" not in cell.options and not has_body:
        raise OptionError(
            "command",
            "",
            "the cell body is the program: write it below the magic line, or give command=...",
        )


def write_script(folder: Path, name: str, cell: CellProgram) -> Path:
    """Save the cell body as ``folder/name-<hash>.sh|.py`` (a running script is never
    overwritten: an edited cell gets a new file)."""
    digest = hashlib.sha256(cell.body.encode()).hexdigest()[:10]
    path = folder / f"{name}-{digest}{cell.script_suffix()}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(cell.body if cell.body.endswith("\n") else cell.body + "\n")
    return path
