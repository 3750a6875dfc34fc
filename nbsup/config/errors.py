"""The error and the warning of reading a supervisord.conf."""

from __future__ import annotations

from ..core.errors import NbsupError


class ConfigError(NbsupError, ValueError):
    """A supervisord.conf file cannot be loaded; nothing was loaded.

    The message is one line: ``file:line: [section] option=value: problem``, with the parts
    that are known.

    Parameters
    ----------
    problem
        What is wrong, in words.
    file
        The file the problem is in (the main file or an included one).
    line
        The line number in ``file`` (1-based), when known.
    section
        The section name without brackets, e.g. ``program:web``.
    option
        The option's name.
    value
        The option's value as written, when it is the value that is wrong.
    """

    def __init__(
        self,
        problem: str,
        file: str | None = None,
        line: int | None = None,
        section: str | None = None,
        option: str | None = None,
        value: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.section = section
        self.option = option
        self.value = value
        super().__init__(_message(problem, file, line, section, option, value))


def _message(
    problem: str,
    file: str | None,
    line: int | None,
    section: str | None,
    option: str | None,
    value: str | None,
) -> str:
    parts = []
    if file is not None:
        parts.append(f"{file}:{line}" if line is not None else file)
    where = f"[{section}]" if section is not None else ""
    if option is not None:
        what = option if value is None else f"{option}={_one_line(value)}"
        where = f"{where} {what}" if where else what
    if where:
        parts.append(where)
    parts.append(problem)
    return ": ".join(parts)


def _one_line(value: str) -> str:
    return value.replace("\n", "\\n")


class ConfigWarning(UserWarning):
    """What nbsup ignored in, or accepts beyond, a supervisord.conf (one warning per file)."""
