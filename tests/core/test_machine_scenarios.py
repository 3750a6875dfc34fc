"""Whole scenarios, as transcripts, driven through the pure machine with a simulated clock.

A tiny driver plays the runtime: it feeds events at given times, answers every Spawn effect
at once with ``Spawned(pid)`` (increasing pids) or ``SpawnFailed(msg)``, simulates the
program (it exits by itself after a given run time, dies of the signals it does not ignore)
and moves time forward by ticking exactly at ``next_deadline()``. Nothing sleeps.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nbsup.core.errors import Fault, FaultCode
from nbsup.core.events import (
    Effect,
    Exited,
    ExitStatus,
    Kill,
    LogLine,
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
SCENARIOS = Path(__file__).parent / "scenarios"

# --------------------------------------------------------------------------- the driver


@dataclass
class Program:
    """How the simulated child behaves.

    ``runs`` gives, per spawn, how long the child runs before exiting by itself (None:
    forever) and how it exits; the last entry repeats. ``ignores`` are the signals it
    survives (SIGKILL included makes it unkillable); any other signal kills it after
    ``die_after`` seconds, with ``exit_code_on_signal`` if it handles the signal and exits.
    """

    runs: list[tuple[float | None, ExitStatus]] = field(
        default_factory=lambda: [(None, ExitStatus(code=0))]
    )
    ignores: frozenset[int] = frozenset()
    die_after: float = 0.0
    exit_code_on_signal: int | None = None


def runs(runtime: float | None, code: int | None = 0, sig: int | None = None) -> Program:
    status = ExitStatus(code=None, signal=sig) if sig is not None else ExitStatus(code=code)
    return Program(runs=[(runtime, status)])


class Driver:
    def __init__(self, program: Program | None = None, **options: object) -> None:
        self.m = Machine(build_options("x", {"command": "prog", **options}))
        self.program = program or Program()
        self.now = 0.0
        self.next_pid = 100
        self.spawns = 0
        self.spawn_error: str | None = None
        self.exit_at: float | None = None
        self.exit_status: ExitStatus | None = None
        self.records: list[tuple[float, Effect]] = []
        self.last_to = S.STOPPED

    # -- feeding

    def feed(self, event: object, at: float | None = None) -> list[Effect]:
        if at is not None:
            assert at >= self.now, (at, self.now)
            self.now = at
        effects = self.m.handle(event, self.now)  # type: ignore[arg-type]
        out: list[Effect] = []
        for e in effects:
            out.append(e)
            self.records.append((self.now, e))
            if isinstance(e, Transition):
                assert (e.from_state, e.to_state) in EDGES
                assert e.from_state is self.last_to
                assert e.at == self.now
                self.last_to = e.to_state
            elif isinstance(e, Spawn):
                out += self._answer_spawn()
            elif isinstance(e, Kill):
                self._deliver(e)
        return out

    def _answer_spawn(self) -> list[Effect]:
        self.spawns += 1
        if self.spawn_error is not None:
            return self.feed(SpawnFailed(self.spawn_error))
        pid = self.next_pid
        self.next_pid += 1
        run = self.program.runs[min(self.spawns - 1, len(self.program.runs) - 1)]
        runtime, status = run
        self.exit_at = None if runtime is None else self.now + runtime
        self.exit_status = status
        return self.feed(Spawned(pid))

    def _deliver(self, kill: Kill) -> None:
        if kill.signal in self.program.ignores:
            return
        at = self.now + self.program.die_after
        if self.exit_at is not None and self.exit_at <= at:
            return
        self.exit_at = at
        code = self.program.exit_code_on_signal
        self.exit_status = (
            ExitStatus(code=code) if code is not None else ExitStatus(signal=kill.signal)
        )

    # -- time

    def step(self, until: float) -> bool:
        """Handle the next deadline or exit due at or before ``until``."""
        candidates = []
        deadline = self.m.next_deadline()
        if deadline is not None:
            candidates.append((deadline, 0))
        if self.exit_at is not None:
            candidates.append((self.exit_at, 1))
        if not candidates:
            return False
        at, kind = min(candidates)
        if at > until:
            return False
        at = max(at, self.now)
        if kind == 0:
            spawns = self.spawns
            self.feed(Tick(), at)
            if self.spawns == spawns:  # a tick handles everything that is due
                assert self.m.next_deadline() is None or self.m.next_deadline() > at
        else:
            status, self.exit_at = self.exit_status, None
            assert status is not None
            self.feed(Exited(status), at)
        return True

    def run(self, until: float) -> None:
        for _ in range(100_000):
            if not self.step(until):
                break
        else:  # pragma: no cover
            raise AssertionError("the machine does not settle")
        self.now = max(self.now, until)

    def run_until_transitions(self, count: int, limit: float = 1000.0) -> None:
        for _ in range(100_000):
            if len(self.transitions) >= count or not self.step(limit):
                break
        assert len(self.transitions) >= count, self.rows()

    def exit(self, status: ExitStatus, at: float | None = None) -> list[Effect]:
        self.exit_at = None
        return self.feed(Exited(status), at)

    # -- views

    @property
    def transitions(self) -> list[Transition]:
        return [e for _, e in self.records if isinstance(e, Transition)]

    def rows(self) -> list[tuple]:
        """(from, to, tries, expected) per transition, as in the reference traces."""
        return [
            (t.from_state.value, t.to_state.value, t.tries, t.expected) for t in self.transitions
        ]

    def times(self) -> list[float]:
        return [t.at for t in self.transitions]

    def kills(self) -> list[tuple[float, int, bool, bool]]:
        return [
            (at, int(e.signal), e.group, e.killing) for at, e in self.records if isinstance(e, Kill)
        ]

    def lines(self) -> list[tuple[str, str]]:
        """supervisord.log lines (level, message) in order: transitions with a level, LogLines."""
        out = []
        for _, e in self.records:
            if (isinstance(e, Transition) and e.level) or isinstance(e, LogLine):
                out.append((e.level, e.message))
        return out


def pidless(message: str) -> str:
    message = re.sub(r"pid \d+", "pid N", message)
    return re.sub(r"\(\d+\)", "(N)", message)


# --------------------------------------------------------------------------- reference traces

TRACE_PROGRAMS = {
    "exit1_defaults": runs(0.005, 1),
    "flap_exit0_startsecs0": runs(0.005, 0),
    "sleep05_exit0_in_starting": runs(0.5, 0),
    "sleep2_exit0_expected": runs(2.0, 0),
    "sleep2_exit1_unexpected": runs(2.0, 1),
    "stop_ignores_term_asgroup": Program(ignores=frozenset({signal.SIGTERM})),
}


def load(name: str) -> dict:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def test_all_reference_traces_are_covered() -> None:
    assert sorted(p.stem for p in SCENARIOS.glob("*.json")) == sorted(TRACE_PROGRAMS)


@pytest.mark.parametrize("name", sorted(TRACE_PROGRAMS))
def test_reference_trace(name: str) -> None:
    scenario = load(name)
    trace = [row for row in scenario["trace"] if row["phase"] != "shutdown"]
    t0 = trace[0]["t"]
    d = Driver(TRACE_PROGRAMS[name], **scenario["options"])
    assert d.feed(Tick(), 0.0)[0] == Spawn()  # autostart
    for action in scenario["actions"]:
        at = action["at"] - t0
        d.run(at)
        assert action["action"] == "stop"
        d.feed(Stop(), at)
    d.run_until_transitions(len(trace))
    got = d.transitions[: len(trace)]

    # the sequence: from, to, tries (STARTING/BACKOFF), expected (EXITED only)
    assert [(t.from_state.value, t.to_state.value, t.tries) for t in got] == [
        (r["from_state"], r["to_state"], r["tries"]) for r in trace
    ]
    for t, r in zip(got, trace, strict=True):
        if t.to_state is S.EXITED:
            assert int(t.expected) == r["expected"]
        else:
            assert r["expected"] is None
            # nbsup marks a BACKOFF caused by an exit as not expected; others carry nothing
            assert t.expected is (
                False if t.to_state is S.BACKOFF and t.exitstatus is not None else None
            )
    # the supervisord.log messages, pids aside
    assert [pidless(t.message) for t in got] == [pidless(r["message"]) for r in trace]

    # timing: a retry comes exactly `tries` s after the BACKOFF (supervisord: a few ms late)
    ours = [t.at for t in got]
    theirs = [r["t"] - t0 for r in trace]
    startsecs = d.m.options.startsecs
    for i, t in enumerate(got):
        if i == 0:
            continue
        theirs_dt = theirs[i] - theirs[i - 1]
        if (t.from_state, t.to_state) == (S.BACKOFF, S.STARTING):
            assert ours[i] == ours[i - 1] + t.tries
            assert t.tries <= theirs_dt < t.tries + 0.05
        if (t.from_state, t.to_state) == (S.STARTING, S.RUNNING) and t.message:
            assert ours[i] == ours[i - 1] + startsecs
            assert startsecs <= theirs_dt < startsecs + 0.05
        if (t.from_state, t.to_state) == (S.STOPPING, S.STOPPED):
            assert ours[i] == ours[i - 1] + d.m.options.stopwaitsecs
            assert abs(theirs_dt - d.m.options.stopwaitsecs) < 0.05

    # a trace that ends in an absorbing state stays there
    if trace[-1]["to_state"] in ("FATAL", "STOPPED") or trace[-1]["expected"] == 1:
        d.run(d.now + 1000)
        assert len(d.transitions) == len(trace)
        assert d.m.next_deadline() is None


def test_reference_trace_exit1_defaults_times() -> None:
    d = Driver(runs(0.005, 1))
    d.feed(Tick(), 0.0)
    d.run(100)
    assert d.times() == pytest.approx(
        [0, 0.005, 1.005, 1.01, 3.01, 3.015, 6.015, 6.02, 6.02], abs=1e-9
    )
    assert d.spawns == 4
    assert d.m.state is S.FATAL


def test_reference_trace_stop_ignores_term_kills() -> None:
    scenario = load("stop_ignores_term_asgroup")
    d = Driver(TRACE_PROGRAMS["stop_ignores_term_asgroup"], **scenario["options"])
    d.feed(Tick(), 0.0)
    d.run(1.5)
    d.feed(Stop(), 1.5)
    d.run(100)
    assert d.kills() == [(1.5, signal.SIGTERM, True, True), (3.5, signal.SIGKILL, True, True)]
    assert d.lines() == [
        ("INFO", "spawned: 'x' with pid 100"),
        (
            "INFO",
            "success: x entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
        ),
        ("DEBG", "killing x (pid 100) process group with signal SIGTERM"),
        ("WARN", "killing 'x' (100) with SIGKILL"),
        ("DEBG", "killing x (pid 100) process group with signal SIGKILL"),
        ("WARN", "stopped: x (terminated by SIGKILL)"),
    ]


# --------------------------------------------------------------------------- start retries


def test_startretries_zero() -> None:
    d = Driver(runs(0.1, 1), startretries=0)
    d.feed(Tick(), 0.0)
    d.run(100)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "FATAL", None, None),
    ]
    assert d.times() == [0.0, 0.1, 0.1]
    assert d.spawns == 1
    assert d.m.spawnerr == TOO_QUICKLY


@pytest.mark.parametrize("startretries", [0, 1, 2, 3, 5, 10])
def test_startretries_boundary(startretries: int) -> None:
    d = Driver(runs(0.25, 1), startretries=startretries)
    d.feed(Tick(), 0.0)
    d.run(1000)
    n = startretries + 1
    expected_rows = []
    for k in range(n):
        expected_rows += [
            ("STOPPED" if k == 0 else "BACKOFF", "STARTING", k, None),
            ("STARTING", "BACKOFF", k + 1, False),
        ]
    expected_rows.append(("BACKOFF", "FATAL", None, None))
    assert d.rows() == expected_rows
    assert d.spawns == n
    backoffs = [t for t in d.transitions if t.to_state is S.BACKOFF]
    assert backoffs[-1].tries == startretries + 1
    # each retry comes exactly `tries` seconds after its BACKOFF; FATAL with the last BACKOFF
    times = d.times()
    for i, t in enumerate(d.transitions):
        if t.from_state is S.BACKOFF and t.to_state is S.STARTING:
            assert times[i] - times[i - 1] == t.tries
    assert times[-1] == times[-2]
    assert times[-1] == pytest.approx(0.25 * n + startretries * (startretries + 1) / 2)
    assert d.m.backoff == 0 and d.m.delay == 0
    assert d.m.next_deadline() is None


def test_exit_code_zero_before_startsecs_is_backoff() -> None:
    d = Driver(runs(0.999, 0), startsecs=1, startretries=0)
    d.feed(Tick(), 0.0)
    d.run(100)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "FATAL", None, None),
    ]
    assert d.transitions[1].message == "exited: x (exit status 0; not expected)"
    assert d.transitions[1].level == "WARN"
    assert d.m.exitstatus is None


def test_exit_at_exactly_startsecs_is_not_too_quick() -> None:
    # fed before any tick: STARTING -> RUNNING -> EXITED inside the exit, no success line
    d = Driver(startsecs=1, autorestart="false")
    d.feed(Start(), 10.0)
    d.exit(ExitStatus(code=0), at=11.0)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, True),
    ]
    assert [t.message for t in d.transitions[1:]] == ["", "exited: x (exit status 0; expected)"]
    assert [t.level for t in d.transitions[1:]] == ["", "INFO"]


def test_fractional_startsecs_deadline_fires_on_time() -> None:
    # laststart + startsecs is not exact in binary floating point: the tick at
    # next_deadline() must still declare RUNNING (and not leave a deadline in the past)
    d = Driver(startsecs=0.1)
    d.feed(Start(), 0.7)
    deadline = d.m.next_deadline()
    assert deadline == 0.7 + 0.1
    d.feed(Tick(), deadline)
    assert d.m.state is S.RUNNING
    assert d.transitions[-1].message == (
        "success: x entered RUNNING state, process has stayed up for > than 0.1 seconds (startsecs)"
    )
    assert d.m.next_deadline() is None
    # and an exit fed at that same instant is not too quick
    d = Driver(startsecs=0.1)
    d.feed(Start(), 0.7)
    d.exit(ExitStatus(code=1), at=0.7 + 0.1)
    assert [t.to_state for t in d.transitions] == [S.STARTING, S.RUNNING, S.EXITED]


@pytest.mark.parametrize("code", [0, 1])
def test_startsecs_zero_never_backoff(code: int) -> None:
    d = Driver(runs(0.01, code), startsecs=0, autorestart="unexpected" if code else "true")
    d.feed(Tick(), 0.0)
    d.run_until_transitions(30)
    cycle = [
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, code == 0),
        ("EXITED", "STARTING", 0, None),
    ]
    assert d.rows()[:30] == [("STOPPED", "STARTING", 0, None)] + (cycle * 10)[:29]
    # RUNNING at the spawn instant with a success line; restarts restartpause (1 s) apart
    assert d.transitions[1].message == (
        "success: x entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)"
    )
    starts = [t.at for t in d.transitions if t.to_state is S.STARTING]
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx(
        [1.01] * (len(starts) - 1)
    )


def test_startsecs_zero_exit_before_any_tick() -> None:
    d = Driver(startsecs=0, autorestart="unexpected")
    d.feed(Start(), 0.0)
    d.exit(ExitStatus(code=1), at=0.0)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
    ]
    assert d.transitions[1].message == ""
    assert d.m.backoff == 0
    assert d.m.spawnerr == "Bad exit code 1"
    assert d.m.next_deadline() == 1.0


def test_startsecs_zero_spawn_errors_still_give_up() -> None:
    d = Driver(startsecs=0, startretries=1)
    d.spawn_error = "can't find command 'prog'"
    d.feed(Tick(), 0.0)
    d.run(100)
    assert [r[1] for r in d.rows()] == ["STARTING", "BACKOFF", "STARTING", "BACKOFF", "FATAL"]


# --------------------------------------------------------------------------- autorestart


OUTCOMES = {
    "exit0": ExitStatus(code=0),
    "exit1": ExitStatus(code=1),
    "sighup": ExitStatus(signal=signal.SIGHUP),
    "sigkill": ExitStatus(signal=signal.SIGKILL),
}


@pytest.mark.parametrize("autorestart", ["false", "unexpected", "true"])
@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_autorestart_matrix(autorestart: str, outcome: str) -> None:
    status = OUTCOMES[outcome]
    d = Driver(Program(runs=[(5.0, status), (None, ExitStatus(code=0))]), autorestart=autorestart)
    d.feed(Tick(), 0.0)
    d.run(100)
    expected = outcome == "exit0"
    restart = autorestart == "true" or (autorestart == "unexpected" and not expected)
    rows = [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, expected),
    ]
    if restart:
        rows += [("EXITED", "STARTING", 0, None), ("STARTING", "RUNNING", None, None)]
    assert d.rows() == rows
    exited = d.transitions[2]
    assert exited.at == 5.0
    assert exited.exitstatus == status.es
    assert exited.signal == status.signal_name
    assert exited.level == ("INFO" if expected else "WARN")
    word = "expected" if expected else "not expected"
    assert exited.message == f"exited: x ({status.describe()}; {word})"
    if restart:
        assert d.transitions[3].at == 6.0  # restartpause
    else:
        assert d.m.state is S.EXITED and d.m.next_deadline() is None
    assert d.m.exitstatus == (None if restart else status.es)


def test_signal_death_is_never_expected() -> None:
    every_code = ",".join(str(c) for c in range(256))
    d = Driver(runs(5.0, sig=signal.SIGTERM), exitcodes=every_code, autorestart="unexpected")
    d.feed(Tick(), 0.0)
    d.run(5.5)
    exited = d.transitions[2]
    assert (exited.to_state, exited.expected, exited.exitstatus) == (S.EXITED, False, -1)
    assert exited.message == "exited: x (terminated by SIGTERM; not expected)"
    assert d.m.spawnerr == "Bad exit code -1"
    d.run(6.0)
    assert d.transitions[-1].to_state is S.STARTING


@pytest.mark.parametrize(
    ("exitcodes", "code", "expected"),
    [
        ("0,2", 2, True),
        ("0,2", 0, True),
        ("0,2", 1, False),
        ("3", 0, False),
        ("3", 3, True),
        ([1, 255], 255, True),
    ],
)
def test_exitcodes_lists(exitcodes: object, code: int, expected: bool) -> None:
    d = Driver(runs(3.0, code), exitcodes=exitcodes)
    d.feed(Tick(), 0.0)
    d.run(3.5)
    assert d.rows()[-1] == ("RUNNING", "EXITED", None, expected)
    assert d.m.spawnerr == (None if expected else f"Bad exit code {code}")
    d.run(10)
    assert (d.m.state is S.EXITED) == expected


# --------------------------------------------------------------------------- stopping


def test_stop_in_backoff_then_start_keeps_the_counter() -> None:
    d = Driver(runs(0.004, 1), startretries=10)
    d.feed(Tick(), 0.0)
    d.run(1.5)  # BACKOFF(1) at 0.004, STARTING(1) at 1.004, BACKOFF(2) at 1.008
    assert d.rows()[-1] == ("STARTING", "BACKOFF", 2, False)
    effects = d.feed(Stop(), 2.0)
    assert [type(e) for e in effects] == [Transition]
    assert d.rows()[-1] == ("BACKOFF", "STOPPED", None, None)
    assert d.transitions[-1].pid == 0
    assert d.m.backoff == 2
    assert d.m.next_deadline() is None
    d.run(50)
    assert d.m.state is S.STOPPED  # no autostart again: laststart is set
    d.feed(Start(), 50.0)
    d.run(55)
    assert d.rows()[-4:] == [
        ("STOPPED", "STARTING", 2, None),
        ("STARTING", "BACKOFF", 3, False),
        ("BACKOFF", "STARTING", 3, None),
        ("STARTING", "BACKOFF", 4, False),
    ]
    assert d.transitions[-2].at == pytest.approx(50.004 + 3)


def test_stop_in_starting() -> None:
    d = Driver(Program(die_after=0.004), startsecs=10)
    d.feed(Tick(), 0.0)
    d.feed(Stop(), 1.5)
    d.run(100)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "STOPPING", None, None),
        ("STOPPING", "STOPPED", None, None),
    ]
    stopped = d.transitions[-1]
    assert stopped.message == "stopped: x (terminated by SIGTERM)"
    assert stopped.level == "WARN"
    assert stopped.at == pytest.approx(1.504)
    assert stopped.pid == 100
    assert d.m.exitstatus == -1


def test_stop_in_starting_past_startsecs_never_runs() -> None:
    # a process that takes its time to stop: no RUNNING while STOPPING
    d = Driver(Program(die_after=5.0), startsecs=1, stopwaitsecs=10)
    d.feed(Tick(), 0.0)
    d.feed(Stop(), 0.5)
    d.run(100)
    assert [t.to_state for t in d.transitions] == [S.STARTING, S.STOPPING, S.STOPPED]
    assert d.transitions[-1].at == 5.5


def test_stop_in_retry_starting_keeps_the_counter() -> None:
    d = Driver(Program(runs=[(0.1, ExitStatus(code=1)), (None, ExitStatus(code=0))]), startsecs=5)
    d.feed(Tick(), 0.0)
    d.run(1.5)
    assert d.rows()[-1] == ("BACKOFF", "STARTING", 1, None)
    d.feed(Stop(), 2.0)
    d.run(10)
    assert d.m.state is S.STOPPED and d.m.backoff == 1
    d.feed(Start(), 10.0)
    assert d.rows()[-1] == ("STOPPED", "STARTING", 1, None)


def test_sigkill_escalation_repeats_every_stopwaitsecs() -> None:
    unkillable = Program(ignores=frozenset({signal.SIGTERM, signal.SIGKILL}))
    d = Driver(unkillable, stopwaitsecs=2.5, startsecs=1)
    d.feed(Tick(), 0.0)
    d.run(3.0)
    d.feed(Stop(), 3.0)
    for k in range(1, 6):
        assert d.m.next_deadline() == 3.0 + 2.5 * k
        d.step(1000)
        assert d.m.state is S.STOPPING
        assert d.m.killing is True
    assert d.kills() == [(3.0, signal.SIGTERM, True, True)] + [
        (3.0 + 2.5 * k, signal.SIGKILL, True, True) for k in range(1, 6)
    ]
    assert d.lines()[-2:] == [
        ("WARN", "killing 'x' (100) with SIGKILL"),
        ("DEBG", "killing x (pid 100) process group with signal SIGKILL"),
    ]
    assert [t.to_state for t in d.transitions] == [S.STARTING, S.RUNNING, S.STOPPING]
    # it finally dies: STOPPED, WARN
    d.exit(ExitStatus(signal=signal.SIGKILL), at=17.0)
    assert d.rows()[-1] == ("STOPPING", "STOPPED", None, None)
    assert d.transitions[-1].level == "WARN"
    assert d.m.next_deadline() is None
    assert d.m.killing is False


@pytest.mark.parametrize(
    ("options", "term_group", "kill_group"),
    [
        ({}, True, True),
        ({"stopasgroup": True}, True, True),
        ({"killasgroup": True}, True, True),
        ({"stopasgroup": False}, False, False),
        ({"stopasgroup": False, "killasgroup": True}, False, True),
        ({"stopasgroup": False, "killasgroup": False}, False, False),
    ],
)
def test_group_flags_in_kill_effects(options: dict, term_group: bool, kill_group: bool) -> None:
    d = Driver(
        Program(ignores=frozenset({signal.SIGTERM})), stopwaitsecs=1, stopsignal="INT", **options
    )
    d.feed(Tick(), 0.0)
    d.run(2.0)
    d.feed(Stop(), 2.0)
    d.run(100)
    assert d.kills() == [(2.0, signal.SIGINT, term_group, True)]
    # SIGINT is not ignored: the process dies of it at once
    assert d.transitions[-1].message == "stopped: x (terminated by SIGINT)"
    d = Driver(
        Program(ignores=frozenset({signal.SIGINT})), stopwaitsecs=1, stopsignal="INT", **options
    )
    d.feed(Tick(), 0.0)
    d.run(2.0)
    d.feed(Stop(), 2.0)
    d.run(100)
    assert d.kills() == [
        (2.0, signal.SIGINT, term_group, True),
        (3.0, signal.SIGKILL, kill_group, True),
    ]
    group = "process group " if term_group else ""
    assert d.transitions[2].message == f"killing x (pid 100) {group}with signal SIGINT"
    assert d.transitions[2].signal == "SIGINT"
    group = "process group " if kill_group else ""
    assert ("DEBG", f"killing x (pid 100) {group}with signal SIGKILL") in d.lines()


def test_stop_handled_by_the_program_logs_info() -> None:
    d = Driver(Program(die_after=0.083, exit_code_on_signal=0), stopsignal="INT")
    d.feed(Tick(), 0.0)
    d.run(2.5)
    d.feed(Stop(), 2.5)
    d.run(100)
    assert d.lines()[-2:] == [
        ("DEBG", "killing x (pid 100) process group with signal SIGINT"),
        ("INFO", "stopped: x (exit status 0)"),
    ]
    assert d.m.state is S.STOPPED and d.m.exitstatus == 0


def test_stopped_is_never_restarted() -> None:
    d = Driver(Program(exit_code_on_signal=1), autorestart="true")
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    d.run(1000)
    assert d.m.state is S.STOPPED
    assert d.m.next_deadline() is None
    assert d.spawns == 1


# --------------------------------------------------------------------------- signals


def test_signal_to_running_process() -> None:
    d = Driver(Program(ignores=frozenset({signal.SIGUSR1})))  # stopasgroup defaults to true
    d.feed(Tick(), 0.0)
    d.run(2.0)
    effects = d.feed(SendSignal(signal.SIGUSR1), 2.0)
    assert effects == [
        LogLine("DEBG", "sending x (pid 100) sig SIGUSR1"),
        Kill(signal.SIGUSR1, group=False, killing=False),
    ]
    assert d.m.state is S.RUNNING and d.m.killing is False
    # a signal that kills it: a normal unexpected exit, then autorestart
    d.feed(SendSignal(signal.SIGHUP), 3.0)
    d.run(3.0)
    assert d.rows()[-1] == ("RUNNING", "EXITED", None, False)
    assert d.transitions[-1].message == "exited: x (terminated by SIGHUP; not expected)"
    d.run(4.0)
    assert d.rows()[-1] == ("EXITED", "STARTING", 0, None)


@pytest.mark.parametrize("state", ["STARTING", "STOPPING"])
def test_signal_allowed_in_starting_and_stopping(state: str) -> None:
    d = Driver(Program(ignores=frozenset({signal.SIGTERM, signal.SIGUSR1})))
    d.feed(Tick(), 0.0)
    if state == "STOPPING":
        d.feed(Stop(), 0.5)
    assert d.m.state.value == state
    assert d.feed(SendSignal(signal.SIGUSR1), 0.5)[-1] == Kill(signal.SIGUSR1, False, False)


def test_signal_failed_esrch_keeps_state() -> None:
    d = Driver(Program(ignores=frozenset({signal.SIGTERM})))
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    assert d.feed(SignalFailed(signal.SIGTERM, True, "ESRCH", True), 2) == [
        LogLine("DEBG", "unable to signal x (pid 100), it probably just exited on its own: ESRCH")
    ]
    assert d.m.state is S.STOPPING and d.m.killing is True
    d.exit(ExitStatus(code=0), at=2.1)
    assert d.rows()[-1] == ("STOPPING", "STOPPED", None, None)


def test_signal_failed_other_error_is_unknown() -> None:
    d = Driver(Program(ignores=frozenset({signal.SIGTERM})))
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    assert d.feed(SignalFailed(signal.SIGTERM, False, "EPERM", True), 2)[0].to_state is S.UNKNOWN
    assert d.transitions[-1].message == "unknown problem killing x (100):EPERM"
    assert d.transitions[-1].level == "CRIT"
    assert d.m.killing is False and d.m.pid == 100
    assert d.m.next_deadline() is None  # no more SIGKILL escalation
    with pytest.raises(Fault) as info:
        d.feed(Start(), 3)
    assert info.value.code is FaultCode.FAILED
    with pytest.raises(Fault) as info:
        d.feed(Stop(), 3)
    assert info.value.code is FaultCode.NOT_RUNNING
    with pytest.raises(Fault) as info:
        d.feed(SendSignal(signal.SIGHUP), 3)
    assert info.value.code is FaultCode.NOT_RUNNING


def test_signal_failed_while_stopping_then_exit() -> None:
    # a user signal fails while STOPPING: UNKNOWN; the exit then goes UNKNOWN -> EXITED
    # (supervisord would crash on an assertion here), never from a stale STOPPING
    d = Driver(Program(ignores=frozenset({signal.SIGTERM, signal.SIGUSR1})), autorestart="false")
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    d.feed(SendSignal(signal.SIGUSR1), 2.5)
    d.feed(SignalFailed(signal.SIGUSR1, False, "EPERM", False), 2.5)
    assert d.transitions[-1].message == "unknown problem sending sig x (100):EPERM"
    d.exit(ExitStatus(signal=signal.SIGKILL), at=3.0)
    assert d.rows()[-2:] == [
        ("STOPPING", "UNKNOWN", None, None),
        ("UNKNOWN", "EXITED", None, False),
    ]
    assert d.m.state is S.EXITED and d.m.pid == 0


# --------------------------------------------------------------------------- refusals


def _driver_in(state: str) -> Driver:
    d = Driver(
        Program(
            runs=[(0.1, ExitStatus(code=1)), (None, ExitStatus(code=0))],
            ignores=frozenset({signal.SIGTERM}),
        ),
        startretries=5,
    )
    d.feed(Tick(), 0.0)
    if state == "BACKOFF":
        d.run(0.5)
    elif state == "STARTING":
        d.run(1.2)
    elif state == "RUNNING":
        d.run(3.0)
    elif state == "STOPPING":
        d.run(3.0)
        d.feed(Stop(), 3.0)
    elif state == "UNKNOWN":
        d.run(3.0)
        d.feed(SendSignal(signal.SIGUSR2), 3.0)
        d.feed(SignalFailed(signal.SIGUSR2, False, "EPERM", False), 3.0)
    elif state == "STOPPED":
        d.run(0.5)
        d.feed(Stop(), 0.5)
    elif state == "EXITED":
        d = Driver(runs(5.0, 0))
        d.feed(Tick(), 0.0)
        d.run(6.0)
    elif state == "FATAL":
        d = Driver(runs(0.1, 1), startretries=0)
        d.feed(Tick(), 0.0)
        d.run(1.0)
    assert d.m.state.value == state
    return d


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("STARTING", FaultCode.ALREADY_STARTED),
        ("RUNNING", FaultCode.ALREADY_STARTED),
        ("BACKOFF", FaultCode.ALREADY_STARTED),
        ("UNKNOWN", FaultCode.FAILED),
        # nbsup's choice: supervisord's startProcess would call spawn(), a no-op with a pid
        ("STOPPING", FaultCode.ABNORMAL_TERMINATION),
    ],
)
def test_start_refused(state: str, code: FaultCode) -> None:
    d = _driver_in(state)
    before = (d.m.status(), d.m.delay, d.m.killing, d.m.next_deadline())
    with pytest.raises(Fault) as info:
        d.m.handle(Start(), d.now)
    assert info.value.code is code
    assert (d.m.status(), d.m.delay, d.m.killing, d.m.next_deadline()) == before


@pytest.mark.parametrize("state", ["STOPPED", "EXITED", "FATAL"])
def test_start_allowed(state: str) -> None:
    d = _driver_in(state)
    d.feed(Start(), d.now)
    assert d.rows()[-1][:2] == (state, "STARTING")


@pytest.mark.parametrize("state", ["STOPPED", "EXITED", "FATAL", "STOPPING", "UNKNOWN"])
def test_stop_refused(state: str) -> None:
    d = _driver_in(state)
    before = (d.m.status(), d.m.delay, d.m.killing, d.m.next_deadline())
    with pytest.raises(Fault) as info:
        d.m.handle(Stop(), d.now)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert str(info.value) == "NOT_RUNNING: x"
    assert (d.m.status(), d.m.delay, d.m.killing, d.m.next_deadline()) == before


@pytest.mark.parametrize("state", ["STOPPED", "EXITED", "FATAL", "BACKOFF", "UNKNOWN"])
def test_signal_refused(state: str) -> None:
    d = _driver_in(state)
    before = d.m.status()
    with pytest.raises(Fault) as info:
        d.m.handle(SendSignal(signal.SIGHUP), d.now)
    assert info.value.code is FaultCode.NOT_RUNNING
    assert d.m.status() == before


# --------------------------------------------------------------------------- spawn errors


def test_spawn_errors_lead_to_fatal() -> None:
    d = Driver()
    d.spawn_error = "can't find command '/no/such/cmd'"
    d.feed(Tick(), 0.0)
    d.run(100)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, None),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, None),
        ("BACKOFF", "STARTING", 2, None),
        ("STARTING", "BACKOFF", 3, None),
        ("BACKOFF", "STARTING", 3, None),
        ("STARTING", "BACKOFF", 4, None),
        ("BACKOFF", "FATAL", None, None),
    ]
    assert d.times() == [0, 0, 1, 1, 3, 3, 6, 6, 6]
    assert d.spawns == 4
    assert all(t.pid is None for t in d.transitions)
    assert d.lines() == [("INFO", "spawnerr: can't find command '/no/such/cmd'")] * 4 + [
        ("INFO", "gave up: x entered FATAL state, too many start retries too quickly")
    ]
    assert d.m.spawnerr == "can't find command '/no/such/cmd'"
    assert d.m.state is S.FATAL


def test_last_spawn_error_and_fatal_in_one_handle() -> None:
    m = Machine(build_options("x", {"command": "c", "startretries": 0}))
    assert m.handle(Start(), 0.0) == [Spawn()]
    effects = m.handle(SpawnFailed("command at '/tmp' is a directory"), 0.0)
    assert [(e.from_state, e.to_state, e.message) for e in effects] == [
        (S.STOPPED, S.STARTING, ""),
        (S.STARTING, S.BACKOFF, "spawnerr: command at '/tmp' is a directory"),
        (S.BACKOFF, S.FATAL, "gave up: x entered FATAL state, too many start retries too quickly"),
    ]


def test_spawn_error_then_success_resets_at_running() -> None:
    d = Driver(runs(None), startretries=3)
    d.spawn_error = "Too many processes in process table to spawn 'x'"
    d.feed(Tick(), 0.0)
    d.run(2.5)  # two failures: BACKOFF(2) at 1, next try at 3
    d.spawn_error = None
    d.run(10)
    assert d.rows()[-2:] == [("BACKOFF", "STARTING", 2, None), ("STARTING", "RUNNING", None, None)]
    assert d.m.backoff == 0
    assert d.m.spawnerr is None


# --------------------------------------------------------------------------- restartpause


def test_restartpause_zero_spawns_in_the_same_call() -> None:
    d = Driver(runs(2.0, 1), restartpause=0)
    d.feed(Tick(), 0.0)
    d.run(1.5)
    effects = d.m.handle(Exited(ExitStatus(code=1)), 2.0)
    assert [type(e) for e in effects] == [Transition, Spawn]
    assert effects[0].to_state is S.EXITED
    assert d.m.state is S.STARTING
    assert d.m.next_deadline() is None  # waiting for the launcher


@pytest.mark.parametrize("pause", [0, 1, 2.5])
def test_restartpause_delays_autorestart(pause: float) -> None:
    d = Driver(runs(2.0, 1), restartpause=pause)
    d.feed(Tick(), 0.0)
    d.run_until_transitions(7)
    assert d.rows()[:7] == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 0, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 0, None),
    ]
    assert d.times()[:7] == [0, 1, 2, 2 + pause, 3 + pause, 4 + pause, 4 + 2 * pause]


def test_restartpause_not_applied_to_backoff() -> None:
    d = Driver(runs(0.5, 1), restartpause=5)
    d.feed(Tick(), 0.0)
    d.run(2)
    assert d.rows()[2] == ("BACKOFF", "STARTING", 1, None)
    assert d.times()[2] == 1.5


# --------------------------------------------------------------------------- shutdown


def test_shutdown_running_stops_and_nothing_restarts() -> None:
    d = Driver(Program(die_after=0.01), autorestart="true")
    d.feed(Tick(), 0.0)
    d.run(5)
    effects = d.feed(Shutdown(), 5)
    assert effects[0].to_state is S.STOPPING
    assert effects[1] == Kill(signal.SIGTERM, group=True, killing=True)
    d.run(1000)
    assert d.rows()[-1] == ("STOPPING", "STOPPED", None, None)
    assert d.spawns == 1
    assert d.m.next_deadline() is None


def test_shutdown_backoff_is_fatal_silently() -> None:
    d = Driver(runs(0.1, 1))
    d.feed(Tick(), 0.0)
    d.run(0.5)
    assert d.m.state is S.BACKOFF
    effects = d.feed(Shutdown(), 0.5)
    assert len(effects) == 1
    fatal = effects[0]
    assert (fatal.from_state, fatal.to_state, fatal.message, fatal.level) == (
        S.BACKOFF,
        S.FATAL,
        "",
        "",
    )
    assert d.m.backoff == 0 and d.m.delay == 0
    d.run(1000)
    assert d.spawns == 1
    assert d.lines()[-1] == ("WARN", "exited: x (exit status 1; not expected)")


def test_shutdown_exited_no_autorestart() -> None:
    d = Driver(runs(2.0, 1), autorestart="true")
    d.feed(Tick(), 0.0)
    d.run(2.0)
    assert d.m.state is S.EXITED
    assert d.feed(Shutdown(), 2.0) == []
    d.run(1000)
    assert d.m.state is S.EXITED and d.spawns == 1


def test_shutdown_stopped_never_autostarts() -> None:
    d = Driver()
    assert d.feed(Shutdown(), 0.0) == []
    d.feed(Tick(), 1.0)
    assert d.spawns == 0 and d.m.state is S.STOPPED


def test_shutdown_starting_stops() -> None:
    d = Driver(Program(die_after=0.01), startsecs=5)
    d.feed(Tick(), 0.0)
    d.feed(Shutdown(), 1.0)
    d.run(1000)
    assert [t.to_state for t in d.transitions] == [S.STARTING, S.STOPPING, S.STOPPED]


def test_shutdown_while_stopping_still_escalates() -> None:
    d = Driver(Program(ignores=frozenset({signal.SIGTERM})), stopwaitsecs=3)
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    assert d.feed(Shutdown(), 2.5) == []
    assert d.m.next_deadline() == 5
    d.run(1000)
    assert d.kills()[-1] == (5, signal.SIGKILL, True, True)
    assert d.m.state is S.STOPPED


# --------------------------------------------------------------------------- backoff policies


def test_exponential_backoff_delays_capped() -> None:
    d = Driver(runs(0.001, 1), backoff="exponential", backoffmax=5, startretries=6)
    d.feed(Tick(), 0.0)
    d.run(1000)
    backoff_times = [t.at for t in d.transitions if t.to_state is S.BACKOFF]
    start_times = [t.at for t in d.transitions if t.to_state is S.STARTING]
    assert start_times[1:] == [
        b + k for b, k in zip(backoff_times[:6], [1, 2, 4, 5, 5, 5], strict=True)
    ]
    assert d.spawns == 7
    assert d.transitions[-1].to_state is S.FATAL
    assert [t.tries for t in d.transitions if t.to_state is S.BACKOFF] == [1, 2, 3, 4, 5, 6, 7]


def test_linear_backoff_is_supervisords() -> None:
    d = Driver(runs(0.001, 1), startretries=6)
    d.feed(Tick(), 0.0)
    d.run(1000)
    backoff_times = [t.at for t in d.transitions if t.to_state is S.BACKOFF]
    start_times = [t.at for t in d.transitions if t.to_state is S.STARTING]
    assert start_times[1:] == [
        b + k for b, k in zip(backoff_times[:6], [1, 2, 3, 4, 5, 6], strict=True)
    ]


def test_backoffreset_keeps_counter_across_short_running() -> None:
    # fail twice, then run 2 s (RUNNING after 1 s, shorter than backoffreset=10): the counter
    # is kept across RUNNING/EXITED, so the next early failure continues it
    program = Program(
        runs=[
            (0.1, ExitStatus(code=1)),
            (0.1, ExitStatus(code=1)),
            (2.0, ExitStatus(code=1)),
            (0.1, ExitStatus(code=1)),
        ]
    )
    d = Driver(program, backoff="exponential", backoffreset=10, startretries=3, autorestart="true")
    d.feed(Tick(), 0.0)
    d.run(1000)
    assert d.rows() == [
        ("STOPPED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
        ("BACKOFF", "STARTING", 1, None),
        ("STARTING", "BACKOFF", 2, False),
        ("BACKOFF", "STARTING", 2, None),
        ("STARTING", "RUNNING", None, None),
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 2, None),
        ("STARTING", "BACKOFF", 3, False),
        ("BACKOFF", "STARTING", 3, None),
        ("STARTING", "BACKOFF", 4, False),
        ("BACKOFF", "FATAL", None, None),
    ]
    # the delays continue the exponential schedule: 1, 2, then 4 after BACKOFF(3)
    assert d.times()[9] == d.times()[8] + 4


def test_backoffreset_resets_after_staying_up() -> None:
    program = Program(
        runs=[(0.1, ExitStatus(code=1)), (15.0, ExitStatus(code=1)), (0.1, ExitStatus(code=1))]
    )
    d = Driver(program, backoff="exponential", backoffreset=10, startretries=3, autorestart="true")
    d.feed(Tick(), 0.0)
    d.run(2.0)  # BACKOFF(1) at 0.1, STARTING(1) at 1.1, RUNNING at 2.1
    d.run(2.1)
    assert d.m.state is S.RUNNING
    assert d.m.backoff == 1
    assert d.m.next_deadline() == pytest.approx(12.1)
    assert d.step(1000)  # the reset deadline: no transition, counter back to 0
    assert d.m.backoff == 0
    assert d.m.next_deadline() is None
    assert d.rows()[-1] == ("STARTING", "RUNNING", None, None)
    d.run(18)
    assert d.rows()[-3:] == [
        ("RUNNING", "EXITED", None, False),
        ("EXITED", "STARTING", 0, None),
        ("STARTING", "BACKOFF", 1, False),
    ]


def test_backoff_jitter_is_bounded_and_seeded() -> None:
    from nbsup.core.backoff import ExponentialBackoff

    policy = ExponentialBackoff(base=1, cap=8, jitter=0.5, seed=42)
    delays = [policy.delay(k) for k in range(1, 7)]
    again = ExponentialBackoff(base=1, cap=8, jitter=0.5, seed=42)
    assert delays == [again.delay(k) for k in range(1, 7)]
    for k, delay in enumerate(delays, start=1):
        nominal = min(8, 2 ** (k - 1))
        assert nominal * 0.5 <= delay <= min(8, nominal * 1.5)


# --------------------------------------------------------------------------- log lines


def test_supervisord_log_messages() -> None:
    d = Driver(
        Program(
            runs=[(0.2, ExitStatus(code=1)), (3.0, ExitStatus(code=1)), (None, ExitStatus(code=0))],
            ignores=frozenset({signal.SIGTERM}),
        ),
        autorestart="unexpected",
        stopwaitsecs=2,
    )
    d.feed(Tick(), 0.0)
    d.run(10)
    d.feed(Stop(), 10)
    d.run(100)
    assert d.lines() == [
        ("INFO", "spawned: 'x' with pid 100"),
        ("WARN", "exited: x (exit status 1; not expected)"),
        ("INFO", "spawned: 'x' with pid 101"),
        (
            "INFO",
            "success: x entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
        ),
        ("WARN", "exited: x (exit status 1; not expected)"),
        ("INFO", "spawned: 'x' with pid 102"),
        (
            "INFO",
            "success: x entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
        ),
        ("DEBG", "killing x (pid 102) process group with signal SIGTERM"),
        ("WARN", "killing 'x' (102) with SIGKILL"),
        ("DEBG", "killing x (pid 102) process group with signal SIGKILL"),
        ("WARN", "stopped: x (terminated by SIGKILL)"),
    ]


def test_gave_up_and_expected_exit_messages() -> None:
    d = Driver(runs(0.2, 1), startretries=0)
    d.feed(Tick(), 0.0)
    d.run(10)
    assert d.lines()[-1] == (
        "INFO",
        "gave up: x entered FATAL state, too many start retries too quickly",
    )
    d = Driver(runs(3.0, 0), startsecs=0.5)
    d.feed(Tick(), 0.0)
    d.run(10)
    assert d.lines() == [
        ("INFO", "spawned: 'x' with pid 100"),
        (
            "INFO",
            "success: x entered RUNNING state, process has stayed up for > than 0.5 seconds (startsecs)",
        ),
        ("INFO", "exited: x (exit status 0; expected)"),
    ]
    d = Driver(Program(die_after=0.0), stopasgroup=False)
    d.feed(Tick(), 0.0)
    d.run(2)
    d.feed(Stop(), 2)
    d.run(10)
    assert d.lines()[-2:] == [
        ("DEBG", "killing x (pid 100) with signal SIGTERM"),
        ("WARN", "stopped: x (terminated by SIGTERM)"),
    ]


def test_core_dump_wording() -> None:
    d = Driver(runs(5.0, sig=signal.SIGSEGV), autorestart="false")
    d.feed(Tick(), 0.0)
    d.run(4.0)
    d.exit(ExitStatus(signal=signal.SIGSEGV, core_dumped=True), at=4.0)
    assert d.lines()[-1] == (
        "WARN",
        "exited: x (terminated by SIGSEGV (core dumped); not expected)",
    )


def test_stopwaitsecs_zero_repeats_sigkill_but_never_in_a_tight_loop() -> None:
    m = Machine(build_options("x", {"command": "prog", "stopwaitsecs": "0"}))
    m.handle(Start(), 0.0)
    m.handle(Spawned(100), 0.0)
    m.handle(Tick(), 1.0)  # RUNNING
    effects = m.handle(Stop(), 2.0)
    assert [e.signal for e in effects if isinstance(e, Kill)] == [signal.SIGTERM]
    assert m.next_deadline() == 2.0  # SIGKILL at once
    effects = m.handle(Tick(), 2.0)
    assert [e.signal for e in effects if isinstance(e, Kill)] == [signal.SIGKILL]
    assert m.next_deadline() == pytest.approx(2.1)  # then again every 0.1 s, not at 2.0
    assert m.handle(Tick(), 2.0) == []


def test_shutdown_while_spawning_stops_the_process_once_it_exists() -> None:
    m = Machine(build_options("x", {"command": "prog"}))
    assert m.handle(Start(), 0.0) == [Spawn()]
    assert m.handle(Shutdown(), 0.001) == []
    effects = m.handle(Spawned(100), 0.002)
    assert [e.to_state for e in effects if isinstance(e, Transition)] == [S.STARTING, S.STOPPING]
    assert [(e.signal, e.group) for e in effects if isinstance(e, Kill)] == [(signal.SIGTERM, True)]
    with pytest.raises(Fault) as refused:
        m.handle(Start(), 0.003)
    assert refused.value.code is FaultCode.SHUTDOWN_STATE


def test_backoffreset_applies_to_an_exit_after_the_reset_time_without_a_tick() -> None:
    m = Machine(
        build_options(
            "x",
            {"command": "prog", "backoff": "exponential", "backoffreset": "5", "startsecs": "1"},
        )
    )
    m.handle(Start(), 0.0)
    m.handle(Spawned(100), 0.0)
    m.handle(Exited(ExitStatus(code=1)), 0.5)  # BACKOFF(1)
    m.handle(Tick(), 1.5)  # STARTING(1)
    m.handle(Spawned(101), 1.5)
    m.handle(Tick(), 2.5)  # RUNNING, reset due at 7.5
    assert (m.state, m.backoff, m.next_deadline()) == (S.RUNNING, 1, 7.5)
    m.handle(Exited(ExitStatus(code=1)), 8.0)  # no Tick at 7.5: the exit still resets
    assert (m.state, m.backoff) == (S.EXITED, 0)
