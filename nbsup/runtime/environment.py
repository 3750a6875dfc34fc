"""The environment a program starts with: this process's, supervisord's variables, then the
program's own ``environment``.

A restart loop starts the same program with the same environment hundreds of times a
second, so :class:`StartEnvironments` keeps each program's, ready for the C library, and
makes it again only when the program's options or this process's environment changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..core.options import ProgramOptions
from .spawner import Environment


def child_environment(options: ProgramOptions, base: Mapping[str, str]) -> dict[str, str]:
    """The environment a program starts with (supervisord's variables, then the program's)."""
    env = dict(base)
    if env.get("MPLBACKEND", "").startswith("module://matplotlib_inline"):
        del env["MPLBACKEND"]  # the kernel's inline backend means nothing in a child
    env.update(
        SUPERVISOR_ENABLED="1",
        SUPERVISOR_PROCESS_NAME=options.name,
        SUPERVISOR_GROUP_NAME=options.group_name,
        PYTHONUNBUFFERED="1",
    )
    env.update(options.environment)
    return env


class StartEnvironments:
    """Each program's start environment, made again when its options or the base changed.

    Checking costs a microsecond: the options are compared by identity (a program's are
    replaced, never changed), the base by its raw contents (``os.environ`` keeps its bytes in
    a plain dict; copying it decodes every variable, about 50 us).
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[ProgramOptions, dict[Any, Any], Environment]] = {}

    def get(self, options: ProgramOptions, base: Mapping[str, str]) -> Environment:
        """``options``'s program's environment over ``base`` (read-only: do not change it)."""
        raw = _raw(base)
        kept = self._kept.get(options.name)
        if kept is not None and kept[0] is options and kept[1] == raw:
            return kept[2]
        environment = Environment(child_environment(options, base))
        self._kept[options.name] = (options, dict(raw), environment)
        return environment

    def forget(self, name: str) -> None:
        """Drop what is kept for program ``name``."""
        self._kept.pop(name, None)


def _raw(base: Mapping[str, str]) -> Mapping[Any, Any]:
    raw = getattr(base, "_data", None) if base is os.environ else None
    return raw if isinstance(raw, dict) else base


__all__ = ["StartEnvironments", "child_environment"]
