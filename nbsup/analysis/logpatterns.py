"""The message kinds of supervisord.log that mark transitions, and their bulk parsing.

One regex per kind (semantics.md §15.2), applied with a single ``findall`` over many
messages at once; numbers come back converted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Fields = tuple[Any, ...]

_HOW = (
    r"(?:exit status (\d{1,18})|terminated by (SIG[A-Z0-9]+|signal \d+)(?: \(core dumped\))?"
    r"|unknown termination cause 0x[0-9a-f]+)"
)
#: Per kind: the message regex. Group 1 is a look-ahead that is non-empty on a match.
PATTERNS: dict[str, str] = {
    "spawned": r"spawned: '(.+)' with pid (\d{1,18})",
    "spawnerr": r"spawnerr: (.*)",
    "success": r"success: (.+?) entered RUNNING state, process has stayed up for > than "
    r"(-?\d+(?:\.\d+)?) seconds \(startsecs\)",
    "exited": r"exited: (.+?) \(" + _HOW + r"; (expected|not expected)\)",
    "gave_up": r"gave up: (.+?) entered FATAL state, too many start retries too quickly",
    "killing": r"killing (.+?) \(pid (\d{1,18})\) (?:process group )?with signal (\S+)"
    r"|(?=(.))killing '(.+)' \((\d{1,18})\) with SIGKILL",  # T11 (or T12) | T12 (WARN)
    "waiting": r"waiting for (.+?) to stop",
    "stopped": r"stopped: (.+?) \(" + _HOW + r"\)",
    "kill_backoff": r"Attempted to kill (.+?), which is in BACKOFF state\.",
    "unknown": r"unknown problem (?:killing|sending sig) (.+?) \((\d+)\):.*",
    "received": r"received (SIG\w+) indicating (?:exit|restart) request",
    "started": r"(?:supervisord|nbsup) started with pid (\d+)",
}
_BULK = {kind: re.compile(rf"^(?:(?=(.)){p}|.*)$", re.MULTILINE) for kind, p in PATTERNS.items()}
#: spawnerr messages that name the process (semantics.md §6.2).
NAMED_SPAWNERR = re.compile(
    r"(?:too many open files to spawn|Too many processes in process table to spawn"
    r"|unknown error (?:making dispatchers|during fork) for) '(.+?)'(?::.*)?"
)


def parse(kind: str, texts: Sequence[str]) -> list[Fields]:
    """The fields of each message of one kind: ``(matched, ...groups)``, numbers converted.

    One ``findall`` over the joined first lines (far faster than a match per line), over
    the distinct texts only when they repeat (success/exited lines of a crash loop do).
    """
    if not texts:
        return []
    convert = _CONVERTERS.get(kind, _strings)
    distinct = dict.fromkeys(texts)
    if len(distinct) * 2 > len(texts):
        return list(map(convert, _BULK[kind].findall("\n".join(texts))))
    keys = list(distinct)
    table = dict(zip(keys, map(convert, _BULK[kind].findall("\n".join(keys))), strict=True))
    return [table[text] for text in texts]


def _strings(g: tuple[str, ...]) -> Fields:
    return (g[0] != "", *g[1:])


def _spawned(g: tuple[str, ...]) -> Fields:
    return (g[0] != "", g[1], int(g[2]) if g[2] else 0)


def _success(g: tuple[str, ...]) -> Fields:
    return (g[0] != "", g[1], float(g[2]) if g[2] else 0.0)


def _exited(g: tuple[str, ...]) -> Fields:  # name, exit status (-1: signal), signal, expected
    return (g[0] != "", g[1], int(g[2]) if g[2] else -1, g[3] or None, g[4] == "expected")


def _killing(g: tuple[str, ...]) -> Fields:  # name, pid, signal | the SIGKILL warning's name
    return (g[0] != "", g[1], int(g[2]) if g[2] else 0, g[3], g[4] != "", g[5])


def _stopped(g: tuple[str, ...]) -> Fields:
    return (g[0] != "", g[1], int(g[2]) if g[2] else -1, g[3] or None)


_CONVERTERS: dict[str, Callable[[tuple[str, ...]], Fields]] = {
    "spawned": _spawned,
    "success": _success,
    "exited": _exited,
    "killing": _killing,
    "stopped": _stopped,
}
