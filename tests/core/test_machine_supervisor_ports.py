"""Ports of supervisor 4.3.0's own state-machine tests (semantics.md §17).

Each test is named after the original in ``supervisor/tests/test_process.py`` (or
``tests/test_events.py``). supervisord's tests poke the ``Subprocess`` attributes directly;
nbsup's machine has no setters, so each test first drives the machine into the original's
starting state with events, then checks the whole list of effects and the machine's
variables. Where supervisord's structure has no equivalent (pipes, dispatchers, pidhistory,
listener pools) the observable part is tested. The config mirrors supervisor's
``DummyPConfig`` (``tests/base.py``): startsecs=10, startretries=999, autorestart=true,
stopwaitsecs=10, exitcodes=0, and supervisord's stopasgroup/killasgroup=false.
"""

from __future__ import annotations

import signal

import pytest

from nbsup.core.errors import Fault, FaultCode
from nbsup.core.events import (
    Exited,
    ExitStatus,
    Kill,
    LogLine,
    ProgramStatus,
    SendSignal,
    Shutdown,
    SignalFailed,
    Spawn,
    Spawned,
    SpawnFailed,
    Start,
    Stop,
    Tick,
    Transition,
)
from nbsup.core.machine import TOO_QUICKLY, Machine
from nbsup.core.options import build_options
from nbsup.core.states import EDGES, ProcessState

S = ProcessState

# --------------------------------------------------------------------------- helpers


def dummy(name: str = "test", **options: object) -> Machine:
    """A machine configured like supervisor's DummyPConfig."""
    raw: dict[str, object] = {
        "command": "/" + name,
        "startsecs": 10,
        "startretries": 999,
        "autorestart": "true",
        "stopwaitsecs": 10,
        "exitcodes": "0",
        "stopasgroup": False,
        "killasgroup": False,
    }
    raw.update(options)
    return Machine(build_options(name, raw))


def summary(effects: list) -> list[tuple]:
    """Every field of every effect except a Transition's ``at`` and ``status``."""
    out: list[tuple] = []
    for e in effects:
        if isinstance(e, Transition):
            out.append(
                (
                    "T",
                    e.from_state,
                    e.to_state,
                    e.pid,
                    e.tries,
                    e.exitstatus,
                    e.signal,
                    e.expected,
                    e.message,
                    e.level,
                )
            )
        elif isinstance(e, Kill):
            out.append(("K", int(e.signal), e.group, e.killing))
        elif isinstance(e, LogLine):
            out.append(("L", e.level, e.message))
        elif isinstance(e, Spawn):
            out.append(("S",))
        else:  # pragma: no cover - a new effect type must be added here
            raise AssertionError(f"unknown effect {e!r}")
    return out


def T(
    frm: str,
    to: str,
    pid: int | None = None,
    tries: int | None = None,
    *,
    exitstatus: int | None = None,
    signal: str | None = None,
    expected: bool | None = None,
    message: str = "",
    level: str = "INFO",
) -> tuple:
    return ("T", S(frm), S(to), pid, tries, exitstatus, signal, expected, message, level)


def K(sig: int, group: bool, killing: bool = True) -> tuple:
    return ("K", int(sig), group, killing)


def L(level: str, message: str) -> tuple:
    return ("L", level, message)


SPAWN = ("S",)


def feed(m: Machine, event: object, now: float) -> list[tuple]:
    """Handle one event; check what every Transition must satisfy; return the summary."""
    effects = m.handle(event, now)  # type: ignore[arg-type]
    for e in effects:
        if isinstance(e, Transition):
            assert e.at == now
            assert e.status.state is e.to_state
            assert (e.from_state, e.to_state) in EDGES
    return summary(effects)


def to_starting(m: Machine, t: float = 0.0, pid: int = 11) -> None:
    assert feed(m, Start(), t) == [SPAWN]
    assert feed(m, Spawned(pid), t) == [
        T("STOPPED", "STARTING", pid, 0, message=f"spawned: '{m.name}' with pid {pid}")
    ]


def to_running(m: Machine, t: float = 0.0, pid: int = 11) -> float:
    to_starting(m, t, pid)
    at = t + m.options.startsecs
    [row] = feed(m, Tick(), at)
    assert row[1:3] == (S.STARTING, S.RUNNING)
    return at


