"""Letting the kernel run when the supervisor's loop has more work than it can do.

The loop thread and the kernel's threads share one interpreter lock. While the loop keeps
up, it sleeps in ``epoll`` between events and the kernel never waits for it. When more is
due than it can do (hundreds of programs crash-looping with a short ``restartpause``), it
would run without a break, and every execute request would queue behind its work for the
lock. So, once it has worked :data:`BUSY_LIMIT` without catching up, it sleeps
:data:`PAUSE` (the lock released) before its next event: the kernel's threads get the
interpreter at least that share of the time, and the backlog is worked off a little later.

"Caught up" means the loop asked the selector to wait (a timeout other than zero): nothing
was ready. A loop that keeps up never pauses, however many events it handles.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable

#: Continuous work (seconds) after which the loop gives way.
BUSY_LIMIT = 0.010
#: How long it gives way (seconds).
PAUSE = 0.002


class Courtesy:
    """Counts the loop's continuous work and pauses it once it exceeds ``busy_limit``.

    Parameters
    ----------
    busy_limit, pause
        Seconds of continuous work allowed, and of the pause that follows.
    clock, sleep
        ``time.monotonic`` and ``time.sleep`` (injectable for tests).
    """

    def __init__(
        self,
        busy_limit: float = BUSY_LIMIT,
        pause: float = PAUSE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.busy_limit = busy_limit
        self.pause = pause
        self.clock = clock
        self.sleep = sleep
        self.busy_since = clock()
        #: Pauses taken so far (how often the loop was behind).
        self.pauses = 0

    def caught_up(self) -> None:
        """The loop has nothing ready: its continuous work starts again from zero."""
        self.busy_since = self.clock()

    def between_events(self) -> None:
        """Called before each event: pause if the loop has worked too long without a break."""
        if self.clock() - self.busy_since > self.busy_limit:
            self.pauses += 1
            self.sleep(self.pause)
            self.busy_since = self.clock()


class CourteousSelector(selectors.EpollSelector):
    """The loop's selector: tells ``courtesy`` each time the loop waits for something."""

    def __init__(self, courtesy: Courtesy) -> None:
        super().__init__()
        self.courtesy = courtesy

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout > 0:
            self.courtesy.caught_up()
        return super().select(timeout)
