"""Turning a ``command`` into an executable and argv, with supervisord's error messages.

Follows ``Subprocess.get_execv_args`` and ``Options.check_execv_args`` (semantics.md §6.2):
the command is split like a shell would (``shlex``) but never run through one; a bare
program name is searched on the program's ``PATH``.
"""

from __future__ import annotations

import functools
import os
import shlex
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.errors import FaultCode

DEFAULT_PATH = "/bin:/usr/bin:/usr/local/bin"


class CommandError(Exception):
    """The command cannot be run; ``message`` is supervisord's spawnerr text."""

    def __init__(self, message: str, code: FaultCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ResolvedCommand:
    filename: str
    argv: list[str]


def resolve(command: str, environment: Mapping[str, str]) -> ResolvedCommand:
    """Split ``command`` and find its executable.

    Raises
    ------
    CommandError
        With supervisord's message: ``can't find command '...'``, ``command at '...' is a
        directory``, ``command at '...' is not executable``, ...
    """
    try:
        argv = list(_split(command))
    except ValueError as error:
        raise CommandError(
            f"can't parse command {command!r}: {error}", FaultCode.NOT_EXECUTABLE
        ) from None
    if not argv:
        raise CommandError("command is empty", FaultCode.NOT_EXECUTABLE)
    program = argv[0]
    info: os.stat_result | None = None
    if "/" in program:
        filename = program
        try:
            info = os.stat(filename)
        except OSError:
            info = None
    else:
        search = environment.get("PATH") or os.environ.get("PATH") or DEFAULT_PATH
        filename, info = _search(program, search)
    _check(filename, info)
    return ResolvedCommand(filename, argv)


#: Where a bare program name was found on a PATH, by (name, PATH).
_found: dict[tuple[str, str], str] = {}
FOUND_LIMIT = 1024


def _search(program: str, search: str) -> tuple[str, os.stat_result | None]:
    """The first ``folder/program`` on ``search`` that exists, and its stat (None: none).

    The folder found last time is tried first: a restarting program costs one ``stat``
    instead of one per ``PATH`` folder. It is searched again as soon as that file is
    gone, so the only difference from supervisord's search at every spawn is that a
    same-named program newly installed into an *earlier* ``PATH`` folder is not noticed
    until the known one disappears (or ``PATH`` changes).
    """
    key = (program, search)
    known = _found.get(key)
    if known is not None:
        try:
            return known, os.stat(known)
        except OSError:
            del _found[key]
    for folder in search.split(os.pathsep):
        candidate = os.path.join(folder, program)
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if len(_found) >= FOUND_LIMIT:
            _found.clear()
        _found[key] = candidate
        return candidate, info
    return program, None


@functools.lru_cache(maxsize=1024)
def _split(command: str) -> tuple[str, ...]:
    """``shlex.split``, remembered: a restarting program splits the same command again."""
    return tuple(shlex.split(command))


def _check(filename: str, info: os.stat_result | None) -> None:
    if info is None:
        raise CommandError(f"can't find command {filename!r}", FaultCode.NO_FILE)
    if stat.S_ISDIR(info.st_mode):
        raise CommandError(f"command at {filename!r} is a directory", FaultCode.NOT_EXECUTABLE)
    if not stat.S_IMODE(info.st_mode) & 0o111:
        raise CommandError(f"command at {filename!r} is not executable", FaultCode.NOT_EXECUTABLE)
    if not os.access(filename, os.X_OK):
        raise CommandError(f"no permission to run command {filename!r}", FaultCode.NOT_EXECUTABLE)
