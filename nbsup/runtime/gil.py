"""Getting the GIL back promptly when the supervisor's thread has something due.

While a cell computes in pure Python, the kernel's main thread holds the GIL and gives it
up only when another thread has waited a whole switch interval (5 ms by default). The
supervisor's thread waits that long after each wake-up, and again after each of the ~20
system calls a spawn makes (pipes, fork, closes, the watchdog's write): a backoff restart
came 10-30 ms late. Around the moments that matter, a timer about to fire and a spawn, the
interval is lowered to :data:`PROMPT_SWITCH_INTERVAL`, and restored right after.

Lowering it costs nothing while the supervisor's thread sleeps (it does not ask for the
GIL then), and a handful of extra switches in the busy thread while it works.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

#: The switch interval while something is due (0.1 ms).
PROMPT_SWITCH_INTERVAL = 0.0001


class GilPrompter:
    """Counts the reasons to keep the switch interval low; restores it when none is left.

    Call :meth:`hold` and :meth:`release` in pairs, on one thread (the supervisor's).
    """

    def __init__(self, interval: float = PROMPT_SWITCH_INTERVAL) -> None:
        self.interval = interval
        self.holds = 0
        self._previous: float | None = None

    def hold(self) -> None:
        if self.holds == 0:
            self._previous = sys.getswitchinterval()
            sys.setswitchinterval(min(self._previous, self.interval))
        self.holds += 1

    def release(self) -> None:
        if self.holds == 0:
            return
        self.holds -= 1
        if self.holds == 0 and self._previous is not None:
            sys.setswitchinterval(self._previous)
            self._previous = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        finally:
            self.release()


#: The process's one prompter (the switch interval is process-wide).
PROMPTER = GilPrompter()
