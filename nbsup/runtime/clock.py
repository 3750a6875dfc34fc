"""Clocks and schedulers: the only place the driver learns the time or waits for it.

The driver needs ``now()`` (monotonic seconds), ``wall(monotonic)`` (epoch seconds, for
records) and ``call_at(when, callback)`` (one timer per deadline). :class:`LoopScheduler`
provides them on an asyncio loop; :class:`nbsup.testing.FakeClock` on virtual time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


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
    """Time on an asyncio loop: ``loop.time()`` is ``time.monotonic()``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def now(self) -> float:
        return self.loop.time()

    def wall(self, monotonic: float) -> float:
        return time.time() - (self.loop.time() - monotonic)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return self.loop.call_at(when, callback)
