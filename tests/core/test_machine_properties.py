"""Invariants of the state machine under random sequences of requests, exits and time.

A hypothesis RuleBasedStateMachine plays a runtime around one Machine: it answers every
Spawn at once (with Spawned or, when the launcher is set to fail, SpawnFailed), feeds exits
with a random status after a random time, requests start/stop/signal/shutdown, reports
failed signals, and moves time forward by ticking at ``next_deadline()``. Time never jumps
over a deadline, as a runtime that ticks at ``next_deadline()`` would not.
"""

from __future__ import annotations

import signal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from nbsup.core.errors import Fault, FaultCode
from nbsup.core.events import (
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
from nbsup.core.machine import Machine
from nbsup.core.options import build_options
from nbsup.core.states import EDGES, RUNNING_STATES, SIGNALLABLE_STATES, ProcessState

S = ProcessState

exit_statuses = st.one_of(
    st.integers(0, 3).map(lambda code: ExitStatus(code=code)),
    st.sampled_from([signal.SIGTERM, signal.SIGKILL, signal.SIGHUP, signal.SIGINT]).map(
        lambda sig: ExitStatus(signal=sig)
    ),
)
delays = st.one_of(st.sampled_from([0.0, 0.5, 0.999, 1.0, 2.0, 5.0]), st.floats(0, 12))


class MachineRun(RuleBasedStateMachine):
    @initialize(
        startsecs=st.sampled_from([0, 0.1, 0.3, 1, 2.5]),
        startretries=st.integers(0, 3),
        autorestart=st.sampled_from(["false", "unexpected", "true"]),
        exitcodes=st.sampled_from(["0", "0,2", "1"]),
        stopwaitsecs=st.sampled_from([0.5, 1, 3]),
        restartpause=st.sampled_from([0, 1, 2.5]),
        groups=st.sampled_from([(True, True), (False, False), (False, True)]),
        autostart=st.booleans(),
        stopsignal=st.sampled_from(["TERM", "INT"]),
    )
    def setup(
        self,
        startsecs: float,
        startretries: int,
        autorestart: str,
        exitcodes: str,
        stopwaitsecs: float,
        restartpause: float,
        groups: tuple[bool, bool],
        autostart: bool,
        stopsignal: str,
    ) -> None:
        self.options = build_options(
            "x",
            {
                "command": "prog",
                "startsecs": startsecs,
                "startretries": startretries,
                "autorestart": autorestart,
                "exitcodes": exitcodes,
                "stopwaitsecs": stopwaitsecs,
                "restartpause": restartpause,
                "stopasgroup": groups[0],
                "killasgroup": groups[1],
                "autostart": autostart,
                "stopsignal": stopsignal,
            },
        )
        self.m = Machine(self.options)
        self.now = 0.0
        self.last_to = S.STOPPED
        self.live_pid: int | None = None
        self.next_pid = 1000
        self.failures = 0  # model of the consecutive-failure counter
        self.retries = 0  # automatic BACKOFF -> STARTING since the counter was last reset
        self.spawn_fails = False
        self.shut_down = False
        self.last_kill: Kill | None = None

    # ------------------------------------------------------------------ plumbing

    def snapshot(self) -> tuple:
        m = self.m
        return (m.status(), m.delay, m.killing, m.next_deadline(), m.shutting_down, m.spawning)

    def cap(self, at: float) -> float:
        """Never move time past a deadline that has not been ticked."""
        deadline = self.m.next_deadline()
        return at if deadline is None else max(self.now, min(at, deadline))

    def feed(self, event: object, at: float | None = None) -> list:
        if at is not None:
            assert at >= self.now
            self.now = at
        before = self.snapshot()
        try:
            effects = self.m.handle(event, self.now)  # type: ignore[arg-type]
        except Fault:
            assert self.snapshot() == before, "a refused request changed the machine"
            raise
        self.check(event, effects)
        out = list(effects)
        if effects and isinstance(effects[-1], Spawn):
            out += self.answer_spawn()
        self.check_after()
        return out

    def answer_spawn(self) -> list:
        assert self.m.spawning and self.m.state is S.STARTING and self.m.pid == 0
        assert self.m.next_deadline() is None
        if self.spawn_fails:
            return self.feed(SpawnFailed("can't find command 'prog'"))
        assert self.live_pid is None, "two live pids"
        pid = self.next_pid
        self.next_pid += 1
        self.live_pid = pid
        effects = self.feed(Spawned(pid))
        assert isinstance(effects[0], Transition) and effects[0].to_state is S.STARTING
        assert effects[0].pid == pid
        return effects

    def check(self, event: object, effects: list) -> None:
        spawns = [e for e in effects if isinstance(e, Spawn)]
        assert len(spawns) <= 1 and (not spawns or effects[-1] is spawns[0])
        if spawns:
            assert not self.shut_down or isinstance(event, Start), "spawned after shutdown"
        for i, e in enumerate(effects):
            if isinstance(e, Transition):
                self.check_transition(e, effects[i + 1 :])
            elif isinstance(e, Kill):
                assert self.m.pid != 0 and self.live_pid is not None
                self.last_kill = e
                if isinstance(event, SendSignal):
                    assert (e.signal, e.group, e.killing) == (event.signal, False, False)
                elif isinstance(event, (Stop, Shutdown)):
                    expected = (self.options.stopsignal, self.options.stopasgroup, True)
                    assert (e.signal, e.group, e.killing) == expected
                else:
                    assert isinstance(event, Tick)
                    assert (e.signal, e.group, e.killing) == (
                        signal.SIGKILL,
                        self.options.killasgroup,
                        True,
                    )
            else:
                assert isinstance(e, (LogLine, Spawn))

    def check_transition(self, t: Transition, rest: list) -> None:
        assert (t.from_state, t.to_state) in EDGES
        assert t.from_state is self.last_to
        assert t.at == self.now
        assert t.status.state is t.to_state
        self.last_to = t.to_state
        startretries = self.options.startretries
        if t.to_state is S.STARTING:
            assert t.tries == self.failures <= startretries
            if t.from_state is S.BACKOFF:
                self.retries += 1
                assert self.retries <= startretries
        elif t.to_state is S.BACKOFF:
            self.failures += 1
            assert t.tries == self.failures <= startretries + 1
            gives_up = [e for e in rest[:1] if isinstance(e, Transition) and e.to_state is S.FATAL]
            assert bool(gives_up) == (self.failures > startretries)
        elif t.to_state in (S.RUNNING, S.EXITED, S.FATAL):
            self.failures = 0
            self.retries = 0
        if t.to_state is S.STOPPING:
            assert self.m.next_deadline() is not None

    def check_after(self) -> None:
        m = self.m
        assert m.backoff == self.failures
        if not m.spawning:
            assert m.state is self.last_to
            assert m.pid == (self.live_pid or 0)
        if m.state in (S.BACKOFF, S.STOPPED, S.EXITED, S.FATAL):
            assert m.pid == 0
        deadline = m.next_deadline()
        assert deadline is None or deadline >= self.now
        if m.state is S.STOPPING:
            assert m.killing and deadline == m.delay

    # ------------------------------------------------------------------ rules

    @rule()
    def start(self) -> None:
        state = self.m.state
        try:
            self.feed(Start())
        except Fault as fault:
            if self.shut_down:  # nothing starts once the supervisor is shutting down
                assert fault.code is FaultCode.SHUTDOWN_STATE
            elif state in RUNNING_STATES:
                assert fault.code is FaultCode.ALREADY_STARTED
            elif state is S.UNKNOWN:
                assert fault.code is FaultCode.FAILED
            else:
                assert state is S.STOPPING
                assert fault.code is FaultCode.ABNORMAL_TERMINATION
            return
        assert state in (S.STOPPED, S.EXITED, S.FATAL)
        assert not self.shut_down
        assert self.m.state in (S.STARTING, S.BACKOFF, S.FATAL)

    @rule()
    def stop(self) -> None:
        state = self.m.state
        try:
            effects = self.feed(Stop())
        except Fault as fault:
            assert fault.code is FaultCode.NOT_RUNNING
            assert state not in (S.STARTING, S.RUNNING, S.BACKOFF)
            return
        if state is S.BACKOFF:
            assert [(e.from_state, e.to_state, e.pid) for e in effects] == [
                (S.BACKOFF, S.STOPPED, 0)
            ]
        else:
            assert state in (S.STARTING, S.RUNNING)
            assert self.m.state is S.STOPPING
            assert self.m.next_deadline() == self.now + self.options.stopwaitsecs

    @rule(sig=st.sampled_from([signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM]))
    def send_signal(self, sig: int) -> None:
        state = self.m.state
        try:
            effects = self.feed(SendSignal(sig))
        except Fault as fault:
            assert fault.code is FaultCode.NOT_RUNNING
            assert state not in SIGNALLABLE_STATES
            return
        assert state in SIGNALLABLE_STATES
        assert not any(isinstance(e, Transition) for e in effects)

    @precondition(lambda self: self.live_pid is not None)
    @rule(status=exit_statuses, after=delays)
    def exit(self, status: ExitStatus, after: float) -> None:
        state = self.m.state
        pid = self.live_pid
        at = self.cap(self.now + after)
        self.live_pid = None
        effects = self.feed(Exited(status), at)
        transitions = [e for e in effects if isinstance(e, Transition)]
        assert transitions, "an exit always changes the state"
        assert transitions[0].pid == pid
        if state is S.STOPPING:
            assert (transitions[0].from_state, transitions[0].to_state) == (S.STOPPING, S.STOPPED)
        if any(t.to_state is S.EXITED for t in transitions):
            exited = next(t for t in transitions if t.to_state is S.EXITED)
            assert exited.expected == (
                status.signal is None and status.code in self.options.exitcodes
            )

    @rule(fails=st.booleans())
    def launcher(self, fails: bool) -> None:
        self.spawn_fails = fails

    @precondition(lambda self: self.m.next_deadline() is not None)
    @rule()
    def advance(self) -> None:
        deadline = self.m.next_deadline()
        assert deadline is not None
        state, pid = self.m.state, self.m.pid
        effects = self.feed(Tick(), deadline)
        if state is S.STOPPING:
            # the process ignores the stop signal: SIGKILL, again every stopwaitsecs
            assert [type(e) for e in effects] == [LogLine, LogLine, Kill]
            assert effects[0] == LogLine("WARN", f"killing 'x' ({pid}) with SIGKILL")
            assert self.m.next_deadline() == deadline + self.options.stopwaitsecs
        if not any(isinstance(e, Spawn) for e in effects):
            after = self.m.next_deadline()
            assert after is None or after > deadline, "a due deadline survived its tick"

    @rule(after=delays)
    def idle(self, after: float) -> None:
        self.feed(Tick(), self.cap(self.now + after))

    @rule()
    def shutdown(self) -> None:
        state = self.m.state
        effects = self.feed(Shutdown())
        self.shut_down = True
        if state is S.BACKOFF:
            assert [(e.to_state, e.message, e.level) for e in effects] == [(S.FATAL, "", "")]
        elif state in (S.STARTING, S.RUNNING):
            assert self.m.state is S.STOPPING
        else:
            assert effects == []

    @precondition(lambda self: self.live_pid is not None and self.last_kill is not None)
    @rule(esrch=st.booleans())
    def signal_failed(self, esrch: bool) -> None:
        kill = self.last_kill
        assert kill is not None
        state = self.m.state
        effects = self.feed(SignalFailed(kill.signal, esrch, "E", kill.killing))
        if esrch:
            assert [type(e) for e in effects] == [LogLine]
            assert self.m.state is state
        elif state in SIGNALLABLE_STATES:
            assert [(e.from_state, e.to_state) for e in effects] == [(state, S.UNKNOWN)]
            if kill.killing:
                assert not self.m.killing
        else:
            assert effects == []


MachineRun.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_machine_invariants = MachineRun.TestCase
