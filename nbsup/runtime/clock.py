"""Clocks and schedulers: the only place the driver learns the time or waits for it.

The driver needs ``now()`` (monotonic seconds), ``wall(monotonic)`` (epoch seconds, for
records) and ``call_at(when, callback)`` (one timer per deadline). :class:`LoopScheduler`
provides them on an asyncio loop; :class:`nbsup.testing.FakeClock` on virtual time.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from typing import Protocol

from .gil import PROMPTER


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What the driver needs from time."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wall(self, monotonic: float) -> float:
        """Epoch seconds of a monotonic time."""
        ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once, at monotonic time ``when`` (or at once if past)."""
        ...


class LoopScheduler:
    """Time on an asyncio loop: ``loop.time()`` is ``time.monotonic()``.

    Its timers run in one shared ``contextvars`` context (the driver uses none), so
    arming one does not copy a context each time. ``before`` runs before each timer's
    callback: the loop's courtesy (:mod:`nbsup.runtime.courtesy`), so a run of timers
    (deadlines, view updates) lets a waiting kernel thread in between two of them.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, before: Callable[[], None] | None = None
    ) -> None:
        self.loop = loop
        self.context = contextvars.copy_context()
        self.before = before

    def now(self) -> float:
        return self.loop.time()

    def wall(self, monotonic: float) -> float:
        return time.time() - (self.loop.time() - monotonic)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return _PreciseTimer(self.loop, when, callback, self.context, self.before)


_last_second: list[tuple[int, str]] = [(-1, "")]


def local_second(second: int) -> str:
    """``2026-11-27 01:02:03``: an epoch second in local time (strftime once per second:
    log lines, markers and line stamps ask for it many times a second)."""
    cached, text = _last_second[0]
    if second != cached:
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        _last_second[0] = (second, text)
    return text


#: Waits longer than this are cut short and re-armed (see :class:`_PreciseTimer`).
SHORT_WAIT = 0.05
#: How long before its deadline a timer lowers the GIL switch interval: more than the 5 ms
#: this thread may wait for the GIL to wake up for it while a cell computes.
PROMPT_LEAD = 0.02


class _PreciseTimer:
    """A loop timer that fires on time, even after a long wait.

    Linux lets a poll/epoll wait of ``t`` seconds end up to ``t/1000`` late (timer slack,
    at most 0.1 s): a plain 10 s ``call_at`` fires ~10 ms late. So a long wait wakes up 1%
    early (well inside the slack) and re-arms for the rest, until the rest is short.
    """

    __slots__ = ("_holding", "before", "callback", "context", "handle", "loop", "when")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        when: float,
        callback: Callable[[], None],
        context: contextvars.Context | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        self.loop = loop
        self.before = before
        self.when = when
        self.callback = callback
        self.context = context
        self.handle: asyncio.TimerHandle | None = None
        self._holding = False
        self._arm()

    def _arm(self) -> None:
        loop, context = self.loop, self.context
        remaining = self.when - loop.time()
        if remaining > SHORT_WAIT:
            self.handle = loop.call_at(self.when - remaining / 100, self._arm, context=context)
        elif remaining > PROMPT_LEAD:  # wake up once more, to take the GIL in time
            self.handle = loop.call_at(self.when - PROMPT_LEAD, self._arm, context=context)
        else:
            if remaining > 0 and not self._holding:
                # due in a moment and the loop may sleep till then: take the GIL promptly
                # when it wakes, even from a busy cell (runtime/gil.py)
                PROMPTER.hold()
                self._holding = True
            self.handle = loop.call_at(self.when, self._fire, context=context)

    def _fire(self) -> None:
        self.handle = None  # no cycle timer -> handle -> bound method -> timer once fired
        try:
            if self.before is not None:
                self.before()
            self.callback()
        finally:
            self._let_go()

    def _let_go(self) -> None:
        if self._holding:
            self._holding = False
            PROMPTER.release()

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self._let_go()
