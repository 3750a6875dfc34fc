"""The reasons :func:`nbsup.simulation.explain` gives: one function per edge of §5.

:func:`explain_row` names the edge a row took (``T1``...``T15`` of semantics.md §5) and
says why, from the program's options and what :class:`~.replay.Track` knows of its past.
"""

from __future__ import annotations

from ..core.backoff import ExponentialBackoff, LinearBackoff
from ..core.options import ProgramOptions
from ..core.values import AutoRestart
from ..core.wording import format_seconds
from .replay import Row, Track, expected_of

__all__ = ["SAME_TIME", "explain_row"]

SAME_TIME = 0.001  # seconds: rows closer than this happened "at once"


def explain_row(row: Row, following: Row | None, track: Track) -> tuple[str, str]:
    """The edge ``row`` took and why, given the program's next row and its replay."""
    edge = (row.from_state, row.to_state)
    o = track.options
    if row.to_state == "STARTING":
        edge_name, reason = _starting(row, track)
        if following is not None and following.message.startswith("spawnerr:"):
            reason += "; the spawn itself failed at once (next row)"
        return edge_name, reason
    if edge == ("STARTING", "BACKOFF"):
        return _backoff(row, track)
    if edge == ("STARTING", "RUNNING"):
        return _running(row, following, track)
    if edge == ("RUNNING", "EXITED"):
        return "T9", _exited(row, track)
    if edge == ("BACKOFF", "FATAL"):
        k, retries = track.backoff, o.startretries
        allows = f"startretries={retries} allows {_plural(retries, 'retry', 'retries')}"
        if not track.rows:
            return "T10", f"gave up: too many failed starts in a row ({allows})"
        if k > retries:
            return "T10", f"gave up after {_plural(k, 'failed start')} ({allows})"
        if row.message.startswith("gave up:"):  # the options given are not the program's
            return "T10", (
                f"gave up after {_plural(k, 'failed start')} (so startretries was {k - 1}, "
                f"not the {retries} assumed here: give explain the program's options)"
            )
        return "T10b", (
            "the supervisor shut down while the program waited in BACKOFF: it gives up at once "
            f"(FATAL, with no log line), after {_plural(k, 'failed start')}"
        )
    if row.to_state == "STOPPING" and row.from_state in ("RUNNING", "STARTING"):
        return "T11", _stopping(row, track)
    if edge == ("STOPPING", "STOPPING"):
        wait = format_seconds(o.stopwaitsecs)
        return "T12", (
            f"still running stopwaitsecs={wait} s after {track.stop_signal or 'the stop signal'}: "
            "SIGKILL sent (again every stopwaitsecs until it dies)"
        )
    if edge == ("STOPPING", "STOPPED"):
        return "T13", _stopped(row, track)
    if edge == ("BACKOFF", "STOPPED"):
        return "T14", (
            f"stopped by request while in BACKOFF: the failure counter ({track.backoff}) is kept, "
            "so a later start continues from it; no signal is sent (no process runs in BACKOFF)"
        )
    if row.to_state == "UNKNOWN":
        return "T15", (
            "a signal could not be sent (an error other than 'no such process'): the state of "
            "the process is unknown, and start requests are refused"
        )
    return "", f"{row.from_state} -> {row.to_state}: not a supervisord transition"


# --------------------------------------------------------------------------- edges


def _starting(row: Row, track: Track) -> tuple[str, str]:
    o = track.options
    k = row.tries if row.tries is not None else track.backoff
    if row.from_state == "BACKOFF":
        waited = _since(row.t, track.last_t)
        nominal = _nominal_delay(o, k)
        if waited is None or abs(waited - nominal) <= SAME_TIME:
            delay = f"{format_seconds(nominal)} s"
        else:
            delay = f"{_secs(waited)} (nominal {format_seconds(nominal)} s)"
        return "T4", (
            f"retry {k} of {o.startretries}: next start {delay} after the {_ordinal(k)} failure "
            f"({_growth(o)})"
        )
    if row.from_state == "STOPPED" and not track.rows and o.autostart and not k:
        return "T1", "autostart=true: started as soon as the program was added"
    why = _why_restart(track) if row.from_state == "EXITED" else None
    if why is not None:
        waited = _since(row.t, track.last_t)
        pause = o.restartpause
        if waited is None:
            when = f"after restartpause={format_seconds(pause)} s"
        elif abs(waited - pause) <= SAME_TIME:
            when = f"{format_seconds(pause)} s after the exit (restartpause)"
        else:
            when = f"{_secs(waited)} after the exit (restartpause={format_seconds(pause)} s)"
        return "T3", f"{why}: restarted {when}"
    if row.from_state == "STOPPED" and k:
        more = o.startretries + 1 - k
        return "T2", (
            f"started by request after a stop in BACKOFF: the failure counter ({k}) survived "
            f"the stop, so {_plural(max(more, 0), 'more failed start')} lead to FATAL"
        )
    if row.from_state == "FATAL":
        return "T2", "started by request after FATAL: the failure counter starts again at 0"
    if row.from_state == "EXITED":
        autorestart = o.autorestart.value
        return "T2", f"started by request (autorestart={autorestart} does not restart this exit)"
    return "T2", "started by request"


