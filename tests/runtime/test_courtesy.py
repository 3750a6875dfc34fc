"""A loop that has fallen behind gives the kernel's threads a moment; one that keeps up never."""

from __future__ import annotations

import threading
import time

from nbsup.runtime.courtesy import CourteousSelector, Courtesy
from nbsup.runtime.loop import LoopThread


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_it_pauses_only_after_working_past_the_limit() -> None:
    clock = _Clock()
    courtesy = Courtesy(busy_limit=0.010, pause=0.002, clock=clock, sleep=clock.sleep)
    for _ in range(9):  # 9 events of 1 ms: within the limit, no pause
        courtesy.between_events()
        clock.now += 0.001
    courtesy.between_events()
    assert clock.slept == []
    clock.now += 0.0015
    courtesy.between_events()
    assert clock.slept == [0.002] and courtesy.pauses == 1
    courtesy.between_events()  # the pause starts a new stretch
    assert courtesy.pauses == 1


def test_catching_up_starts_the_count_again() -> None:
    clock = _Clock()
    courtesy = Courtesy(busy_limit=0.010, pause=0.002, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        clock.now += 0.004
        courtesy.caught_up()  # the loop waited for something between events
        courtesy.between_events()
    assert courtesy.pauses == 0


def test_the_selector_reports_a_wait_but_not_a_poll() -> None:
    clock = _Clock()
    courtesy = Courtesy(clock=clock, sleep=clock.sleep)
    selector = CourteousSelector(courtesy)
    try:
        clock.now = 5.0
        selector.select(0)  # callbacks were ready: still working
        assert courtesy.busy_since == 0.0
        selector.select(0.0001)  # nothing was ready: caught up
        assert courtesy.busy_since == 5.0
    finally:
        selector.close()


def _run(thread: LoopThread, step: object, count: int) -> None:
    done = threading.Event()
    left = [count]

    def work() -> None:
        thread.between_events()
        deadline = time.perf_counter() + 0.001  # 1 ms of work per event
        while time.perf_counter() < deadline:
            pass
        left[0] -= 1
        if left[0] == 0:
            done.set()
        else:
            step(work)  # type: ignore[operator]

    thread.loop.call_soon_threadsafe(work)
    assert done.wait(10)


def test_a_real_loop_behind_its_work_pauses() -> None:
    thread = LoopThread(name="courtesy-test")
    try:
        _run(thread, thread.loop.call_soon, 60)  # always something ready: a backlog
        assert thread.courtesy.pauses >= 3
    finally:
        thread.stop()


def test_a_real_loop_that_keeps_up_never_pauses() -> None:
    thread = LoopThread(name="courtesy-test")
    try:
        _run(thread, lambda work: thread.loop.call_later(0.002, work), 60)
        assert thread.courtesy.pauses == 0
    finally:
        thread.stop()
