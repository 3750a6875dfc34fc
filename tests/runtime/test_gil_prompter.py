"""The switch interval is lowered exactly while a timer is about to fire, a spawn runs, or
the supervisor's loop works (tests/runtime/test_courtesy.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys

import pytest

from nbsup.runtime.clock import PROMPT_LEAD, SHORT_WAIT, LoopScheduler
from nbsup.runtime.gil import PROMPT_SWITCH_INTERVAL, PROMPTER, GilPrompter


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
        due = scheduler.call_at(
            loop.time() + PROMPT_LEAD / 2, lambda: seen.append(sys.getswitchinterval())
        )
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_INTERVAL)
        cancelled = scheduler.call_at(loop.time() + PROMPT_LEAD / 2, lambda: seen.append(-1.0))
        assert PROMPTER.holds == 2
        cancelled.cancel()
        assert PROMPTER.holds == 1
        scheduler.call_at(loop.time() - 1, lambda: seen.append(-2.0))  # overdue: no hold
        assert PROMPTER.holds == 1
        loop.run_until_complete(asyncio.sleep(PROMPT_LEAD * 2))
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
