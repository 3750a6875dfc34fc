"""Coalescing view updates: latest state wins, at most one flush per interval.

IOPub drops messages when flooded and jupyter_server cuts everything above 1000 messages per
second (jupyter-testing.md §6.4), so views never send one message per event: they
:meth:`~Throttle.poke` a throttle on every change and it flushes, with the full state, at
most every ``interval`` seconds. The last change is always flushed within ``interval``.
Everything runs on the supervisor's thread, on its scheduler.
"""

from __future__ import annotations

from collections.abc import Callable

from ..runtime.clock import Scheduler, TimerHandle


class Throttle:
    """Calls ``flush()`` at most once per ``interval`` seconds after :meth:`poke`.

    Parameters
    ----------
    scheduler
        The supervisor's scheduler (real or virtual time).
    interval
        Minimum seconds between two flushes (0.1: at most 10 per second), or a function
        returning it (so a shared budget can stretch it when many views are live).
    flush
        Renders and sends the current state.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        interval: float | Callable[[], float],
        flush: Callable[[], None],
    ) -> None:
        self.scheduler = scheduler
        self.interval: Callable[[], float] = (
            interval if callable(interval) else (lambda: float(interval))
        )
        self.flush = flush
        self._last = float("-inf")
        self._pending: TimerHandle | None = None
        self.closed = False
        self.flushes = 0

    def poke(self) -> None:
        """Something changed: flush soon (now, or when the interval allows)."""
        if self._pending is not None or self.closed:
            return
        when = max(self.scheduler.now(), self._last + self.interval())
        self._pending = self.scheduler.call_at(when, self._fire)

    def _fire(self) -> None:
        self._pending = None
        if self.closed:
            return
        self._last = self.scheduler.now()
        self.flushes += 1
        self.flush()

    def close(self) -> None:
        """Cancel a pending flush; later pokes do nothing."""
        self.closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