def _backoff(row: Row, track: Track) -> tuple[str, str]:
    o = track.options
    k = row.tries if row.tries is not None else track.backoff + 1
    no_exit = row.exitstatus is None and row.signal is None
    if row.message.startswith("spawnerr:") or (
        no_exit and row.message and "exited" not in row.message
    ):
        error = row.message.removeprefix("spawnerr: ") or "a spawn error"
        return "T5", (
            f"the spawn failed ({error}): a spawn error counts as a failed start; "
            + _failure_tail(o, k)
        )
    ran = _since(row.t, track.started_t)
    if row.signal and (row.exitstatus is None or row.exitstatus < 0):
        how = f"killed by {row.signal}"
    else:
        how = "exit status unknown" if no_exit else f"exit status {row.exitstatus}"
        if row.exitstatus in o.exitcodes:
            how += " (in exitcodes, but that only counts after startsecs)"
    return "T7", (
        f"exited{'' if ran is None else ' after ' + _secs(ran)}, before startsecs="
        f"{format_seconds(o.startsecs)}: counts as a failed start whatever the exit code (this "
        f"is the 'Exited too quickly' case); {how}; {_failure_tail(o, k)}"
    )


def _running(row: Row, following: Row | None, track: Track) -> tuple[str, str]:
    o = track.options
    up = _since(row.t, track.started_t)
    startsecs = format_seconds(o.startsecs)
    counter = ""
    if track.backoff:
        if o.policy.reset_after:
            reset = format_seconds(o.policy.reset_after)
            counter = f"; the failure counter ({track.backoff}) resets after backoffreset={reset} s"
        else:
            counter = f"; the failure counter ({track.backoff}) resets to 0"
    exits_at_once = (
        following is not None
        and (following.from_state, following.to_state) == ("RUNNING", "EXITED")
        and (_since(following.t, row.t) or 0.0) <= SAME_TIME
        and not row.message.startswith("success:")
    )
    if exits_at_once:
        after = "" if up is None else f" after {_secs(up)}"
        if o.startsecs == 0:
            why = f"exited{after} with startsecs=0: an exit is never too quick"
        else:
            why = f"exited{after}, not before startsecs={startsecs}"
        return "T8", (
            f"{why}, so it counts as started (RUNNING, without a 'success:' line) and then as "
            f"exited{counter}"
        )
    stayed = f"stayed up {_secs(up)}" if up is not None else "stayed up"
    return "T6", f"{stayed} ≥ startsecs={startsecs}: started successfully{counter}"


def _exited(row: Row, track: Track) -> str:
    o = track.options
    up = _since(row.t, track.started_t)
    lead = "exited" if up is None else f"exited after {_secs(up)}"
    expected = expected_of(row, o)
    codes = ",".join(map(str, o.exitcodes))
    signalled = row.signal is not None and (row.exitstatus is None or row.exitstatus < 0)
    if signalled:
        what = f"{row.signal} killed it: a signal death is never expected"
    elif row.exitstatus is None:
        what = "expected" if expected else "not expected" if expected is False else "exit unknown"
    elif expected:
        what = f"exit code {row.exitstatus} is in exitcodes"
    else:
        what = f"exit code {row.exitstatus} is not in exitcodes={codes}"
    pause = format_seconds(o.restartpause)
    if o.autorestart is AutoRestart.FALSE:
        then = "autorestart=false never restarts: it stays EXITED"
    elif o.autorestart is AutoRestart.TRUE:
        then = f"autorestart=true restarts it after restartpause={pause} s"
    elif expected:
        then = "autorestart=unexpected only restarts unexpected exits"
    else:
        then = f"autorestart=unexpected restarts it after restartpause={pause} s"
    return f"{lead}: {what}, and {then}"


