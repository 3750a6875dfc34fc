"""The recorder: records on disk before anyone is told, told in the order they happened,
and on the supervisor's loop written together, one write per file per turn."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import nbsup
from nbsup.core.events import ProgramStatus, Transition
from nbsup.core.options import build_options
from nbsup.core.record import EventRecord
from nbsup.core.states import ProcessState
from nbsup.runtime import recorder as recorder_module
from nbsup.runtime.journal import Journal
from nbsup.runtime.recorder import Recorder
from nbsup.testing import FakeClock

S = ProcessState


def _transition(frm: ProcessState, to: ProcessState, at: float = 1.0) -> Transition:
    status = ProgramStatus(to, 0, 0, None, None, None, None)
    return Transition(at, status, frm, to, pid=None, tries=0, message=f"{frm.value}->{to.value}")


class _Turn:
    """Stands for the loop: collects what is deferred to the end of the turn."""

    def __init__(self) -> None:
        self.deferred: list[Callable[[], None]] = []

    def __call__(self, callback: Callable[[], None]) -> None:
        self.deferred.append(callback)

    def end(self) -> None:
        callbacks, self.deferred = self.deferred, []
        for callback in callbacks:
            callback()


def _recorder(tmp_path: Path, deferred: bool):
    journal = Journal(tmp_path)
    told: list[str] = []

    def listener(name: str, record: EventRecord, transition: Transition) -> None:
        on_disk = journal.events_path.read_text().splitlines()
        assert len(on_disk) > len(told), "told of a record that is not on disk yet"
        assert json.loads(on_disk[len(told)])["to_state"] == record.to_state
        told.append(f"{name}:{record.to_state}")

    recorder = Recorder(FakeClock(), 0.0, journal, listener)
    turn = _Turn()
    if deferred:
        recorder.defer = turn
    return recorder, journal, told, turn


def _options(name: str):
    return build_options(name, {"command": "x"})


def test_without_a_loop_each_event_is_written_and_told_at_once(tmp_path: Path) -> None:
    recorder, journal, told, turn = _recorder(tmp_path, deferred=False)
    recorder.write(_options("a"), [_transition(S.STOPPED, S.STARTING)])
    assert told == ["a:STARTING"]


def test_a_turn_is_written_once_per_file_then_told_in_order(tmp_path: Path, monkeypatch) -> None:
    recorder, journal, told, turn = _recorder(tmp_path, deferred=True)
    writes: list[int] = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(fd) or real_write(fd, data))
    for name in "abc":
        recorder.write(_options(name), [_transition(S.RUNNING, S.STOPPING)])
        recorder.write(_options(name), [_transition(S.STOPPING, S.STOPPED)])
    assert told == [] and writes == [] and len(turn.deferred) == 1
    turn.end()
    assert len(writes) == 2  # events.jsonl and supervisord.log, once each
    assert told == [f"{n}:{s}" for n in "abc" for s in ("STOPPING", "STOPPED")]
    recorder.write(_options("a"), [_transition(S.STOPPED, S.STARTING)])
    assert len(turn.deferred) == 1  # the next turn is a batch of its own


def test_a_request_made_while_telling_is_told_after_the_transitions_waiting(
    tmp_path: Path,
) -> None:
    recorder, journal, told, turn = _recorder(tmp_path, deferred=True)
    inner = recorder.listener

    def observer(name: str, record: EventRecord, transition: Transition) -> None:
        inner(name, record, transition)
        if name == "a" and record.to_state == "RUNNING":  # a start made by an observer
            recorder.write(_options("a"), [_transition(S.EXITED, S.STARTING)])
            recorder.flush()  # as a request's settle would: nothing is told out of order

    recorder.listener = observer
    recorder.write(_options("a"), [_transition(S.STARTING, S.RUNNING)])
    recorder.write(_options("a"), [_transition(S.RUNNING, S.EXITED)])
    turn.end()
    assert told == ["a:RUNNING", "a:EXITED", "a:STARTING"]


def test_a_long_burst_is_written_and_told_every_hold_limit_transitions(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(recorder_module, "HOLD_LIMIT", 10)
    recorder, journal, told, turn = _recorder(tmp_path, deferred=True)
    for i in range(25):
        recorder.write(_options(f"p{i}"), [_transition(S.RUNNING, S.STOPPING)])
    assert len(told) == 20
    turn.end()
    assert len(told) == 25


@pytest.fixture
def sup(tmp_path: Path):
    supervisor = nbsup.Supervisor(state_dir=str(tmp_path))
    yield supervisor
    supervisor.shutdown(15)


def test_stopping_many_programs_in_one_request_writes_their_records_together(sup) -> None:
    for i in range(40):
        sup.add_program(f"p{i}", command="sleep 100", startsecs=0)
    for program in sup:
        program.wait_for("RUNNING", timeout=10)
    journal = sup._runner.driver.journal
    chunks: list[str] = []
    real_write = journal._write_now

    def spy(fd: int, text: str) -> None:  # each write that reaches the file
        if fd == journal._events:
            chunks.append(text)
        real_write(fd, text)

    sup._runner.call(setattr, journal, "_write_now", spy)
    sup.stop_all(wait=False)
    stopping = [c for c in chunks if '"to_state": "STOPPING"' in c]
    assert len(stopping) == 1 and stopping[0].count("\n") == 40
    assert {p.state for p in sup} <= {S.STOPPING, S.STOPPED}  # mirrored when the call returns
    for program in sup:
        program.wait_for("STOPPED", timeout=10)
