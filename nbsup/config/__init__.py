"""supervisord config files in and out: :func:`read_config` reads a supervisord.conf (with
its includes) into nbsup programs, :func:`to_supervisord_conf` writes programs' options as
one. Layer 1: imports only :mod:`nbsup.core` and the standard library."""

from __future__ import annotations

from .errors import ConfigError, ConfigWarning
from .programs import ProgramEntry
from .reader import ConfigFile, GroupEntry, read_config
from .writer import to_supervisord_conf

__all__ = [
    "ConfigError",
    "ConfigFile",
    "ConfigWarning",
    "GroupEntry",
    "ProgramEntry",
    "read_config",
    "to_supervisord_conf",
]
