"""``lint()``: supervisord's classic configuration traps, found before the program runs.

The command (or the cell body, a shell script) is read with a few simple, documented
heuristics; anything they do not recognise is assumed to be a long-running program, so an
ordinary command never gets a warning.

Traps
-----
``restart-loop``
    ``startsecs=0`` and a command that exits at once (``true``, ``exit 0``, ``echo ...``,
    ``sh -c 'exit N'``, ``sleep`` under a second), restarted by ``autorestart`` (``true``,
    or ``unexpected`` with an exit code not in ``exitcodes``): with ``startsecs=0`` an exit
    is never a failed start, so it restarts forever and never becomes FATAL.
``daemonizes``
    The program puts itself in the background: ``&`` at the end of the command or of the
    script's last line; ``nohup``, ``setsid``, ``disown``, ``daemon``,
    ``start-stop-daemon``; ``--daemon``, ``--daemonize[=yes]``, ``daemonize yes``,
    ``--fork``, ``--detach``; ``-d`` for programs where it means detach (docker, podman,
    nerdctl, memcached, screen, tmux, uwsgi); ``nginx`` without ``daemon off``;
    ``service x start`` / ``systemctl start x``. The supervised process then exits at once.
``oneshot-fatal``
    A short job (the commands above, and ``sleep N``) that ends before ``startsecs``: every
    run is a failed start whatever its exit code (semantics.md §7, supervisor issue #260).
``no-retries``
    ``startretries=0`` with a slow-starting program: ``startsecs`` above 5 s, or a program
    known to take long to start (java, docker, podman, jupyter, torchrun, deepspeed,
    accelerate, npm, npx, yarn, gradle, mvn). One failure makes it FATAL.

Python without ``-u`` is not a trap in nbsup: children get ``PYTHONUNBUFFERED=1``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from typing import Any

from ..core.values import AutoRestart
from ..core.wording import format_seconds
from .explain import program_options

__all__ = ["LintWarning", "lint"]

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash"})
#: Commands that end at once, with their exit code.
INSTANT = {"true": 0, ":": 0, "false": 1, "echo": 0, "printf": 0, "export": 0, "cd": 0,
           "set": 0, "unset": 0, "pwd": 0, "date": 0}  # fmt: skip
DETACHERS = frozenset({"nohup", "setsid", "disown", "daemon", "start-stop-daemon"})
DAEMON_FLAGS = frozenset({"--daemon", "--daemonize", "--fork", "--detach"})
DASH_D = frozenset({"docker", "podman", "nerdctl", "memcached", "screen", "tmux", "uwsgi"})
SLOW_STARTERS = frozenset({"java", "docker", "podman", "jupyter", "torchrun", "deepspeed",
                           "accelerate", "npm", "npx", "yarn", "gradle", "mvn"})  # fmt: skip
CONTROL = frozenset({"while", "until", "for", "if", "case", "select", "function", "do", "done",
                     "then", "else", "elif", "fi", "esac", "{", "}", "(", ")", "wait"})  # fmt: skip
BOOLEAN = {"yes": True, "true": True, "on": True, "1": True,
           "no": False, "false": False, "off": False, "0": False}  # fmt: skip
SEPARATORS = frozenset({";", "&&", "||", "&", "|", ";;", "|&"})
_SLEEP = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class LintWarning:
    """One trap found by :func:`lint`.

    Attributes
    ----------
    code
        ``restart-loop``, ``daemonizes``, ``oneshot-fatal`` or ``no-retries``.
    message
        One line: what will happen, and what to do.
    option
        The option to change, if one is the fix.
    """

    code: str
    message: str
    option: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class _Guess:
    """What the heuristics make of a command: how long it runs, if short; how it ends."""

    runs: float | None = None  # seconds, when it surely ends soon; None: long or unknown
    exit: int | None = None
    detaches: str | None = None  # what puts it in the background
    program: str | None = None  # the last program run


_UNKNOWN = _Guess()
TRAILING_AMPERSAND = "'&'"


def lint(
    command: str | None = None,
    body: str | None = None,
    *,
    interpreter: str | None = None,
    **options: Any,
) -> list[LintWarning]:
    """Warn about supervisord's classic traps in a program's command and options.

    Parameters
    ----------
    command
        The program's command (split like a shell would, never run by one).
    body
        A ``%%supervise`` cell body: a shell script unless ``interpreter`` says otherwise
        (used when ``command`` is not given).
    interpreter
        The body's interpreter (``%%supervise ... interpreter=python``); bodies of other
        interpreters than shells are not analysed.
    **options
        Program options (nbsup's defaults for the others).

    Returns
    -------
    list of LintWarning
        Empty when nothing looks wrong.

    Raises
    ------
    OptionError
        For an unknown option or a bad value.

    Examples
    --------
    >>> [w.code for w in lint("sh -c 'exit 0'", startsecs=0, autorestart=True)]
    ['restart-loop']
    """
    o = program_options(options)
    if command is not None:
        guess = _command(command)
    elif body is not None and _is_shell(interpreter or _shebang(body) or "bash"):
        guess = _script(body)
    else:
        guess = _UNKNOWN
    warnings: list[LintWarning] = []
    startsecs = format_seconds(o.startsecs)
    pause = format_seconds(o.restartpause)
    if guess.detaches == TRAILING_AMPERSAND and command is not None:
        warnings.append(LintWarning(
            "daemonizes",
            "the command ends with '&', but no shell runs it: the program gets '&' as an "
            "argument; remove it (a supervised program runs in the foreground)",
        ))  # fmt: skip
    elif guess.detaches is not None:
        early = "a failed start, then FATAL" if o.startsecs > 0 else "an exit"
        warnings.append(LintWarning(
            "daemonizes",
            f"{guess.detaches} backgrounds the program: the supervised process exits at once "
            f"({early}) while the program runs unsupervised; run it in the foreground",
        ))  # fmt: skip
    elif guess.runs is not None and o.startsecs > 0 and guess.runs < o.startsecs:
        runs = f"runs about {format_seconds(guess.runs)} s" if guess.runs else "ends at once"
        warnings.append(LintWarning(
            "oneshot-fatal",
            f"it {runs}, before startsecs={startsecs}, so every run is a failed start and it "
            "will be FATAL: use startsecs=0 and autorestart=false",
            "startsecs",
        ))  # fmt: skip
    elif guess.runs is not None and o.startsecs == 0 and guess.runs < 1 and _restarts(o, guess):
        often = "at once, in a tight loop," if o.restartpause == 0 else f"every {pause} s"
        warnings.append(LintWarning(
            "restart-loop",
            f"it exits at once and startsecs=0 never counts that as a failure, so "
            f"autorestart={o.autorestart.value} restarts it {often} forever: for a one-shot "
            "job use autorestart=false",
            "autorestart",
        ))  # fmt: skip
    slow = guess.program in SLOW_STARTERS
    if o.startretries == 0 and (o.startsecs > 5 or slow):
        what = f"{guess.program} is slow to start" if slow else f"startsecs={startsecs} is long"
        warnings.append(LintWarning(
            "no-retries",
            f"{what} and startretries=0 gives up (FATAL) at its first failed start: allow a "
            "few retries (e.g. startretries=3)",
            "startretries",
        ))  # fmt: skip
    return warnings


def _restarts(o: Any, guess: _Guess) -> bool:
    if o.autorestart is AutoRestart.TRUE:
        return True
    return o.autorestart is AutoRestart.UNEXPECTED and (
        guess.exit is not None and guess.exit not in o.exitcodes
    )


def _is_shell(interpreter: str) -> bool:
    words = interpreter.split()
    name = os.path.basename(words[0]) if words else ""
    if name == "env" and len(words) > 1:
        name = os.path.basename(words[1])
    return name in SHELLS


def _shebang(body: str) -> str | None:
    first = body.lstrip().split("\n", 1)[0]
    return first[2:].strip() if first.startswith("#!") else None


# --------------------------------------------------------------------------- reading


def _command(command: str) -> _Guess:
    """A command as nbsup runs it: split into words, no shell in between."""
    try:
        words = shlex.split(command)
    except ValueError:
        return _UNKNOWN
    if words and words[-1] == "&":  # not a shell: '&' would be an argument to the program
        return _Guess(detaches=TRAILING_AMPERSAND)
    return _statement(words)


def _script(text: str) -> _Guess:
    """A shell script: statements separated by newlines, ';', '&&', '||', '&', '|'."""
    text = text.replace("\\\n", " ")
    statements: list[tuple[list[str], str]] = []
    for line in text.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            return _UNKNOWN
        words: list[str] = []
        for token in [*tokens, "\n"]:
            if token in SEPARATORS or token == "\n":
                if words or token == "&":
                    statements.append((words, token))
                words = []
            else:
                words.append(token)
    if not statements:
        return _UNKNOWN
    if statements[-1][1] == "&":
        return _Guess(detaches="'&' at the end")
    if statements[-1][0][:1] == ["disown"]:
        return _Guess(detaches="'&' then 'disown'")
    runs, code = 0.0, 0
    for i, (words, separator) in enumerate(statements):
        if separator in ("|", "|&") or (separator == "&" and i < len(statements) - 1):
            return _UNKNOWN
        guess = _statement(words)
        if guess.detaches is not None and i == len(statements) - 1:
            return guess
        if guess.runs is None:
            return _Guess(program=guess.program) if i == len(statements) - 1 else _UNKNOWN
        runs, code = runs + guess.runs, guess.exit if guess.exit is not None else 0
        if words and words[0] == "exit":
            break
    return _Guess(runs=runs, exit=code)


def _statement(words: list[str]) -> _Guess:
    """One simple command: what it is, how long it runs when that is known."""
    words = _strip_prefixes(words)
    if not words:
        return _Guess(runs=0.0, exit=0)
    name, args = os.path.basename(words[0]), words[1:]
    if name in DETACHERS:
        return _Guess(detaches=f"'{name}'", program=name)
    if name in CONTROL:
        return _UNKNOWN
    detaches = _daemon_flag(name, args)
    if detaches is not None:
        return _Guess(detaches=detaches, program=name)
    if name in SHELLS:
        script = _shell_script(args)
        return _script(script) if script is not None else _Guess(program=name)
    if name == "exit":
        code = _int(args[0]) if args else 0
        return _Guess(runs=0.0, exit=code)
    if name in INSTANT:
        return _Guess(runs=0.0, exit=INSTANT[name])
    if name == "sleep":
        return _Guess(runs=_sleep_seconds(args), exit=0, program=name)
    return _Guess(program=name)


def _strip_prefixes(words: list[str]) -> list[str]:
    """Drop ``VAR=value`` assignments and ``exec``/``env``/``command``/``time`` prefixes."""
    while words:
        first = words[0]
        assignment = "=" in first and first.split("=")[0].isidentifier()
        if not (assignment or first in ("exec", "command", "time", "env", "builtin")):
            break
        words = words[1:]
    return words


def _daemon_flag(name: str, args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        flag, equals, value = arg.partition("=")
        if flag in DAEMON_FLAGS or arg == "daemonize":
            following = args[i + 1].lower() if i + 1 < len(args) else ""
            word = value.lower() if equals else (following if following in BOOLEAN else "")
            if (word or arg != "daemonize") and BOOLEAN.get(word, True):
                return f"'{arg if equals or not word else arg + ' ' + word}'"
        if name in DASH_D and arg.startswith("-") and not arg.startswith("--") and "d" in arg:
            return f"'{name} ... {arg}'"
    if name == "nginx" and "daemon off" not in " ".join(args):
        return "nginx without \"-g 'daemon off;'\""
    if (name == "service" and "start" in args[1:2]) or (name == "systemctl" and "start" in args):
        return "'" + " ".join([name, *args[:2]]) + "'"
    return None


def _shell_script(args: list[str]) -> str | None:
    """The script of ``sh -c 'script'`` (options such as ``-e``, ``-lc`` allowed)."""
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            return None
        if "c" in arg[1:] and not arg.startswith("--"):
            return args[i + 1] if i + 1 < len(args) else None
    return None


def _sleep_seconds(args: list[str]) -> float | None:
    total = 0.0
    for arg in args:
        match = _SLEEP.match(arg)
        if match is None:  # infinity, a variable...: long or unknown
            return None
        total += float(match[1]) * _UNIT[match[2]]
    return total if args else None


def _int(text: str) -> int | None:
    try:
        return int(text) % 256
    except ValueError:
        return None
