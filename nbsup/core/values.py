"""One small converter per option value type, with supervisord's spellings (datatypes.py).

Each converter takes the option name (for the error message) and a value that is either a
string, as written in a magic line or a config file, or a Python value, as passed to
:meth:`nbsup.Supervisor.add_program`. It returns the normalised value or raises
:class:`~nbsup.core.errors.OptionError` naming the option, the value and what is allowed.
"""

from __future__ import annotations

import math
import shlex
import signal
from collections.abc import Iterable, Mapping
from enum import StrEnum

from .errors import OptionError

_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}


class AutoRestart(StrEnum):
    """When a program that exited from RUNNING is started again (semantics.md §9)."""

    FALSE = "false"
    UNEXPECTED = "unexpected"
    TRUE = "true"


def boolean(option: str, value: object) -> bool:
    """yes/true/on/1 or no/false/off/0, any case (``datatypes.boolean``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OptionError(option, value, "expected true or false (also yes/no, on/off, 1/0)")


def integer(option: str, value: object, minimum: int | None = 0) -> int:
    """A whole number, at least ``minimum`` when one is given."""
    if isinstance(value, bool):
        raise OptionError(option, value, "expected a whole number")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise OptionError(option, value, "expected a whole number") from None
    if minimum is not None and number < minimum:
        raise OptionError(option, value, f"expected a whole number >= {minimum}")
    return number


def seconds(option: str, value: object) -> float:
    """A duration in seconds, >= 0; fractions are allowed (an nbsup extension)."""
    if isinstance(value, bool):
        raise OptionError(option, value, "expected a number of seconds >= 0")
    try:
        number = float(str(value).strip()) if not isinstance(value, int | float) else value
    except ValueError:
        raise OptionError(option, value, "expected a number of seconds >= 0") from None
    if not math.isfinite(number) or number < 0:
        raise OptionError(option, value, "expected a number of seconds >= 0")
    return float(number)


def auto_restart(option: str, value: object) -> AutoRestart:
    """false, unexpected or true (and supervisord's boolean spellings)."""
    if isinstance(value, AutoRestart):
        return value
    if isinstance(value, bool):
        return AutoRestart.TRUE if value else AutoRestart.FALSE
    text = str(value).strip().lower()
    if text == "unexpected":
        return AutoRestart.UNEXPECTED
    if text in _TRUE:
        return AutoRestart.TRUE
    if text in _FALSE:
        return AutoRestart.FALSE
    raise OptionError(option, value, "expected false, unexpected or true")


def exit_codes(option: str, value: object) -> tuple[int, ...]:
    """A comma-separated list (or a Python list) of exit codes, each 0..255."""
    items: Iterable[object]
    if isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        items = [value]
    codes: list[int] = []
    for item in items:
        try:
            code = int(item) if not isinstance(item, bool) else -1  # type: ignore[call-overload]
        except (TypeError, ValueError):
            code = -1
        if not 0 <= code <= 255:
            raise OptionError(option, value, "expected exit codes from 0 to 255, comma-separated")
        codes.append(code)
    if not codes:
        raise OptionError(option, value, "expected at least one exit code from 0 to 255")
    return tuple(dict.fromkeys(codes))


def signal_number(option: str, value: object) -> signal.Signals:
    """A signal by name (TERM, SIGTERM, any case) or number (``datatypes.signal_number``)."""
    if isinstance(value, signal.Signals):
        return value
    text = str(value).strip()
    try:
        return signal.Signals(int(text))
    except ValueError:
        pass
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return signal.Signals[name]
    except KeyError:
        names = ", ".join(
            sorted(s.name[3:] for s in signal.Signals if not s.name.startswith("SIGRT"))
        )
        raise OptionError(option, value, f"expected a signal name or number ({names})") from None


def environment(option: str, value: object) -> dict[str, str]:
    """``KEY="value",KEY2=value2`` as in supervisord, or a Python mapping of str to str."""
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str) or not key or "=" in key:
                raise OptionError(option, value, "expected names without '=' mapped to values")
            result[key] = str(item)
        return result
    pairs: dict[str, str] = {}
    for part in _split_outside_quotes(str(value)):
        key, equals, item = part.partition("=")
        key = key.strip()
        if not equals or not key or not key.replace("_", "a").isalnum():
            raise OptionError(option, value, 'expected KEY="value",KEY2="value2"')
        try:
            words = shlex.split(item.strip())
        except ValueError:
            raise OptionError(option, value, 'expected KEY="value",KEY2="value2"') from None
        pairs[key] = " ".join(words)
    return pairs


def _split_outside_quotes(text: str) -> list[str]:
    """Split on commas that are not inside single or double quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def text(option: str, value: object) -> str:
    """Any non-empty string."""
    if value is None or not str(value).strip():
        raise OptionError(option, value, "expected a non-empty text")
    return str(value)


_BYTE_UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}


def byte_size(option: str, value: object) -> int:
    """A size in bytes: ``1024``, ``50MB``, ``10KB``, ``1GB`` (``datatypes.byte_size``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().upper()
        multiplier = 1
        for suffix, size in _BYTE_UNITS.items():
            if text.endswith(suffix):
                text, multiplier = text[: -len(suffix)].strip(), size
                break
        try:
            number = int(float(text) * multiplier)
        except (ValueError, OverflowError):  # "x", "nan"; "1e309" (infinite)
            number = -1
    if number < 0:
        raise OptionError(option, value, "expected a size in bytes like 1024, 10KB, 50MB or 1GB")
    return number


def log_file(option: str, value: object) -> str:
    """``AUTO`` (a file in the session folder), ``NONE``/``OFF`` (discard) or a path."""
    if value is None:
        return "NONE"
    text = str(value).strip()
    if text.upper() in ("AUTO", "NONE", "OFF"):
        return "NONE" if text.upper() == "OFF" else text.upper()
    if not text:
        raise OptionError(option, value, "expected AUTO, NONE or a file path")
    return text


def umask(option: str, value: object) -> int | None:
    """An octal file mode mask like ``022`` (``datatypes.octal_type``); None keeps the kernel's."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        try:
            number = int(str(value).strip(), 8)
        except ValueError:
            number = -1
    if not 0 <= number <= 0o777:
        raise OptionError(option, value, "expected an octal mask from 000 to 777, like 022")
    return number
