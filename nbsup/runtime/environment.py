"""The environment a program starts with: this process's, supervisord's variables, then the
program's own ``environment``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..core.options import ProgramOptions


def child_environment(options: ProgramOptions, base: Mapping[str, str]) -> dict[str, str]:
    """The environment a program starts with (supervisord's variables, then the program's)."""
    env = _copy_environment(base)
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


_copied: list[tuple[object, dict[str, str]]] = []  # (fingerprint, copy) of os.environ


def _copy_environment(base: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``base``; of ``os.environ``, made again only when it has changed.

    Copying ``os.environ`` decodes every variable in Python (about 50 us, at each spawn of
    a restart loop); its raw bytes mapping compares in a microsecond.
    """
    raw = getattr(base, "_data", None) if base is os.environ else None
    if not isinstance(raw, dict):
        return dict(base)
    if _copied and _copied[0][0] == raw:
        return dict(_copied[0][1])
    copy = dict(base)
    _copied[:] = [(dict(raw), copy)]
    return dict(copy)


__all__ = ["child_environment"]
