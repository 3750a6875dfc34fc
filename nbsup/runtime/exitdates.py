"""When each program's exit became known, even while the loop was busy.

The loop learns of an exit when its selector reports the program's pidfd readable. Two
things can make the callback run well after that moment, and the EXITED record late:

* several programs exit together: the selector reports them all at once, and the loop
  restarts the first ones (a spawn each, 0.3–2 ms) before it gets to the others;
* a program exits while the loop spawns another: the loop is inside ``posix_spawn`` until
  the new process has called ``exec``, which takes milliseconds when the cores are busy
  (16 Python programs restarting together).

So each exit is dated by the earliest of: when the selector that reported it returned;
when a quick look after a spawn (``epoll_wait`` with no timeout on the pidfds alone, each
reported once) found it; and, for an exit during a spawn, when a watcher thread saw it.
The spawn lets go of the interpreter lock (:mod:`.spawner`), so the watcher runs at once.
It waits only during spawns: the pidfds' epoll, which is in the watcher's own epoll, is
enabled there for the length of each spawn (two ``epoll_ctl`` calls), and an exit outside a
spawn wakes no thread but the loop.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable


class ExitDates:
    """Dates the exits that pidfds report.

    Parameters
    ----------
    clock
        Monotonic seconds (the loop's ``time``); called from the watcher thread too.
    reported_at
        When the loop's selector last returned (monotonic seconds), if known.
    """

    def __init__(
        self, clock: Callable[[], float], reported_at: Callable[[], float] | None = None
    ) -> None:
        self.clock = clock
        self.reported_at = reported_at
        self._epoll = select.epoll()
        self._noted: dict[int, float] = {}
        self._watcher: _SpawnWatcher | None = None
        #: Held from a look's ``epoll_wait`` to its notes, and while a pidfd is forgotten: a
        #: note is never taken for a descriptor closed meanwhile (its number reused).
        self._lock = threading.Lock()

    def watch(self, pidfd: int) -> None:
        """Look at ``pidfd`` after each spawn, until it is reported once."""
        self._epoll.register(pidfd, select.EPOLLIN | select.EPOLLONESHOT)

    def look(self) -> None:
        """Note the exits that happened since the last look (after a spawn)."""
        with self._lock:
            ready = self._epoll.poll(0)
            if ready:
                now = self.clock()
                for fd, _ in ready:
                    self._noted.setdefault(fd, now)

    def during_spawn(self) -> _SpawnWatcher:
        """A context manager: the watcher thread notes the exits that happen within."""
        if self._watcher is None:
            self._watcher = _SpawnWatcher(self._epoll.fileno(), self.look)
        return self._watcher

    def date(self, pidfd: int) -> float:
        """When the exit that ``pidfd``'s readiness reports became known (the selector has
        just reported it); a note taken by :meth:`look` is used once."""
        seen = self.clock()
        if self.reported_at is not None:
            seen = min(seen, self.reported_at())
        noted = self._noted.pop(pidfd, None)
        if noted is not None:
            seen = min(seen, noted)
        return seen

    def forget(self, pidfd: int) -> None:
        """``pidfd`` is about to be closed."""
        with self._lock:
            self._noted.pop(pidfd, None)
            try:
                self._epoll.unregister(pidfd)
            except (OSError, ValueError):  # never registered, or already closed
                pass

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        self._epoll.close()


class _SpawnWatcher:
    """A thread that calls ``look`` when the pidfds' epoll has news, while armed."""

    def __init__(self, pidfds_epoll: int, look: Callable[[], None]) -> None:
        self._inner = pidfds_epoll
        self._look = look
        self._outer = select.epoll()
        self._wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self._outer.register(self._wake, select.EPOLLIN)
        # In once, disarmed: adding an epoll to another walks every descriptor it holds
        # (the kernel's loop check, ~0.1 ms with 1,000 pidfds), changing its events does not.
        self._outer.register(self._inner, 0)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="nbsup-exit-dates", daemon=True)
        self._thread.start()

    # armed for the length of a ``with`` block (a class, not a generator: it is on the
    # path from each exit to the next start)
    def __enter__(self) -> None:
        self._outer.modify(self._inner, select.EPOLLIN)

    def __exit__(self, *exc_info: object) -> None:
        self._outer.modify(self._inner, 0)

    def _run(self) -> None:
        while True:
            ready = self._outer.poll()
            if self._closing:
                return
            if any(fd == self._inner for fd, _ in ready):
                self._look()

    def close(self) -> None:
        self._closing = True
        os.eventfd_write(self._wake, 1)
        self._thread.join(timeout=5)
        self._outer.close()
        os.close(self._wake)
