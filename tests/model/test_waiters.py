"""Waiting for states: one latch for many programs, registration from any thread."""

from __future__ import annotations

import threading

import pytest

import nbsup
from nbsup import ProcessState
from nbsup.testing import Life
from nbsup.waiters import Latch, StateWaiter, WaiterList

STOPPED = frozenset({ProcessState.STOPPED})
RUNNING = frozenset({ProcessState.RUNNING})


def test_a_latch_is_set_only_after_its_release_and_every_arrival() -> None:
    latch = Latch()
    first = StateWaiter(STOPPED, latch)
    first.reach(ProcessState.STOPPED)  # arrives during set-up: not enough yet
    second = StateWaiter(STOPPED, latch)
    assert not latch.event.is_set()
    latch.release()
    assert not latch.event.is_set()
    second.reach(ProcessState.STOPPED)
    assert latch.event.is_set()
    assert first.reached is second.reached is ProcessState.STOPPED


def test_a_waiter_list_reaches_at_once_or_on_the_matching_entry_only() -> None:
    waiters = WaiterList()
    latch = Latch()
    now = StateWaiter(RUNNING, latch)
    waiters.add(now, lambda: ProcessState.RUNNING)
    assert now.reached is ProcessState.RUNNING and not waiters
    later = StateWaiter(STOPPED, latch)
    waiters.add(later, lambda: ProcessState.RUNNING)
    latch.release()
    waiters.entered(ProcessState.STOPPING)
    assert later.reached is None and waiters and not latch.event.is_set()
    waiters.entered(ProcessState.STOPPED)
    assert later.reached is ProcessState.STOPPED and not waiters and latch.event.is_set()


def test_a_discarded_waiter_is_never_reached() -> None:
    waiters = WaiterList()
    waiter = StateWaiter(STOPPED, Latch())
    waiters.add(waiter, lambda: ProcessState.RUNNING)
    waiters.discard(waiter)
    waiters.entered(ProcessState.STOPPED)
    assert waiter.reached is None


def test_stopping_many_programs_waits_once_for_all(sim) -> None:
    sup, clock, launcher = sim
    for i in range(20):
        sup.add_program(f"p{i}", command="sleep 100", startsecs=0)
    runner = sup._runner
    waits = []
    inner = runner.wait

    def counting(event: threading.Event, timeout: float | None) -> bool:
        waits.append(timeout)
        return inner(event, timeout)

    runner.wait = counting  # type: ignore[method-assign]
    outcomes = sup.stop_all(timeout=30)
    assert outcomes == {f"p{i}": None for i in range(20)}
    assert len(waits) == 1
    assert {p.state for p in sup} == {ProcessState.STOPPED}


def test_a_group_wait_that_times_out_names_the_first_program_and_leaves_no_waiter(sim) -> None:
    sup, clock, launcher = sim
    launcher.script("slow", Life(runs=None, ignores=frozenset({15})))
    sup.add_program("fast", command="sleep 100", startsecs=0)
    slow = sup.add_program("slow", command="sleep 100", startsecs=0, stopwaitsecs=60)
    with pytest.raises(TimeoutError, match="slow did not reach"):
        sup.stop_all(["fast", "slow"], timeout=5)
    assert sup["fast"].state is ProcessState.STOPPED
    assert slow.state is ProcessState.STOPPING and not slow._waiters


def test_waiting_for_the_current_state_needs_no_turn_of_the_supervisor_thread(
    tmp_path,
) -> None:
    sup = nbsup.Supervisor(state_dir=str(tmp_path))
    try:
        program = sup.add_program("x", command="sleep 100", autostart=False)
        busy, free = threading.Event(), threading.Event()
        sup._runner.thread.submit(lambda: (busy.set(), free.wait(10)))
        assert busy.wait(10)
        try:  # the supervisor's thread is busy: this must not wait for it
            assert program.wait_for("STOPPED", timeout=0.5) is ProcessState.STOPPED
        finally:
            free.set()
    finally:
        sup.shutdown(10)
