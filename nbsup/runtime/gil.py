"""Getting the GIL back promptly when the supervisor's thread has something due.

While a cell computes in pure Python, the kernel's main thread holds the GIL and gives it
up only when another thread has waited a whole switch interval (5 ms by default). The
supervisor's thread waits that long after each wake-up, and again after each of the ~20
system calls it makes (reading output, writing logs, a spawn's pipes, fork and closes): a
program writing 10 MB/s kept the loop that far behind, and a backoff restart came 15-40 ms
late. So the interval is lowered to :data:`PROMPT_SWITCH_INTERVAL` while the supervisor's
thread works (from the end of each wait in its selector to the next,
:class:`~nbsup.runtime.courtesy.CourteousSelector`), while it sleeps just before a timer
fires (:mod:`nbsup.runtime.clock`) and during a spawn; it is restored when none of these
holds.

Lowering it costs nothing while the supervisor's thread sleeps (it does not ask for the
GIL then), and a handful of extra switches in the busy thread while it works. The loop
still waits up to 5 ms for the GIL when it wakes up for an exit or output: the interval is
the usual one while it sleeps, so that threads of the user's that compute side by side
switch as often as they would without nbsup.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

#: The switch interval while something is due (0.1 ms).
PROMPT_SWITCH_INTERVAL = 0.0001


class GilPrompter:
    """Counts the reasons to keep the switch interval low; restores it when none is left.

    Call :meth:`hold` and :meth:`release` in pairs; several supervisors' threads may.
    """

    def __init__(self, interval: float = PROMPT_SWITCH_INTERVAL) -> None:
        self.interval = interval
        self.holds = 0
        self._previous: float | None = None
        self._lock = threading.Lock()

    def hold(self) -> None:
        with self._lock:
            if self.holds == 0:
                self._previous = sys.getswitchinterval()
                sys.setswitchinterval(min(self._previous, self.interval))
            self.holds += 1

    def release(self) -> None:
        with self._lock:
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
