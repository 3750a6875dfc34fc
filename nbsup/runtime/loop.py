"""The supervisor's private asyncio loop, on a daemon thread of its own.

The kernel's own loop shares the main thread with cell execution and stops while a cell
runs, so supervision cannot live there. Everything that touches a program's machine, its
process or its timers runs on this thread; other threads hand work over with :meth:`call`.
When it falls behind, it gives the kernel's threads a share of the interpreter
(:mod:`nbsup.runtime.courtesy`).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

from .courtesy import CourteousSelector, Courtesy

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running forever on a daemon thread.

    Parameters
    ----------
    name
        The thread's name (shown by debuggers and ``threading.enumerate()``).
    """

    def __init__(self, name: str = "nbsup-supervisor") -> None:
        self.courtesy = Courtesy()
        self.selector = CourteousSelector(self.courtesy)
        self.loop = asyncio.SelectorEventLoop(self.selector)
        self._requests: collections.deque[tuple[Callable[..., object], tuple[object, ...],
                                                concurrent.futures.Future[object]]] = (
            collections.deque()
        )  # fmt: skip
        self._serving = False
        #: Brings what the loop holds up to date (the driver's held records): called
        #: before each request and after it, so a request sees all that happened before
        #: it, and its caller all that it did.
        self.settle: Callable[[], None] = lambda: None
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def selector_returned_at(self) -> float:
        """When the loop's last wait for events ended (monotonic seconds): what it reported
        was known then (:attr:`CourteousSelector.returned_at`)."""
        return self.selector.returned_at

    @property
    def running(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def in_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self.thread

    def submit(self, function: Callable[..., T], *args: object) -> concurrent.futures.Future[T]:
        """Run ``function(*args)`` on the loop thread; return a future of its result.

        Requests jump the queue: besides being scheduled on the loop, they are served by
        :meth:`between_events`, which the driver calls between two events, so a request
        waits for at most one event's work even when the loop is saturated.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._requests.append((function, args, future))  # type: ignore[arg-type]
        self.loop.call_soon_threadsafe(self.serve_requests)
        return future

    def between_events(self) -> None:
        """Called by the driver before each event: give way if behind, then serve requests."""
        if not self._serving:
            self.courtesy.between_events()
        self.serve_requests()

    def serve_requests(self) -> None:
        """Run the pending requests (on the loop thread; re-entrant calls do nothing)."""
        if self._serving:
            return
        self._serving = True
        try:
            while self._requests:
                function, args, future = self._requests.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    self.settle()
                    result = function(*args)
                    self.settle()
                except BaseException as error:  # handed to the caller, who re-raises it
                    future.set_exception(error)
                else:
                    future.set_result(result)
        finally:
            self._serving = False

    def call(self, function: Callable[..., T], *args: object, timeout: float | None = None) -> T:
        """Run ``function(*args)`` on the loop thread and wait for its result.

        Called from the loop thread itself (e.g. in an observer), it runs at once.
        """
        if self.in_thread():
            result = function(*args)
            self.settle()
            return result
        return self.submit(function, *args).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait for the thread to end (idempotent)."""
        if self.loop.is_closed():
            return
        if self.in_thread():
            self.loop.stop()
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:
            return
        self.thread.join(timeout)
