"""nbsup's exceptions: one small hierarchy, with messages meant for users."""

from __future__ import annotations

from enum import IntEnum


class NbsupError(Exception):
    """Base class of every error nbsup raises on purpose."""


class OptionError(NbsupError, ValueError):
    """A program option has a wrong name or value; nothing was changed.

    Parameters
    ----------
    option
        The option's name as the user wrote it.
    value
        The value that was refused.
    allowed
        What would have been accepted, in words.
    unknown
        True when the option name itself is unknown.
    """

    def __init__(self, option: str, value: object, allowed: str, unknown: bool = False) -> None:
        self.option = option
        self.value = value
        self.allowed = allowed
        self.unknown = unknown
        if unknown:
            text = f"unknown option {option!r}: {allowed}"
        else:
            text = f"{_shown(option)}={_shown(value)}: {allowed}"
        super().__init__(text)


def _shown(value: object, limit: int = 80) -> str:
    """A value as the user typed it, on one line: quoted if it holds control characters,
    shortened if it is long."""
    text = str(value)
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LogUnavailable(NbsupError, LookupError):
    """Output that was asked for is no longer kept: rotated away, cleared, or out of memory.

    Raised by :meth:`nbsup.Program.attempt_log`; the message says why and what still exists.
    """


class FaultCode(IntEnum):
    """supervisord's XML-RPC fault codes (``xmlrpc.py:26-44``)."""

    UNKNOWN_METHOD = 1
    INCORRECT_PARAMETERS = 2
    BAD_ARGUMENTS = 3
    SIGNATURE_UNSUPPORTED = 4
    SHUTDOWN_STATE = 6
    BAD_NAME = 10
    BAD_SIGNAL = 11
    NO_FILE = 20
    NOT_EXECUTABLE = 21
    FAILED = 30
    ABNORMAL_TERMINATION = 40
    SPAWN_ERROR = 50
    ALREADY_STARTED = 60
    NOT_RUNNING = 70
    SUCCESS = 80


class Fault(NbsupError):
    """A command was refused, as supervisord's RPC interface would refuse it.

    Parameters
    ----------
    code
        The supervisord fault code, e.g. ``FaultCode.ALREADY_STARTED``.
    detail
        Usually the program name, as in supervisord's ``"ALREADY_STARTED: x"``.
    """

    def __init__(self, code: FaultCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code.name}: {detail}" if detail else code.name)
