"""A loop that is behind steps aside now and then, and waits longer when the kernel needs
the interpreter; a loop that keeps up never steps aside."""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable

from nbsup.runtime.clock import LoopScheduler
from nbsup.runtime.courtesy import BUSY_LIMIT, CourteousSelector, Courtesy
from nbsup.runtime.loop import LoopThread


class _Clock:
    """Wall time moved by hand. When the loop steps aside, another thread of the process
    runs ``taken`` seconds (it took the lock), or another process delays the loop by
    ``preempted`` seconds (no thread of ours ran). :meth:`work` is one event of the loop;
    with ``stirring``, another thread runs a little meanwhile (one waiting for the lock
    wakes at each release)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 1.0
        self.taken = 0.0
        self.preempted = 0.0
        self.others_cpu = 0.0
        self.stirring = True
        self.keeps_running = True  # the thread that took the lock runs on through the pause
        self.slept: list[float] = []

    def work(self, seconds: float) -> None:
        self.now += seconds
        self.cpu += seconds
        if self.stirring:
            self.others_cpu += 0.000002

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if seconds == 0.0001:  # the probe
            self.now += self.taken + self.preempted
            self.others_cpu += self.taken
        elif self.keeps_running:  # a slice of the pause
            self.others_cpu += seconds

    def behind(self, events: int) -> Courtesy:
        """A courtesy told of ``events`` events of 0.6 ms each, without catching up."""
        courtesy = self.courtesy()
        courtesy.caught_up()
        for _ in range(events):
            self.work(0.0006)
            courtesy.between_events()
        return courtesy

    def courtesy(self) -> Courtesy:
        return Courtesy(busy_limit=0.002, probe=0.0001, contended=0.00005, pause=0.002,
                        pause_slice=0.0005, clock=self, others=lambda: self.others_cpu, sleep=self.sleep)  # fmt: skip


def test_a_loop_behind_steps_aside_once_per_stretch_and_goes_on_when_nobody_took_the_lock():
    clock = _Clock()
    courtesy = clock.behind(20)  # 20 events of 0.6 ms without catching up: a probe every 4th
    assert courtesy.probes == 5 and courtesy.pauses == 0
    assert clock.slept == [0.0001] * 5


def test_a_loop_behind_never_steps_aside_when_no_other_thread_ran() -> None:
    clock = _Clock()
    clock.stirring = False  # the kernel is idle: nobody waits for the lock
    courtesy = clock.behind(20)
    assert courtesy.probes == 0 and clock.slept == []


def test_a_loop_behind_waits_longer_when_a_thread_took_the_lock() -> None:
    clock = _Clock()
    clock.taken = 0.001  # the kernel held the lock 1 ms while the loop stepped aside
    courtesy = clock.behind(4)
    assert courtesy.probes == 1 and courtesy.pauses == 1
    assert clock.slept == [0.0001] + [0.0005] * 4


def test_the_pause_ends_when_the_thread_that_took_the_lock_stops_running() -> None:
    clock = _Clock()
    clock.taken = 0.0001  # a thread collected its request's result, then blocked
    clock.keeps_running = False
    courtesy = clock.behind(4)
    assert courtesy.probes == 1 and courtesy.pauses == 1
    assert clock.slept == [0.0001, 0.0005]


def test_being_late_because_of_other_processes_is_no_reason_to_wait() -> None:
    clock = _Clock()
    clock.preempted = 0.003  # children starting took the CPU while the loop stepped aside
    courtesy = clock.behind(8)
    assert courtesy.probes == 2 and courtesy.pauses == 0


def test_a_loop_that_catches_up_never_steps_aside() -> None:
    clock = _Clock()
    courtesy = clock.courtesy()
    for _ in range(100):
        clock.work(0.0015)
        courtesy.caught_up()  # it waited for something between events
        courtesy.between_events()
    assert courtesy.probes == 0 and clock.slept == []


def test_the_selector_reports_a_wait_but_not_a_poll() -> None:
    clock = _Clock()
    courtesy = clock.courtesy()
    courtesy.caught_up()
    selector = CourteousSelector(courtesy)
    try:
        clock.now = 105.0
        selector.select(0)  # callbacks were ready: still working
        assert courtesy.busy_since == 100.0
        selector.select(0.0001)  # nothing was ready: it waited
        assert courtesy.busy_since == 105.0
    finally:
        selector.close()


def test_the_courtesys_own_sleeps_are_no_waiting_for_the_lock() -> None:
    clock = _Clock()
    clock.taken = 0.001  # it steps aside and pauses 2 ms: wall time without CPU time
    courtesy = clock.courtesy()
    courtesy.watch.wall = clock
    courtesy.watch.cpu = lambda: clock.cpu  # the loop's CPU time: its work, not its sleeps
    courtesy.caught_up()
    for _ in range(4):
        clock.work(0.0006)
        courtesy.between_events()
    assert courtesy.pauses == 1
    courtesy.watch.check()
    assert courtesy.watch.starvations == 0


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def _run(
    thread: LoopThread,
    step: Callable[[Callable[[], None]], object],
    count: int,
    work_seconds: float = 0.001,
    let_go: bool = False,
    starts: list[float] | None = None,
) -> float:
    """``count`` events of pure-Python work on the loop (each letting the lock go once
    with ``let_go``, as a system call does); returns the wall time. The time each event
    starts is added to ``starts``."""
    done = threading.Event()
    left = [count]

    def work() -> None:
        if starts is not None:
            starts.append(time.perf_counter())
        thread.between_events()
        _spin(work_seconds)
        if let_go:
            os.sched_yield()  # a system call: it lets the lock go
        left[0] -= 1
        if left[0] == 0:
            done.set()
        else:
            step(work)

    started = time.perf_counter()
    thread.loop.call_soon_threadsafe(work)
    assert done.wait(30)
    return time.perf_counter() - started


class _Cell:
    """A thread computing in pure Python (a busy cell); counts its milliseconds."""

    def __init__(self) -> None:
        self.ran = 0.0
        self._computing = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._compute)

    def _compute(self) -> None:
        while not self._stop.is_set():
            _spin(0.0005)
            self.ran += 0.0005
            self._computing.set()

    def __enter__(self) -> _Cell:
        self._thread.start()
        assert self._computing.wait(5)  # it computes before the loop's work starts
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_real_loop_behind_lets_a_computing_thread_run() -> None:
    thread = LoopThread(name="courtesy-test")
    try:
        _run(thread, thread.loop.call_soon, 40)  # behind, nobody else wants the lock
        assert thread.courtesy.pauses <= 2 and thread.courtesy.probes <= 5
        with _Cell() as cell:
            before = cell.ran
            wall = _run(thread, thread.loop.call_soon, 60)
            share = (cell.ran - before) / wall
        assert thread.courtesy.pauses >= 5
        assert share > 0.3, share  # without stepping aside it got under 10 %
    finally:
        thread.stop()


def test_a_real_loop_waiting_for_a_computing_thread_gets_the_lock_promptly() -> None:
    thread = LoopThread(name="courtesy-test")
    before = sys.getswitchinterval()
    try:
        with _Cell():
            # each event lets the lock go once, and the cell keeps it a switch interval
            starts: list[float] = []
            _run(thread, thread.loop.call_soon, 40, work_seconds=0.0001, let_go=True, starts=starts)
        assert thread.courtesy.watch.starvations >= 1
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # not a whole interval per event (seen: 5-6 ms each without the watch)
        assert statistics.median(gaps) < before / 2, gaps
        assert sys.getswitchinterval() == before  # the loop waits: the hold has ended
    finally:
        thread.stop()


def test_a_real_loop_that_keeps_up_never_steps_aside() -> None:
    thread = LoopThread(name="courtesy-test")
    try:
        with _Cell():
            # events of a quarter of the busy limit, each after a wait
            _run(thread, lambda work: thread.loop.call_later(0.003, work), 30, BUSY_LIMIT / 4)
        # a turn whose timer was already due when the loop got the lock back is no wait: a
        # loaded machine may make it step aside once or twice (seen: 1); a loop whose waits
        # did not count would step aside at every 4th event (7 times)
        assert thread.courtesy.probes <= 2
    finally:
        thread.stop()


def test_a_real_loop_behind_on_its_timers_lets_a_waiting_thread_in() -> None:
    # timers that are all due (a run of view updates, ~1 ms of rendering each) give way
    # between them as events do: the scheduler runs the courtesy before each callback. A
    # thread waking every 0.5 ms (a kernel thread answering) then gets the lock within a
    # millisecond, not after a whole switch interval (seen: 0.7 ms against 5.3 ms)
    thread = LoopThread(name="courtesy-test")
    scheduler = LoopScheduler(thread.loop, before=thread.between_events)
    done, stop = threading.Event(), threading.Event()
    left = [60]
    late: list[float] = []

    def render() -> None:
        _spin(0.001)
        left[0] -= 1
        if left[0] == 0:
            done.set()

    def arm() -> None:
        now = scheduler.now()
        for _ in range(left[0]):
            scheduler.call_at(now, render)

    def respond() -> None:
        asked = time.perf_counter()
        while not stop.wait(0.0005):  # wakes every 0.5 ms until stopped
            late.append(time.perf_counter() - asked - 0.0005)
            asked = time.perf_counter()

    responder = threading.Thread(target=respond)
    try:
        thread.loop.call_soon_threadsafe(arm)
        responder.start()
        assert done.wait(30)
    finally:
        stop.set()
        responder.join()
        thread.stop()
    assert statistics.median(late) < sys.getswitchinterval() / 2, late


def test_the_scheduler_runs_its_hook_before_each_timer() -> None:
    thread = LoopThread(name="courtesy-test")
    calls: list[str] = []
    scheduler = LoopScheduler(thread.loop, before=lambda: calls.append("before"))
    done = threading.Event()

    def arm() -> None:
        now = scheduler.now()
        scheduler.call_at(now, lambda: calls.append("first"))
        scheduler.call_at(now + 0.001, lambda: (calls.append("second"), done.set()))

    try:
        thread.loop.call_soon_threadsafe(arm)
        assert done.wait(5)
        assert calls == ["before", "first", "before", "second"]
    finally:
        thread.stop()
