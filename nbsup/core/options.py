"""A program's options: one frozen object, checked as a whole before anything starts.

Names and meanings are supervisord's ``[program:x]`` options (semantics.md §3), with the
nbsup differences documented in the README: fractions of seconds are allowed,
``stopasgroup``/``killasgroup`` default to true, ``restartpause``, the ``backoff*`` and
``std*_timestamps`` options exist.
"""

from __future__ import annotations

import difflib
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from . import values
from .backoff import BackoffPolicy, ExponentialBackoff, LinearBackoff
from .errors import OptionError
from .values import AutoRestart

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")


def _backoff_kind(option: str, value: object) -> str | BackoffPolicy:
    if isinstance(value, BackoffPolicy):
        return value
    text = str(value).strip().lower()
    if text in ("linear", "exponential"):
        return text
    raise OptionError(option, value, "expected linear or exponential (or a BackoffPolicy object)")


def _fraction(option: str, value: object) -> float:
    number = values.seconds(option, value)
    if number >= 1:
        raise OptionError(option, value, "expected a fraction from 0 up to (not including) 1")
    return number


def _factor(option: str, value: object) -> float:
    number = values.seconds(option, value)
    if number < 1:
        raise OptionError(option, value, "expected a growth factor >= 1 (2 doubles each wait)")
    return number


def _directory(option: str, value: object) -> str | None:
    return None if value is None else values.text(option, value)


def _group(option: str, value: object) -> str:
    """A group name; empty means the program's own name."""
    return "" if value is None or str(value) == "" else check_name(str(value), option)


def _priority(option: str, value: object) -> int:
    return values.integer(option, value, minimum=None)


#: Each option's converter, in the order the docs list them.
CONVERTERS: Mapping[str, Callable[[str, object], Any]] = MappingProxyType(
    {
        "command": values.text,
        "autostart": values.boolean,
        "startsecs": values.seconds,
        "startretries": values.integer,
        "autorestart": values.auto_restart,
        "exitcodes": values.exit_codes,
        "stopsignal": values.signal_number,
        "stopwaitsecs": values.seconds,
        "stopasgroup": values.boolean,
        "killasgroup": values.boolean,
        "restartpause": values.seconds,
        "backoff": _backoff_kind,
        "backoffbase": values.seconds,
        "backofffactor": _factor,
        "backoffmax": values.seconds,
        "backoffjitter": _fraction,
        "backoffreset": values.seconds,
        "directory": _directory,
        "environment": values.environment,
        "redirect_stderr": values.boolean,
        "stdout_logfile": values.log_file,
        "stdout_logfile_maxbytes": values.byte_size,
        "stdout_logfile_backups": values.integer,
        "stdout_timestamps": values.boolean,
        "stderr_logfile": values.log_file,
        "stderr_logfile_maxbytes": values.byte_size,
        "stderr_logfile_backups": values.integer,
        "stderr_timestamps": values.boolean,
        "umask": values.umask,
        "priority": _priority,
        "group": _group,
    }
)


@dataclass(frozen=True)
class ProgramOptions:
    """Everything that defines how one program is run and supervised.

    Build it with :func:`build_options`, which checks every value; the defaults below are
    nbsup's (supervisord's, except where the README says otherwise).
    """

    name: str
    command: str
    autostart: bool = True
    startsecs: float = 1.0
    startretries: int = 3
    autorestart: AutoRestart = AutoRestart.UNEXPECTED
    exitcodes: tuple[int, ...] = (0,)
    stopsignal: signal.Signals = signal.SIGTERM
    stopwaitsecs: float = 10.0
    stopasgroup: bool = True
    killasgroup: bool = True
    restartpause: float = 1.0
    backoff: str | BackoffPolicy = "linear"
    backoffbase: float = 1.0
    backofffactor: float = 2.0
    backoffmax: float = 60.0
    backoffjitter: float = 0.0
    backoffreset: float = 0.0
    directory: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    redirect_stderr: bool = False
    stdout_logfile: str = "AUTO"
    stdout_logfile_maxbytes: int = 50 * 1024 * 1024
    stdout_logfile_backups: int = 10
    stdout_timestamps: bool = False
    stderr_logfile: str = "AUTO"
    stderr_logfile_maxbytes: int = 50 * 1024 * 1024
    stderr_logfile_backups: int = 10
    stderr_timestamps: bool = False
    umask: int | None = None
    priority: int = 999
    group: str = ""
    policy: BackoffPolicy = field(default=LinearBackoff(), compare=False, repr=False)

    @property
    def group_name(self) -> str:
        """The group the program belongs to (its own name unless set)."""
        return self.group or self.name

    def changed(self, **changes: object) -> ProgramOptions:
        """A copy with some options changed, checked like :func:`build_options`."""
        raw = {f.name: getattr(self, f.name) for f in fields(self) if f.name in CONVERTERS}
        raw.update(changes)
        return build_options(self.name, raw)


def option_names() -> list[str]:
    """The names of every program option."""
    return list(CONVERTERS)


def _unknown(option: str, extra: tuple[str, ...] = ()) -> OptionError:
    known = [*CONVERTERS, *extra]
    close = difflib.get_close_matches(option, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "known options: " + ", ".join(known)
    return OptionError(option, None, hint, unknown=True)


def check_name(name: object, option: str = "name") -> str:
    """Check a program name: letters, digits and ``_.@+-``, not starting with ``-``/``.``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise OptionError(
            option, name, "a program name uses letters, digits and _ . @ + - (no spaces)"
        )
    return name


def build_options(
    name: str,
    raw: Mapping[str, object],
    defaults: Mapping[str, object] | None = None,
) -> ProgramOptions:
    """Check and convert raw option values into a :class:`ProgramOptions`.

    Parameters
    ----------
    name
        The program name.
    raw
        Option values as given by the user: strings (from a magic line or a config file) or
        Python values.
    defaults
        Values used for options not in ``raw`` (e.g. from ``%config Supervisor.startsecs``).

    Raises
    ------
    OptionError
        For the first unknown option or wrong value; nothing is built.
    """
    check_name(name)
    merged: dict[str, object] = {}
    for source in (defaults or {}, raw):
        for option, value in source.items():
            if option not in CONVERTERS:
                raise _unknown(option)
            merged[option] = value
    converted: dict[str, Any] = {}
    for option, value in merged.items():
        if option == "killasgroup" and value is None:
            continue
        converted[option] = CONVERTERS[option](option, value)
    if "command" not in converted:
        raise OptionError("command", "", "a program needs a command (or a cell body)")
    if "killasgroup" not in raw and "stopasgroup" in raw:
        converted["killasgroup"] = converted["stopasgroup"]
    converted.setdefault("killasgroup", converted.get("stopasgroup", True))
    if converted.get("stopasgroup", True) and not converted["killasgroup"]:
        raise OptionError(
            "killasgroup",
            "false",
            "killasgroup must be true when stopasgroup is true (supervisord refuses it too)",
        )
    options = ProgramOptions(name=name, **converted)
    return replace(options, policy=_policy(options))


def _policy(options: ProgramOptions) -> BackoffPolicy:
    if not isinstance(options.backoff, str):
        return options.backoff
    if options.backoff == "exponential":
        return ExponentialBackoff(
            base=options.backoffbase,
            factor=options.backofffactor,
            cap=options.backoffmax,
            jitter=options.backoffjitter,
            reset_after=options.backoffreset,
        )
    return LinearBackoff(reset_after=options.backoffreset)
