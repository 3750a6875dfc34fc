"""Scripted lives for simulated programs: what each spawn does, in a few compact forms.

A *behaviour* says, for every spawn of a simulated program, how long the process runs and
how it ends. It is turned into a function of the attempt number (1, 2, ...) returning a
:class:`nbsup.testing.Life`, which is what :class:`nbsup.testing.FakeLauncher` plays.

Accepted forms
--------------
``(run_seconds, exit)``
    Runs ``run_seconds`` (``None``: never exits on its own), then exits with ``exit``: an
    exit code (0..255) or a signal name such as ``"SIGSEGV"`` (``"SEGV"`` works too). An
    optional third item lists signals the process ignores (a name, a number or a list of
    them), e.g. ``(None, 0, "SIGTERM")`` for a program that survives its stop signal.
    Note that ``run_seconds=0`` exits at the very instant of the spawn, which supervisord's
    guard against a clock set back (``too_quickly`` is false unless ``now > laststart``,
    semantics.md §7) counts as *not* too quick: for a crash at start use a small time such
    as 0.01 s (``"crash-immediately"``), as a real process always takes some.
a :class:`~nbsup.testing.Life`
    Used as is.
a preset string
    ``"crash-immediately"`` (exit 1 after 0.01 s), ``"crash-after:S"`` (exit 1 after S s),
    ``"exitN-after:S"`` (exit code N after S s, e.g. ``"exit0-after:5"``),
    ``"never-exits"``, ``"ignores-term"`` (never exits and ignores SIGTERM, so a stop ends
    with SIGKILL) and ``"spawn-error"`` (the spawn itself fails with supervisord's
    ``can't find command '...'``).
a list of the above
    One item per spawn; the last one repeats.
a callable
    Called with the attempt number (from 1), returning any single item above.
"""

from __future__ import annotations

import math
import re
import shlex
import signal
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from ..testing import Life

__all__ = ["PRESETS", "Behaviour", "lives_of", "spawn_error_message"]

Outcome: TypeAlias = tuple[Any, ...]
Item: TypeAlias = Outcome | Life | str
Behaviour: TypeAlias = Item | Sequence[Item] | Callable[[int], Item]

#: The preset names (``S`` stands for a number of seconds, ``N`` for an exit code).
PRESETS = (
    "crash-immediately",
    "crash-after:S",
    "exitN-after:S",
    "never-exits",
    "ignores-term",
    "spawn-error",
)

_AFTER = re.compile(r"^(?:crash|exit(?P<code>\d+))-after:(?P<seconds>[^:]+)$")


def spawn_error_message(command: str) -> str:
    """supervisord's spawnerr for a command that cannot be found (semantics.md §6.2)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return f"can't find command {(words[0] if words else command)!r}"


def lives_of(behaviour: Behaviour, command: str) -> Callable[[int], Life]:
    """Turn a behaviour into a function of the attempt number (from 1) returning a Life.

    Parameters
    ----------
    behaviour
        Any of the forms in this module's docstring.
    command
        The program's command, for the ``spawn-error`` message.

    Raises
    ------
    ValueError
        When the behaviour (or, for a list, any of its items) is not understood.
    """
    if callable(behaviour) and not isinstance(behaviour, Life):
        function = behaviour
        cache: dict[int, Life] = {}

        def call(attempt: int) -> Life:
            if attempt not in cache:
                cache[attempt] = life_of(function(attempt), command)
            return cache[attempt]

        return call
    if _is_single(behaviour):
        single = life_of(behaviour, command)
        return lambda attempt: single
    items = list(behaviour)  # type: ignore[arg-type]
    if not items:
        raise ValueError("behaviour: an empty list; give at least one (run_seconds, exit)")
    lives = [life_of(item, command) for item in items]
    return lambda attempt: lives[min(attempt, len(lives)) - 1]


def _is_single(behaviour: object) -> bool:
    if isinstance(behaviour, Life | str):
        return True
    if isinstance(behaviour, tuple) and behaviour:
        first = behaviour[0]
        return first is None or (isinstance(first, int | float) and not isinstance(first, bool))
    return False


def life_of(item: object, command: str) -> Life:
    """One spawn's :class:`Life` from a tuple, a Life or a preset string.

    Raises
    ------
    ValueError
        When ``item`` is none of these.
    """
    if isinstance(item, Life):
        return item
    if isinstance(item, str):
        return _preset(item, command)
    if isinstance(item, tuple) and len(item) in (2, 3):
        runs = _run_seconds(item[0], item)
        ignores = _signals(item[2], item) if len(item) == 3 else frozenset()
        return Life(runs=runs, exit=_exit(item[1], item), ignores=ignores)
    raise ValueError(
        f"behaviour: cannot use {item!r}; expected (run_seconds, exit), "
        f"(run_seconds, exit, ignored_signals), a Life, a preset ({', '.join(PRESETS)}), "
        "a list of those or a function of the attempt number"
    )


def _preset(text: str, command: str) -> Life:
    name = text.strip().lower()
    if name == "crash-immediately":
        return Life(runs=0.01, exit=1)
    if name == "never-exits":
        return Life(runs=None)
    if name == "ignores-term":
        return Life(runs=None, ignores=frozenset({signal.SIGTERM}))
    if name == "spawn-error":
        return Life(spawn_error=spawn_error_message(command))
    match = _AFTER.match(name)
    if match is not None:
        code = int(match["code"]) if match["code"] is not None else 1
        try:
            seconds = float(match["seconds"])
        except ValueError:
            seconds = math.nan
        return Life(runs=_run_seconds(seconds, text), exit=_exit(code, text))
    raise ValueError(f"behaviour: unknown preset {text!r}; presets: {', '.join(PRESETS)}")


def _run_seconds(value: object, where: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"behaviour: {where!r}: run_seconds must be a number >= 0 or None")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"behaviour: {where!r}: run_seconds must be a number >= 0 or None")
    return float(value)


def _exit(value: object, where: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 255:
            return value
        raise ValueError(f"behaviour: {where!r}: an exit code is 0..255")
    if isinstance(value, str):
        return _signal(value, where).name
    raise ValueError(f"behaviour: {where!r}: exit must be an exit code (0..255) or a signal name")


def _signal(value: object, where: object) -> signal.Signals:
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return signal.Signals(value)
        name = str(value).strip().upper()
        return signal.Signals[name if name.startswith("SIG") else "SIG" + name]
    except (KeyError, ValueError):
        raise ValueError(f"behaviour: {where!r}: {value!r} is not a signal") from None


def _signals(value: object, where: object) -> frozenset[int]:
    values: Iterable[object]
    if isinstance(value, str | int):
        values = [value]
    elif isinstance(value, Iterable):
        values = value
    else:
        raise ValueError(f"behaviour: {where!r}: ignored signals must be names or numbers")
    return frozenset(int(_signal(item, where)) for item in values)