def to_stopping(m: Machine, t: float = 0.0, pid: int = 11) -> float:
    at = to_running(m, t, pid) + 1
    rows = feed(m, Stop(), at)
    assert rows[0][1:3] == (S.RUNNING, S.STOPPING)
    return at


def to_backoff(m: Machine, t: float = 0.0, pid: int = 11) -> float:
    """STARTING, then an exit 1 s later (before startsecs): BACKOFF with tries=1."""
    to_starting(m, t, pid)
    at = t + 1
    [row] = feed(m, Exited(ExitStatus(code=1)), at)
    assert row[1:3] == (S.STARTING, S.BACKOFF)
    return at


def to_exited(m: Machine, code: int, t: float = 0.0, pid: int = 11) -> float:
    at = to_running(m, t, pid) + 5
    rows = feed(m, Exited(ExitStatus(code=code)), at)
    assert rows[-1][1:3] == (S.RUNNING, S.EXITED)
    return at


# --------------------------------------------------------------------------- spawn


def test_spawn_already_running() -> None:
    # spawn() with a pid is a no-op in supervisord; a start request is refused and a
    # stray launcher answer is ignored, nothing changes.
    m = dummy("sh", command="/bin/sh")
    to_running(m)
    before = m.status()
    with pytest.raises(Fault) as info:
        m.handle(Start(), 20.0)
    assert info.value.code is FaultCode.ALREADY_STARTED
    assert str(info.value) == "ALREADY_STARTED: sh"
    assert feed(m, Spawned(99), 20.0) == []
    assert feed(m, SpawnFailed("x"), 20.0) == []
    assert m.status() == before
    assert m.state is S.RUNNING and m.pid == 11


def _spawn_fail_from_backoff(m: Machine, message: str) -> None:
    at = to_backoff(m)
    assert m.delay == at + 1
    assert feed(m, Tick(), at + 1) == [SPAWN]
    assert m.state is S.STARTING and m.pid == 0
    assert feed(m, SpawnFailed(message), at + 1) == [
        T("BACKOFF", "STARTING", None, 1, level=""),
        T("STARTING", "BACKOFF", None, 2, message=f"spawnerr: {message}"),
    ]
    assert m.spawnerr == message
    assert m.state is S.BACKOFF
    assert m.backoff == 2
    assert m.delay == at + 1 + 2
    assert m.pid == 0
    assert m.exitstatus is None
    assert m.laststart == at + 1
    assert m.next_deadline() == at + 3


def test_spawn_fail_check_execv_args() -> None:
    _spawn_fail_from_backoff(dummy("bad", command="/bad/filename"), "bad filename")


def test_spawn_fail_make_pipes_emfile() -> None:
    _spawn_fail_from_backoff(dummy("good"), "too many open files to spawn 'good'")


def test_spawn_fail_make_pipes_other() -> None:
    _spawn_fail_from_backoff(dummy("good"), "unknown error making dispatchers for 'good': EPERM")


def test_spawn_fail_make_dispatchers_eisdir() -> None:
    _spawn_fail_from_backoff(dummy("cat"), "unknown error making dispatchers for 'cat': EISDIR")


def test_spawn_fork_fail_eagain() -> None:
    _spawn_fail_from_backoff(dummy("good"), "Too many processes in process table to spawn 'good'")


def test_spawn_fork_fail_other() -> None:
    _spawn_fail_from_backoff(dummy("good"), "unknown error during fork for 'good': EPERM")


def test_spawn_as_parent() -> None:
    m = dummy("good", command="/good/filename")
    assert feed(m, Start(), 5.0) == [SPAWN]
    # between the Spawn effect and the launcher's answer: STARTING, no pid, no deadline
    assert m.state is S.STARTING and m.pid == 0 and m.next_deadline() is None
    assert m.laststart == 5.0
    effects = m.handle(Spawned(10), 5.25)
    assert summary(effects) == [
        T("STOPPED", "STARTING", 10, 0, message="spawned: 'good' with pid 10")
    ]
    assert effects[0].status == ProgramStatus(S.STARTING, 10, 0, None, None, 5.0, None)
    assert m.spawnerr is None
    assert m.delay == 5.25 + 10
    assert m.pid == 10
    assert m.state is S.STARTING
    assert m.next_deadline() == 15.0  # laststart + startsecs


