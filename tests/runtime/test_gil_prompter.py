"""The switch interval is lowered exactly while a timer is about to fire, a spawn runs, or
for a while after the loop waited a whole interval for the lock."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys

import pytest

from nbsup.runtime.clock import PROMPT_LEAD, SHORT_WAIT, LoopScheduler
from nbsup.runtime.gil import (
    PROMPT_FOR,
    PROMPT_SWITCH_INTERVAL,
    PROMPTER,
    STARVED,
    GilPrompter,
    StarvationWatch,
)


def test_holds_nest_and_restore_the_previous_interval() -> None:
    before = sys.getswitchinterval()
    prompter = GilPrompter(interval=0.0002)
    prompter.hold()
    prompter.hold()
    assert sys.getswitchinterval() == pytest.approx(0.0002)
    prompter.release()
    assert sys.getswitchinterval() == pytest.approx(0.0002)
    prompter.release()
    assert sys.getswitchinterval() == before
    prompter.release()  # an extra release changes nothing
    assert sys.getswitchinterval() == before


def test_a_timer_lowers_the_interval_only_just_before_it_fires() -> None:
    # on a thread of its own: another test may have left a running loop on this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(timer_checks).result(timeout=30)


def timer_checks() -> None:
    before = sys.getswitchinterval()
    loop = asyncio.new_event_loop()
    try:
        scheduler = LoopScheduler(loop)
        seen: list[float] = []
        far = scheduler.call_at(loop.time() + 10 * SHORT_WAIT, lambda: None)
        soon = scheduler.call_at(loop.time() + (SHORT_WAIT + PROMPT_LEAD) / 2, lambda: None)
        assert sys.getswitchinterval() == before and PROMPTER.holds == 0
        fired = loop.create_future()

        def on_due() -> None:
            seen.append(sys.getswitchinterval())
            fired.set_result(None)  # the loop stops once this timer has let go

        due = scheduler.call_at(loop.time() + PROMPT_LEAD / 2, on_due)
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_INTERVAL)
        cancelled = scheduler.call_at(loop.time() + PROMPT_LEAD / 2, lambda: seen.append(-1.0))
        assert PROMPTER.holds == 2
        cancelled.cancel()
        assert PROMPTER.holds == 1
        scheduler.call_at(loop.time() - 1, lambda: seen.append(-2.0))  # overdue: no hold
        assert PROMPTER.holds == 1
        loop.run_until_complete(asyncio.wait_for(fired, timeout=5))
        assert seen[0] == -2.0 or seen[1] == -2.0
        assert pytest.approx(PROMPT_SWITCH_INTERVAL) in seen  # it ran with the low interval
        assert sys.getswitchinterval() == before  # ...restored right after
        assert PROMPTER.holds == 0
        soon.cancel()
        far.cancel()
        assert PROMPTER.holds == 0
        del due
    finally:
        loop.close()


class _Clocks:
    """Wall and CPU seconds of the loop's thread, moved by hand."""

    def __init__(self) -> None:
        self.wall = 10.0
        self.cpu = 1.0
        self.others = 5.0

    def work(self, seconds: float, waited: float = 0.0, preempted: bool = False) -> None:
        """The loop works ``seconds`` and waits ``waited`` meanwhile: for the lock (another
        thread of ours runs), or for a core (``preempted``: other processes run)."""
        self.cpu += seconds
        self.wall += seconds + waited
        if not preempted:
            self.others += waited

    def watch(self, prompter: GilPrompter) -> StarvationWatch:
        return StarvationWatch(
            prompter, wall=lambda: self.wall, cpu=lambda: self.cpu, others=lambda: self.others
        )


def test_a_wait_of_a_whole_interval_for_the_lock_lowers_it_for_a_while() -> None:
    before = sys.getswitchinterval()
    clocks, prompter = _Clocks(), GilPrompter(interval=before / 10)
    watch = clocks.watch(prompter)
    watch.mark()
    for _ in range(50):  # a kernel thread taking the lock 1 ms at a time: left alone
        clocks.work(0.0005, waited=0.001)
        watch.check()
    assert prompter.holds == 0 and watch.starvations == 0
    clocks.work(0.0005, waited=0.005)  # a cell computing: it let go only when forced
    watch.check()
    assert prompter.holds == 1 and watch.starvations == 1
    assert sys.getswitchinterval() == pytest.approx(before / 10)
    clocks.work(PROMPT_FOR / 2)
    watch.before_wait(0.01)  # a short wait: the hold goes on
    assert prompter.holds == 1
    clocks.work(PROMPT_FOR / 2)
    watch.check()  # its time is up
    assert prompter.holds == 0 and sys.getswitchinterval() == before


def test_the_hold_ends_before_a_wait_that_outlasts_it() -> None:
    clocks, prompter = _Clocks(), GilPrompter()
    watch = clocks.watch(prompter)
    watch.mark()
    clocks.work(0.0001, waited=STARVED * 1.5)
    watch.check()
    assert prompter.holds == 1
    watch.before_wait(None)  # nothing to do until an event: the user's threads as usual
    assert prompter.holds == 0
    watch.mark()  # it woke up: the time asleep was no waiting for the lock
    clocks.work(0.0001)
    watch.check()
    assert prompter.holds == 0 and watch.starvations == 1


def test_waiting_for_a_core_is_no_reason() -> None:
    clocks, prompter = _Clocks(), GilPrompter()
    watch = clocks.watch(prompter)
    watch.mark()
    for _ in range(5):  # children starting take the cores for 5 ms at a time
        clocks.work(0.0001, waited=0.005, preempted=True)
        watch.check()
    assert prompter.holds == 0 and watch.starvations == 0
