"""supervisord's words: the log messages and texts the state machine emits, in one place.

Each function returns the message of one supervisord.log line kind (semantics.md §15.2),
exactly as supervisord 4.3.0 writes it.
"""

from __future__ import annotations

from .events import signal_name

#: ``spawnerr`` and description after an exit before ``startsecs``.
TOO_QUICKLY = "Exited too quickly (process log may have details)"


def format_seconds(value: float) -> str:
    """``1`` for 1.0, ``0.5`` for 0.5: how a seconds option is written in messages."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def spawned(name: str, pid: int) -> str:
    return f"spawned: '{name}' with pid {pid}"


def success(name: str, startsecs: float) -> str:
    return (
        f"success: {name} entered RUNNING state, process has stayed up for "
        f"> than {format_seconds(startsecs)} seconds (startsecs)"
    )


def exited(name: str, how: str, expected: bool) -> str:
    return f"exited: {name} ({how}; {'expected' if expected else 'not expected'})"


def stopped(name: str, how: str) -> str:
    return f"stopped: {name} ({how})"


def gave_up(name: str) -> str:
    return f"gave up: {name} entered FATAL state, too many start retries too quickly"


def killing(name: str, pid: int, sig: int, group: bool) -> str:
    as_group = "process group " if group else ""
    return f"killing {name} (pid {pid}) {as_group}with signal {signal_name(sig)}"


def sigkill(name: str, pid: int) -> str:
    return f"killing '{name}' ({pid}) with SIGKILL"


def kill_in_backoff(name: str) -> str:
    return f"Attempted to kill {name}, which is in BACKOFF state."


def sending(name: str, pid: int, sig: int) -> str:
    return f"sending {name} (pid {pid}) sig {signal_name(sig)}"


def unable_to_signal(name: str, pid: int, error: str, killing: bool) -> str:
    now = "" if killing else "now "
    return f"unable to signal {name} (pid {pid}), it probably just {now}exited on its own: {error}"


def unknown_problem(name: str, pid: int, error: str, killing: bool) -> str:
    what = "killing" if killing else "sending sig"
    return f"unknown problem {what} {name} ({pid}):{error}"
