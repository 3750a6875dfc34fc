"""Waiting for programs to reach states: one wake-up per wait, however many programs.

A :class:`StateWaiter` watches one program for a set of states; it arrives at a
:class:`Latch` when the program reaches one. Waiting for 1,000 programs side by side
(``stop_all``, ``startAllProcesses``) shares one latch: the waiting thread sleeps on one
event and wakes once, when the last program arrives, instead of 1,000 times while the
supervisor's thread is busy handling their exits (each wake-up took the interpreter lock
from it, and each waiter's own ``threading.Event`` added garbage-collected objects).

Waiters are registered and reached under the program's lock (:class:`WaiterList`), so any
thread may register one without a hop to the supervisor's thread: the supervisor's thread
updates the state first and then looks at the waiters, and a registering thread reads the
state and adds its waiter in one step, so a transition is never missed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .core.states import ProcessState


class Latch:
    """An event set once every expected arrival has happened.

    It starts expecting one arrival: the caller's own, made by :meth:`release` once it has
    added (:meth:`expect`) all the others, so arrivals during set-up cannot set it early.
    """

    __slots__ = ("_left", "_lock", "event")

    def __init__(self) -> None:
        self._left = 1
        self._lock = threading.Lock()
        self.event = threading.Event()

    def expect(self) -> None:
        """One more arrival is needed."""
        with self._lock:
            self._left += 1

    def arrive(self) -> None:
        """One expected arrival happened (the last one sets :attr:`event`)."""
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done:
            self.event.set()

    release = arrive


class StateWaiter:
    """Waits for one program to enter one of ``targets``; ``reached`` says which it entered."""

    __slots__ = ("latch", "reached", "targets")

    def __init__(self, targets: frozenset[ProcessState], latch: Latch) -> None:
        self.targets = targets
        self.latch = latch
        self.reached: ProcessState | None = None
        latch.expect()

    def reach(self, state: ProcessState) -> None:
        self.reached = state
        self.latch.arrive()


class WaiterList:
    """One program's pending waiters, safe to add to from any thread."""

    __slots__ = ("_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[StateWaiter] = []

    def __bool__(self) -> bool:
        return bool(self._waiters)

    def add(self, waiter: StateWaiter, current: Callable[[], ProcessState]) -> None:
        """Register ``waiter``; it is reached at once if ``current()`` is one of its targets."""
        with self._lock:
            state = current()
            if state not in waiter.targets:
                self._waiters.append(waiter)
                return
        waiter.reach(state)

    def discard(self, waiter: StateWaiter) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def entered(self, state: ProcessState) -> None:
        """The program entered ``state`` (called after the state is visible to readers)."""
        with self._lock:
            reached = [w for w in self._waiters if state in w.targets]
            if not reached:
                return
            self._waiters = [w for w in self._waiters if state not in w.targets]
        for waiter in reached:
            waiter.reach(state)


__all__ = ["Latch", "StateWaiter", "WaiterList"]
