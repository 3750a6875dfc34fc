"""Runners host a driver: on a private loop thread with real processes, or inline on
virtual time. The model (``nbsup.Supervisor``) talks only to this interface.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from .clock import LoopScheduler
from .driver import Driver, TransitionListener
from .journal import Journal
from .launcher import LocalLauncher
from .launcher_interface import Launcher
from .loop import LoopThread

T = TypeVar("T")


class Runner(Protocol):
    """Where a supervisor's driver lives and how other threads reach it."""

    driver: Driver

    def call(self, function: Callable[..., T], *args: object) -> T:
        """Run ``function(*args)`` where the driver lives and return its result."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Block until ``event`` is set (True) or ``timeout`` seconds pass (False)."""
        ...

    def in_driver_thread(self) -> bool: ...

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop every program by its stop rules, then release everything (idempotent)."""
        ...


def _shutdown_driver(driver: Driver, done: threading.Event) -> None:
    def complete() -> None:
        done.set()

    driver.on_shutdown_complete = complete
    driver.shutdown()


#: After a shutdown timed out and everything left got SIGKILL: how long to wait for their
#: exits to be recorded before the files are closed.
KILL_GRACE = 2.0


def _kill_remaining(driver: Driver) -> None:
    """SIGKILL every program still running, with supervisord's log line; their exits are
    then recorded as any other (STOPPING -> STOPPED, terminated by SIGKILL)."""
    for name, slot in driver.slots.items():
        process = slot.process
        if process is None:
            continue
        if driver.journal is not None:
            now = driver.scheduler.now()
            message = f"killing '{name}' ({process.pid}) with SIGKILL"
            driver.journal.log(driver.scheduler.wall(now), "WARN", message)
        with contextlib.suppress(OSError):
            driver.launcher.signal(process, signal.SIGKILL, group=True)


class ThreadRunner:
    """Real processes, supervised from a private asyncio loop on a daemon thread.

    Parameters
    ----------
    on_transition
        Called on the loop thread for every transition.
    folder
        The session's state folder (event file, supervisord.log, ``logs/``).
    tail_bytes
        In-memory output tail per channel.
    """

    def __init__(self, on_transition: TransitionListener, folder: Path, tail_bytes: int) -> None:
        self.folder = folder
        self.thread = LoopThread()
        self._closed = False
        self._lock = threading.Lock()

        def build() -> Driver:
            scheduler = LoopScheduler(self.thread.loop, before=self.thread.between_events)
            launcher: Launcher = LocalLauncher(
                self.thread.loop, reported_at=self.thread.selector_returned_at
            )
            journal = Journal(folder)
            journal.log(time.time(), "INFO", f"nbsup started with pid {os.getpid()}")
            return Driver(
                scheduler,
                launcher,
                on_transition,
                journal=journal,
                log_folder=folder / "logs",
                tail_bytes=tail_bytes,
            )

        self.driver = self.thread.call(build)
        self.driver.between_events = self.thread.between_events
        # the records of one turn of the loop are written together, at its end
        self.driver.recorder.defer = self.thread.loop.call_soon
        self.thread.settle = self.driver.flush_notes

    def call(self, function: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise RuntimeError("this supervisor has been shut down")
        return self.thread.call(function, *args)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.wait(timeout)

    def in_driver_thread(self) -> bool:
        return self.thread.in_thread()

    def shutdown(self, timeout: float | None = None) -> bool:
        with self._lock:
            if self._closed:
                return True
            self._closed = True
        done = threading.Event()
        self.thread.call(_shutdown_driver, self.driver, done)
        finished = done.wait(timeout)
        if not finished:  # the stop rules ran out of time: SIGKILL, and record the ends
            self.thread.call(_kill_remaining, self.driver)
            done.wait(KILL_GRACE)
        self.thread.call(self._release)
        self.thread.stop()
        return finished

    def _release(self) -> None:
        self.driver.close()
        self.driver.launcher.close()


class InlineRunner:
    """The driver on virtual time, in the caller's thread (simulations and tests).

    ``wait`` moves the fake clock forward until the event is set or the timeout passes.
    """

    def __init__(self, driver: Driver, run_until: Callable[[float, Callable[[], bool]], bool]):
        self.driver = driver
        self._run_until = run_until
        self._closed = False

    def call(self, function: Callable[..., T], *args: object) -> T:
        return function(*args)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        horizon = self.driver.scheduler.now() + (timeout if timeout is not None else 1e9)
        return self._run_until(horizon, event.is_set)

    def in_driver_thread(self) -> bool:
        return False

    def shutdown(self, timeout: float | None = None) -> bool:
        if self._closed:
            return True
        self._closed = True
        done = threading.Event()
        _shutdown_driver(self.driver, done)
        finished = self.wait(done, timeout)
        self.driver.close()
        return finished
