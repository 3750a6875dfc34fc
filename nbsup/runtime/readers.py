"""The children's descriptors in one epoll, which is one reader of the loop.

Each child has three descriptors to watch: its stdout and stderr pipes and its pidfd. On
asyncio's own selector, adding and removing one reader costs ~20 µs of Python (a key, a
handle, a mapping lookup each way), against ~3 µs for the two ``epoll_ctl`` calls
underneath: 60 µs of the loop's work per restart, when a program restarting at once gives
the loop less than a millisecond per restart (see the restart-rate benchmark). So the
launcher keeps its children's descriptors in an epoll of its own, and the loop watches
that epoll alone: when it is readable, :meth:`Readers.dispatch` runs the callbacks of the
descriptors that are ready.

The loop's selector still reports the moment the readiness became known
(:meth:`nbsup.runtime.loop.LoopThread.selector_returned_at`), by which exits are dated.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable


class _Entry:
    """One descriptor's callback and arguments; ``callback`` is None once removed."""

    __slots__ = ("args", "callback")

    def __init__(self, callback: Callable[..., object] | None, args: tuple[object, ...]) -> None:
        self.callback = callback
        self.args = args


class Readers:
    """Read callbacks for many descriptors, behind one reader of ``loop``.

    Like ``loop.add_reader``: level-triggered, a callback runs on each turn of the loop
    while its descriptor is readable, and a removed descriptor's callback never runs again
    (not even for readiness reported in the same turn). An exception in a callback goes to
    the loop's exception handler and the other callbacks still run.

    Every method must be called on the loop's thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._epoll = select.epoll()
        self._entries: dict[int, _Entry] = {}
        loop.add_reader(self._epoll.fileno(), self.dispatch)

    def add(self, fd: int, callback: Callable[..., object], *args: object) -> None:
        """Call ``callback(*args)`` whenever ``fd`` is readable (replacing a callback
        ``fd`` had)."""
        old = self._entries.get(fd)
        if old is not None:
            old.callback = None
            self._epoll.modify(fd, select.EPOLLIN)
        else:
            self._epoll.register(fd, select.EPOLLIN)
        self._entries[fd] = _Entry(callback, args)

    def remove(self, fd: int) -> bool:
        """Stop watching ``fd`` (before it is closed); False if it was not watched."""
        entry = self._entries.pop(fd, None)
        if entry is None:
            return False
        entry.callback = None
        try:
            self._epoll.unregister(fd)
        except OSError:  # closed already: the kernel dropped it from the epoll
            pass
        return True

    def __contains__(self, fd: object) -> bool:
        return fd in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def dispatch(self) -> None:
        """Run the callbacks of the descriptors that are readable now."""
        entries = self._entries
        ready = [entries.get(fd) for fd, _ in self._epoll.poll(0, max(len(entries), 1))]
        for entry in ready:
            callback = None if entry is None else entry.callback
            if callback is None:
                continue  # removed meanwhile (by an earlier callback of this turn)
            try:
                callback(*entry.args)  # type: ignore[union-attr]
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as error:
                self.loop.call_exception_handler(
                    {"message": f"Exception in reader callback {callback!r}", "exception": error}
                )

    def close(self) -> None:
        """Stop watching every descriptor (they stay open: their owners close them)."""
        for entry in self._entries.values():
            entry.callback = None
        self._entries.clear()
        if not self._epoll.closed:
            if not self.loop.is_closed():
                self.loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