def _stopping(row: Row, track: Track) -> str:
    o = track.options
    sent = row.signal or o.stopsignal.name
    group = "process group" in row.message if row.message else o.stopasgroup
    target = "process group" if group else "process"
    reason = (
        f"a stop was requested: {sent} (stopsignal) sent to the {target}; SIGKILL follows if "
        f"it still runs after stopwaitsecs={format_seconds(o.stopwaitsecs)} s"
    )
    if row.from_state == "STARTING":
        reason += "; a stop during STARTING is not a failed start (no BACKOFF)"
    return reason


def _stopped(row: Row, track: Track) -> str:
    o = track.options
    wait = o.stopwaitsecs
    sent = track.stop_signal or o.stopsignal.name
    took = _since(row.t, track.stopping_t)
    after = "" if took is None else f" after {_secs(took)}"
    killed = row.signal if row.exitstatus is None or row.exitstatus < 0 else None
    if killed == "SIGKILL" and sent != "SIGKILL":
        if took is not None and took < wait - SAME_TIME:
            reason = f"killed by SIGKILL{after}, before stopwaitsecs={format_seconds(wait)} s"
        else:
            reason = (
                f"SIGKILL after stopwaitsecs={format_seconds(wait)} s because the process "
                f"ignored {sent}"
            )
            if took is not None and wait and took >= 2 * wait - SAME_TIME:
                reason += " (and SIGKILL was repeated every stopwaitsecs)"
    elif killed is not None:
        reason = f"{killed} ended it{after}" + (" (the stop signal)" if killed == sent else "")
    elif row.exitstatus is not None:
        reason = (
            f"it handled {sent} and exited with exit code {row.exitstatus}{after}: an exit while "
            "stopping is STOPPED, whatever the code"
        )
    else:
        reason = f"it ended{after} once asked to stop"
    return f"{reason}; autorestart never applies to a stop"


# --------------------------------------------------------------------------- helpers


def _why_restart(track: Track) -> str | None:
    """Why autorestart restarts after the last exit, or None if it does not."""
    autorestart = track.options.autorestart
    if autorestart is AutoRestart.TRUE:
        return "autorestart=true"
    if autorestart is AutoRestart.FALSE or track.exit_expected is True:
        return None
    codes = ",".join(map(str, track.options.exitcodes))
    if track.exit_signal and (track.exit_status is None or track.exit_status < 0):
        return f"autorestart=unexpected and a death by {track.exit_signal} is never expected"
    if track.exit_status is None:
        return "autorestart=unexpected and the exit was unexpected"
    return f"autorestart=unexpected and exit code {track.exit_status} is not in exitcodes={codes}"


def _secs(seconds: float) -> str:
    """A measured duration to the millisecond: ``0.005 s``, ``0.31 s``, ``1.00 s``."""
    text = f"{seconds:.3f}"
    return (text[:-1] if text.endswith("0") else text) + " s"


def _since(now: float | None, then: float | None) -> float | None:
    return None if now is None or then is None else now - then


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _nominal_delay(options: ProgramOptions, tries: int) -> float:
    policy = options.policy
    if isinstance(policy, LinearBackoff):
        return float(tries)
    if isinstance(policy, ExponentialBackoff):  # without jitter: the middle of its range
        return min(policy.cap, policy.base * 2.0 ** max(tries - 1, 0))
    return float(policy.delay(tries))


def _growth(options: ProgramOptions) -> str:
    policy = options.policy
    if isinstance(policy, LinearBackoff):
        return "backoff grows 1 s, 2 s, 3 s..."
    if isinstance(policy, ExponentialBackoff):
        steps = ", ".join(f"{format_seconds(policy.base * f)} s" for f in (1, 2, 4))
        jitter = f", ±{policy.jitter:.0%} jitter" if policy.jitter else ""
        cap = format_seconds(policy.cap)
        return f"exponential backoff: {steps}... up to backoffmax={cap} s{jitter}"
    return f"backoff policy {policy!r}"


def _failure_tail(options: ProgramOptions, k: int) -> str:
    retries = options.startretries
    if k > retries:
        return f"failure {k}: no retries left (startretries={retries}), so it gives up (FATAL)"
    delay = format_seconds(_nominal_delay(options, k))
    return f"failure {k} of at most {retries + 1}: the next start comes {delay} s later"
