"""supervisord's ``%(name)s`` expansions in option values.

A value is a Python %-format string over a mapping of names (``options.expand``):
``%(here)s`` (the directory of the file the value is in), ``%(ENV_HOME)s`` (environment
variables), ``%(program_name)s``, ``%(group_name)s``, ``%(host_node_name)s``,
``%(process_num)02d``, ``%(numprocs)d``, and ``%%`` for a literal ``%``. Which names exist
depends on the option (see :mod:`nbsup.config.programs`).

One difference: supervisord formats a bare ``%s`` (no name) with the whole mapping and
inserts its text; nbsup refuses it, asking for ``%%``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import ConfigError
from .ini import Entry

_PERCENT = re.compile(r"%(?:%|\([^)]*\))?")


def expand(
    entry: Entry, names: Mapping[str, object], section: str, option: str, times: int = 1
) -> str:
    """``entry.value`` with its ``%(name)s`` expansions done ``times`` times.

    supervisord expands ``stdout_logfile``/``stderr_logfile`` and the ``[supervisord]``
    ``environment`` twice, so a literal ``%`` there is written ``%%%%``.

    Raises
    ------
    ConfigError
        An unknown name, a conversion without a name, or a badly formed format.
    """
    text = entry.value
    for _ in range(times):
        text = _expand_once(text, entry, names, section, option)
    return text


def _expand_once(
    text: str, entry: Entry, names: Mapping[str, object], section: str, option: str
) -> str:
    if "%" not in text:
        return text

    def fail(problem: str) -> ConfigError:
        return ConfigError(problem, entry.file, entry.line, section, option, entry.value)

    for match in _PERCENT.finditer(text):
        if match.group() == "%":
            raise fail("a % that names nothing: write %% for a literal %, or %(name)s")
    try:
        return text % dict(names)
    except KeyError as missing:
        raise fail(
            f"%({missing.args[0]})s cannot be expanded here; known names: {describe(names)}"
        ) from None
    except (ValueError, TypeError) as error:
        raise fail(f"badly formatted ({error}); write %% for a literal %") from None


def describe(names: Mapping[str, object]) -> str:
    """The expansion names, with the environment variables summed up as ``ENV_<name>``."""
    own = sorted(name for name in names if not name.startswith("ENV_"))
    return ", ".join([*own, "ENV_<name> (environment variables)"])


def environ_names(environ: Mapping[str, str]) -> dict[str, object]:
    """``ENV_X`` for each environment variable ``X``."""
    return {f"ENV_{key}": value for key, value in environ.items()}