# --------------------------------------------------------------------------- stop / kill


def test_stop() -> None:
    m = dummy()
    at = to_running(m) + 1
    assert feed(m, Stop(), at) == [
        T(
            "RUNNING",
            "STOPPING",
            11,
            signal="SIGTERM",
            message="killing test (pid 11) with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=False),
    ]
    assert m.killing is True
    assert m.delay == at + 10
    assert m.next_deadline() == at + 10
    assert m.pid == 11


def test_stop_not_in_stoppable_state_error() -> None:
    # supervisord asserts; nbsup refuses the request with NOT_RUNNING and changes nothing
    m = dummy()
    to_exited(m, 0)
    before = m.status()
    with pytest.raises(Fault) as info:
        m.handle(Stop(), 100.0)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert m.status() == before


def test_give_up() -> None:
    m = dummy(startretries=0)
    to_starting(m)
    assert feed(m, Exited(ExitStatus(code=1)), 1.0) == [
        T(
            "STARTING",
            "BACKOFF",
            11,
            1,
            exitstatus=1,
            expected=False,
            message="exited: test (exit status 1; not expected)",
            level="WARN",
        ),
        T(
            "BACKOFF",
            "FATAL",
            message="gave up: test entered FATAL state, too many start retries too quickly",
        ),
    ]
    assert m.delay == 0
    assert m.backoff == 0
    assert m.state is S.FATAL
    assert m.next_deadline() is None
    assert feed(m, Tick(), 100.0) == []


def test_kill_nopid() -> None:
    m = dummy()
    with pytest.raises(Fault) as info:
        m.handle(Stop(), 0.0)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert m.killing is False
    # STARTING without a pid yet (the launcher has not answered): nothing to kill either
    assert feed(m, Start(), 1.0) == [SPAWN]
    with pytest.raises(Fault) as info:
        m.handle(Stop(), 1.0)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert m.killing is False


def test_kill_from_starting() -> None:
    m = dummy()
    to_starting(m)
    assert feed(m, Stop(), 2.0) == [
        T(
            "STARTING",
            "STOPPING",
            11,
            signal="SIGTERM",
            message="killing test (pid 11) with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=False),
    ]
    assert m.killing is True
    assert m.state is S.STOPPING


def test_kill_from_running() -> None:
    m = dummy()
    at = to_running(m) + 3
    assert feed(m, Stop(), at) == [
        T(
            "RUNNING",
            "STOPPING",
            11,
            signal="SIGTERM",
            message="killing test (pid 11) with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=False),
    ]
    assert m.killing is True
    assert m.state is S.STOPPING


def test_kill_from_running_error() -> None:
    m = dummy()
    at = to_stopping(m)
    error = "Traceback (most recent call last):\nPermissionError: [Errno 1] EPERM"
    assert feed(m, SignalFailed(signal.SIGTERM, esrch=False, error=error, killing=True), at) == [
        T("STOPPING", "UNKNOWN", message=f"unknown problem killing test (11):{error}", level="CRIT")
    ]
    assert m.killing is False
    assert m.pid == 11
    assert m.state is S.UNKNOWN
    assert m.delay == 0
    assert m.next_deadline() is None


def test_kill_from_running_error_ESRCH() -> None:
    m = dummy()
    at = to_stopping(m)
    error = "[Errno 3] No such process"
    assert feed(m, SignalFailed(signal.SIGTERM, esrch=True, error=error, killing=True), at) == [
        L("DEBG", f"unable to signal test (pid 11), it probably just exited on its own: {error}")
    ]
    assert m.killing is True
    assert m.state is S.STOPPING
    # the exit then arrives and finishes the stop (T13)
    assert feed(m, Exited(ExitStatus(code=0)), at + 0.1) == [
        T(
            "STOPPING",
            "STOPPED",
            11,
            exitstatus=0,
            message="stopped: test (exit status 0)",
        )
    ]


def test_kill_from_stopping() -> None:
    m = dummy()
    at = to_stopping(m)
    assert feed(m, Tick(), at + 10) == [
        L("WARN", "killing 'test' (11) with SIGKILL"),
        L("DEBG", "killing test (pid 11) with signal SIGKILL"),
        K(signal.SIGKILL, group=False),
    ]
    assert m.killing is True
    assert m.state is S.STOPPING


def test_kill_from_backoff() -> None:
    m = dummy()
    at = to_backoff(m)
    delay, laststart = m.delay, m.laststart
    assert feed(m, Stop(), at + 0.5) == [
        T(
            "BACKOFF",
            "STOPPED",
            0,
            message="Attempted to kill test, which is in BACKOFF state.",
            level="DEBG",
        )
    ]
    assert m.killing is False
    assert m.state is S.STOPPED
    # nothing else changes: counter, delay and laststart survive (T14)
    assert m.backoff == 1
    assert m.delay == delay
    assert m.laststart == laststart
    assert m.next_deadline() is None


def test_kill_from_stopping_w_killasgroup() -> None:
    m = dummy(killasgroup=True)
    at = to_running(m) + 1
    assert feed(m, Stop(), at)[-1] == K(signal.SIGTERM, group=False)
    assert feed(m, Tick(), at + 10) == [
        L("WARN", "killing 'test' (11) with SIGKILL"),
        L("DEBG", "killing test (pid 11) process group with signal SIGKILL"),
        K(signal.SIGKILL, group=True),
    ]
    assert m.killing is True
    assert m.state is S.STOPPING


def test_stopasgroup() -> None:
    m = dummy(stopasgroup=True, killasgroup=True)
    at = to_running(m) + 1
    effects = m.handle(Stop(), at)
    assert summary(effects) == [
        T(
            "RUNNING",
            "STOPPING",
            11,
            signal="SIGTERM",
            message="killing test (pid 11) process group with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=True),
    ]
    assert effects[0].pid == 11
    assert effects[0].from_state is S.RUNNING
    assert m.killing is True


def test_signal_from_stopped() -> None:
    m = dummy()
    before = m.status()
    with pytest.raises(Fault) as info:
        m.handle(SendSignal(signal.SIGWINCH), 0.0)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert m.status() == before


def test_signal_from_running() -> None:
    m = dummy()
    at = to_running(m) + 1
    assert feed(m, SendSignal(signal.SIGWINCH), at) == [
        L("DEBG", "sending test (pid 11) sig SIGWINCH"),
        K(signal.SIGWINCH, group=False, killing=False),
    ]
    assert m.state is S.RUNNING
    assert m.killing is False


def test_signal_from_running_error_ESRCH() -> None:
    m = dummy()
    at = to_running(m) + 1
    feed(m, SendSignal(signal.SIGWINCH), at)
    error = "[Errno 3] No such process"
    assert feed(m, SignalFailed(signal.SIGWINCH, esrch=True, error=error, killing=False), at) == [
        L(
            "DEBG",
            f"unable to signal test (pid 11), it probably just now exited on its own: {error}",
        )
    ]
    assert m.state is S.RUNNING


def test_signal_from_running_error() -> None:
    m = dummy()
    at = to_running(m) + 1
    feed(m, SendSignal(signal.SIGWINCH), at)
    error = "Traceback: EPERM"
    assert feed(m, SignalFailed(signal.SIGWINCH, esrch=False, error=error, killing=False), at) == [
        T(
            "RUNNING",
            "UNKNOWN",
            message=f"unknown problem sending sig test (11):{error}",
            level="CRIT",
        )
    ]
    assert m.state is S.UNKNOWN
    assert m.pid == 11
    with pytest.raises(Fault) as info:
        m.handle(Start(), at)
    assert info.value.code is FaultCode.FAILED
    assert str(info.value) == "FAILED: test is in an unknown process state"


# --------------------------------------------------------------------------- finish


def test_finish_stopping_state() -> None:
    m = dummy("notthere")
    to_stopping(m, pid=123)
    effects = m.handle(Exited(ExitStatus(signal=signal.SIGHUP)), 20.0)
    assert summary(effects) == [
        T(
            "STOPPING",
            "STOPPED",
            123,
            exitstatus=-1,
            signal="SIGHUP",
            message="stopped: notthere (terminated by SIGHUP)",
            level="WARN",  # -1 is never in exitcodes
        )
    ]
    assert m.killing is False
    assert m.pid == 0
    assert m.exitstatus == -1
    assert m.laststop == 20.0
    assert m.delay == 0
    assert effects[0].status == ProgramStatus(S.STOPPED, 0, 0, -1, None, 0.0, 20.0)


def test_finish_running_state_exit_expected() -> None:
    # supervisord's test uses exitcodes=[-1] to make a SIGHUP death expected; nbsup only
    # accepts exit codes 0..255 (as supervisord's config parser does), so the expected
    # exit is tested with a code and the SIGHUP death is (and stays) unexpected.
    m = dummy("notthere", exitcodes="0,2")
    at = to_running(m, pid=123) + 5
    effects = m.handle(Exited(ExitStatus(code=2)), at)
    assert summary(effects) == [
        T(
            "RUNNING",
            "EXITED",
            123,
            exitstatus=2,
            expected=True,
            message="exited: notthere (exit status 2; expected)",
        )
    ]
    assert effects[0].expected is True and effects[0].pid == 123
    assert m.killing is False
    assert m.pid == 0
    assert m.exitstatus == 2
    assert m.spawnerr is None

    m = dummy("notthere", exitcodes="0,2")
    at = to_running(m, pid=123) + 5
    assert feed(m, Exited(ExitStatus(signal=signal.SIGHUP)), at) == [
        T(
            "RUNNING",
            "EXITED",
            123,
            exitstatus=-1,
            signal="SIGHUP",
            expected=False,
            message="exited: notthere (terminated by SIGHUP; not expected)",
            level="WARN",
        )
    ]
    assert m.exitstatus == -1
    assert m.spawnerr == "Bad exit code -1"


def test_finish_starting_state_laststart_in_future() -> None:
    # An exit fed at a time before laststart: "don't know how long it ran, assume not too
    # quickly" -> STARTING -> RUNNING -> EXITED (T8). nbsup logs no warning (monotonic clock).
    m = dummy("notthere")
    to_starting(m, t=100.0, pid=123)
    assert feed(m, Exited(ExitStatus(signal=signal.SIGHUP)), 99.0) == [
        T("STARTING", "RUNNING", 123, level=""),
        T(
            "RUNNING",
            "EXITED",
            123,
            exitstatus=-1,
            signal="SIGHUP",
            expected=False,
            message="exited: notthere (terminated by SIGHUP; not expected)",
            level="WARN",
        ),
    ]
    assert m.state is S.EXITED
    assert m.backoff == 0
    assert m.exitstatus == -1
    # the same at exactly laststart (supervisord's `now > laststart` test is strict)
    m = dummy("notthere")
    to_starting(m, t=100.0, pid=123)
    rows = feed(m, Exited(ExitStatus(code=0)), 100.0)
    assert [r[1:3] for r in rows] == [(S.STARTING, S.RUNNING), (S.RUNNING, S.EXITED)]
    assert rows[1][7] is True


def test_finish_starting_state_exited_too_quickly() -> None:
    # exit code 0 is in exitcodes, but an exit before startsecs is always a failure
    m = dummy("notthere")
    to_starting(m, t=0.0, pid=123)
    effects = m.handle(Exited(ExitStatus(code=0)), 9.5)
    assert summary(effects) == [
        T(
            "STARTING",
            "BACKOFF",
            123,
            1,
            exitstatus=0,
            expected=False,
            message="exited: notthere (exit status 0; not expected)",
            level="WARN",
        )
    ]
    assert m.exitstatus is None
    assert m.spawnerr == TOO_QUICKLY
    assert m.pid == 0
    assert m.killing is False
    assert m.backoff == 1
    assert m.delay == 10.5
    assert effects[0].status == ProgramStatus(S.BACKOFF, 0, 1, None, TOO_QUICKLY, 0.0, 9.5)
    # a signal death before startsecs: same, with supervisord's wording
    m = dummy("notthere")
    to_starting(m, t=0.0, pid=123)
    assert feed(m, Exited(ExitStatus(signal=signal.SIGHUP)), 1.0)[0][8] == (
        "exited: notthere (terminated by SIGHUP; not expected)"
    )


def test_finish_running_state_exited_too_quickly_due_to_clock_rollback() -> None:
    # RUNNING, and the exit is fed at a time that looks < startsecs after laststart:
    # only STARTING can go to BACKOFF, so this is a normal exit (EXITED, expected)
    m = dummy("notthere")
    to_running(m, t=0.0, pid=123)
    assert feed(m, Exited(ExitStatus(code=0)), 5.0) == [
        T(
            "RUNNING",
            "EXITED",
            123,
            exitstatus=0,
            expected=True,
            message="exited: notthere (exit status 0; expected)",
        )
    ]


def test_finish_running_state_laststart_in_future() -> None:
    m = dummy("notthere")
    to_running(m, t=100.0, pid=123)
    assert feed(m, Exited(ExitStatus(code=0)), 50.0) == [
        T(
            "RUNNING",
            "EXITED",
            123,
            exitstatus=0,
            expected=True,
            message="exited: notthere (exit status 0; expected)",
        )
    ]


# --------------------------------------------------------------------------- transition()


def test_transition_stopped_to_starting_supervisor_stopping() -> None:
    m = dummy("process", command="/bin/process")
    assert feed(m, Shutdown(), 0.0) == []
    assert feed(m, Tick(), 1.0) == []
    assert m.state is S.STOPPED
    assert m.next_deadline() is None


def test_transition_stopped_to_starting_supervisor_running() -> None:
    m = dummy("process", command="/bin/process")
    assert feed(m, Tick(), 1.0) == [SPAWN]
    assert m.state is S.STARTING  # already STARTING before the event is emitted
    assert feed(m, Spawned(7), 1.0) == [
        T("STOPPED", "STARTING", 7, 0, message="spawned: 'process' with pid 7")
    ]
    # autostart=false: a tick does nothing
    m = dummy("process", autostart=False)
    assert feed(m, Tick(), 1.0) == []
    assert m.state is S.STOPPED


def test_transition_exited_to_starting_supervisor_stopping() -> None:
    m = dummy("process", autorestart="true")
    at = to_exited(m, 0)
    assert m.next_deadline() == at + 1.0
    assert feed(m, Shutdown(), at) == []
    assert m.next_deadline() is None
    assert feed(m, Tick(), at + 1.0) == []
    assert feed(m, Tick(), at + 100.0) == []
    assert m.state is S.EXITED


def test_transition_exited_to_starting_uncond_supervisor_running() -> None:
    m = dummy("process", autorestart="true")
    at = to_exited(m, 0)  # expected exit, restarted anyway
    assert feed(m, Tick(), at + 1.0) == [SPAWN]
    assert feed(m, Spawned(12), at + 1.0) == [
        T("EXITED", "STARTING", 12, 0, message="spawned: 'process' with pid 12")
    ]


def test_transition_exited_to_starting_condit_supervisor_running() -> None:
    m = dummy("process", autorestart="unexpected")
    at = to_exited(m, 3)
    assert feed(m, Tick(), at + 1.0) == [SPAWN]
    assert feed(m, Spawned(12), at + 1.0) == [
        T("EXITED", "STARTING", 12, 0, message="spawned: 'process' with pid 12")
    ]


def test_transition_exited_to_starting_condit_fls_supervisor_running() -> None:
    m = dummy("process", autorestart="unexpected")
    at = to_exited(m, 0)
    assert m.next_deadline() is None
    assert feed(m, Tick(), at + 1.0) == []
    assert feed(m, Tick(), at + 1000.0) == []
    assert m.state is S.EXITED


def test_transition_backoff_to_starting_supervisor_stopping() -> None:
    # nbsup's Shutdown is supervisord's mood change plus stop_all(): a BACKOFF program
    # gives up silently (T10b) and is never spawned again.
    m = dummy("process")
    at = to_backoff(m)
    assert feed(m, Shutdown(), at) == [T("BACKOFF", "FATAL", level="")]
    assert m.next_deadline() is None
    assert feed(m, Tick(), at + 1.0) == []
    assert m.state is S.FATAL


def test_transition_backoff_to_starting_supervisor_running() -> None:
    m = dummy("process")
    at = to_backoff(m)
    assert feed(m, Tick(), at + 1.0) == [SPAWN]
    assert feed(m, Spawned(12), at + 1.0) == [
        T("BACKOFF", "STARTING", 12, 1, message="spawned: 'process' with pid 12")
    ]
    assert m.state is S.STARTING


def test_transition_backoff_to_starting_supervisor_running_notyet() -> None:
    m = dummy("process")
    at = to_backoff(m)
    assert feed(m, Tick(), at + 0.5) == []
    assert feed(m, Tick(), at + 0.999999) == []
    assert m.state is S.BACKOFF
    assert m.next_deadline() == at + 1.0


def test_transition_starting_to_running() -> None:
    m = dummy("process")
    at = to_backoff(m)
    feed(m, Tick(), at + 1.0)
    feed(m, Spawned(1), at + 1.0)
    assert m.backoff == 1
    assert feed(m, Tick(), at + 10.9) == []
    effects = m.handle(Tick(), at + 11.0)
    assert summary(effects) == [
        T(
            "STARTING",
            "RUNNING",
            1,
            message=(
                "success: process entered RUNNING state, process has stayed up for > than "
                "10 seconds (startsecs)"
            ),
        )
    ]
    assert m.backoff == 0
    assert m.delay == 0
    assert effects[0].status.tries == 0


def test_transition_backoff_to_fatal() -> None:
    # supervisord sets backoff=10000 > startretries; nbsup reaches it by failing: the
    # give-up happens in the same handle() as the last BACKOFF.
    m = dummy("process", startretries=1)
    at = to_backoff(m)
    feed(m, Tick(), at + 1.0)
    feed(m, Spawned(12), at + 1.0)
    assert feed(m, Exited(ExitStatus(code=1)), at + 2.0) == [
        T(
            "STARTING",
            "BACKOFF",
            12,
            2,
            exitstatus=1,
            expected=False,
            message="exited: process (exit status 1; not expected)",
            level="WARN",
        ),
        T(
            "BACKOFF",
            "FATAL",
            message="gave up: process entered FATAL state, too many start retries too quickly",
        ),
    ]
    assert m.backoff == 0
    assert m.delay == 0
    assert m.state is S.FATAL


def test_transition_stops_unkillable_notyet() -> None:
    m = dummy("process")
    at = to_stopping(m)
    assert feed(m, Tick(), at + 9.999) == []
    assert m.state is S.STOPPING
    assert m.next_deadline() == at + 10


def test_transition_stops_unkillable() -> None:
    m = dummy("process")
    at = to_stopping(m, pid=1)
    assert feed(m, Tick(), at + 10) == [
        L("WARN", "killing 'process' (1) with SIGKILL"),
        L("DEBG", "killing process (pid 1) with signal SIGKILL"),
        K(signal.SIGKILL, group=False),
    ]
    assert m.killing is True
    assert m.delay == at + 20
    assert m.state is S.STOPPING


def test_change_state_doesnt_notify_if_no_state_change() -> None:
    # No effect is ever a Transition from a state to itself: a repeated SIGKILL while
    # STOPPING and a repeated stop request produce no transition.
    m = dummy()
    at = to_stopping(m)
    for k in range(1, 4):
        rows = feed(m, Tick(), at + 10 * k)
        assert [r[0] for r in rows] == ["L", "L", "K"]
    with pytest.raises(Fault):
        m.handle(Stop(), at + 31)


def test_change_state_sets_backoff_and_delay() -> None:
    m = dummy()
    to_starting(m)
    assert m.backoff == 0
    feed(m, Exited(ExitStatus(code=1)), 2.0)
    assert m.backoff == 1
    assert m.delay == 3.0


# --------------------------------------------------------------------------- groups


def test_stop_all() -> None:
    stopped = dummy("process1")
    running = dummy("process2")
    to_running(running, pid=2)
    starting = dummy("process3")
    to_starting(starting, pid=3)
    backoff = dummy("process4")
    to_backoff(backoff, pid=4)
    assert feed(stopped, Shutdown(), 50.0) == []
    assert feed(running, Shutdown(), 50.0) == [
        T(
            "RUNNING",
            "STOPPING",
            2,
            signal="SIGTERM",
            message="killing process2 (pid 2) with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=False),
    ]
    assert feed(starting, Shutdown(), 50.0) == [
        T(
            "STARTING",
            "STOPPING",
            3,
            signal="SIGTERM",
            message="killing process3 (pid 3) with signal SIGTERM",
            level="DEBG",
        ),
        K(signal.SIGTERM, group=False),
    ]
    # BACKOFF -> FATAL without a stop and without a log line (T10b)
    assert feed(backoff, Shutdown(), 50.0) == [T("BACKOFF", "FATAL", level="")]
    assert backoff.state is S.FATAL
    assert backoff.backoff == 0
    assert backoff.delay == 0
    assert stopped.state is S.STOPPED
    assert running.state is S.STOPPING
    assert starting.state is S.STOPPING


# --------------------------------------------------------------------------- test_events.py


def test_process_state_events_without_extra_values() -> None:
    # FATAL and UNKNOWN carry no pid, tries or expected
    m = dummy(startretries=0)
    to_starting(m)
    effects = m.handle(Exited(ExitStatus(code=1)), 1.0)
    fatal = effects[-1]
    assert (fatal.to_state, fatal.pid, fatal.tries, fatal.expected) == (S.FATAL, None, None, None)
    m = dummy()
    at = to_running(m)
    [unknown] = m.handle(SignalFailed(signal.SIGHUP, False, "EPERM", False), at)
    assert (unknown.to_state, unknown.pid, unknown.tries, unknown.expected) == (
        S.UNKNOWN,
        None,
        None,
        None,
    )


def test_process_state_events_with_pid() -> None:
    m = dummy()
    to_starting(m, pid=21)
    [running] = m.handle(Tick(), 10.0)
    [stopping, _kill] = m.handle(Stop(), 11.0)
    [stopped] = m.handle(Exited(ExitStatus(signal=signal.SIGTERM)), 11.5)
    assert [(e.to_state, e.pid, e.tries) for e in (running, stopping, stopped)] == [
        (S.RUNNING, 21, None),
        (S.STOPPING, 21, None),
        (S.STOPPED, 21, None),
    ]
    # STOPPED from BACKOFF has pid 0
    m = dummy()
    to_backoff(m)
    [stopped] = m.handle(Stop(), 1.5)
    assert (stopped.from_state, stopped.to_state, stopped.pid) == (S.BACKOFF, S.STOPPED, 0)


def test_process_state_events_starting_and_backoff() -> None:
    # STARTING carries the counter before the attempt, BACKOFF the incremented counter
    m = dummy(startretries=3)
    rows: list[tuple] = []
    t = 0.0
    assert feed(m, Start(), t) == [SPAWN]
    for pid in range(1, 5):
        rows += feed(m, Spawned(pid), t)
        rows += feed(m, Exited(ExitStatus(code=1)), t + 0.1)
        if m.state is S.BACKOFF:
            t = m.next_deadline()
            assert feed(m, Tick(), t) == [SPAWN]
    assert m.state is S.FATAL
    assert [(r[2], r[4]) for r in rows] == [
        (S.STARTING, 0),
        (S.BACKOFF, 1),
        (S.STARTING, 1),
        (S.BACKOFF, 2),
        (S.STARTING, 2),
        (S.BACKOFF, 3),
        (S.STARTING, 3),
        (S.BACKOFF, 4),
        (S.FATAL, None),
    ]


def test_process_state_exited_event_expected() -> None:
    m = dummy()
    at = to_running(m, pid=33) + 1
    [exited] = m.handle(Exited(ExitStatus(code=0)), at)
    assert (exited.from_state, exited.to_state, exited.expected, exited.pid) == (
        S.RUNNING,
        S.EXITED,
        True,
        33,
    )
    assert exited.level == "INFO"


def test_process_state_exited_event_unexpected() -> None:
    m = dummy()
    at = to_running(m, pid=33) + 1
    [exited] = m.handle(Exited(ExitStatus(code=1)), at)
    assert (exited.from_state, exited.to_state, exited.expected, exited.pid) == (
        S.RUNNING,
        S.EXITED,
        False,
        33,
    )
    assert exited.level == "WARN"
    assert m.spawnerr == "Bad exit code 1"
