"""Letting the kernel run when the supervisor's loop has more work than it can do.

The loop thread and the kernel's threads share one interpreter lock. While the loop keeps
up, it sleeps in ``epoll`` between events and the kernel never waits for it. When more is
due than it can do (hundreds of programs crash-looping with a short ``restartpause``), it
works without a break, and CPython's lock then starves the kernel: the loop lets the lock
go at each of its many system calls and takes it back before a waiting thread has woken
up, and each such release restarts the waiter's 5 ms wait for a forced switch. Measured: a
thread computing next to a loop that is behind got 5 ms of 68; execute round trips took
twice as long as an idle kernel's.

So after each :data:`BUSY_LIMIT` of work (its own CPU time: a thread that preempted it
does not count) without catching up, the loop looks at whether any other thread of the
process ran meanwhile. If none did, nobody waits for the lock (a thread waiting for it
wakes at each of the loop's releases, and that shows as CPU time), and the loop goes on
without a break. Otherwise it steps aside for :data:`PROBE` (a sleep, the lock released):
long enough for a waiting thread to take the lock. If the process's other threads used more
than :data:`CONTENDED` meanwhile, a thread of the kernel took the lock: it is answering a
request or running a cell, and the loop gives it up to :data:`PAUSE` more before its next
event, in slices of :data:`PAUSE_SLICE`, as long as that thread keeps running (a thread that
only collected the result of its request runs a moment and blocks: the loop does not wait 2 ms
for it, and a timer due meanwhile is not kept waiting).
(Other processes taking the CPU, children starting for instance, do not count: waiting for
them would only make the loop later.) A loop that keeps up never steps aside.

"Caught up" means the loop waited in the selector (a timeout other than zero).

The driver calls :meth:`Courtesy.between_events` (through the loop thread's
``between_events``) before each event, and the scheduler before each timer's callback, so
a run of due timers (the views' updates, a few ms of rendering each) gives way too.

The selector and :meth:`Courtesy.between_events` are also the checkpoints of a
:class:`~nbsup.runtime.gil.StarvationWatch`: once the loop has waited for the lock a whole
switch interval (a cell computing in pure Python), the interval is kept short for a while.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable

from .gil import StarvationWatch

#: CPU seconds of work without catching up after which the loop looks whether another
#: thread ran (and then steps aside): a thread of the kernel waits at most about this long.
BUSY_LIMIT = 0.001
#: How long it steps aside (seconds): a waiting thread wakes and takes the lock by then.
PROBE = 0.0001
#: CPU seconds the process's other threads used while the loop stepped aside, above which
#: one of them took the lock.
CONTENDED = 0.00005
#: CPU seconds the other threads must have used during a stretch for the loop to step
#: aside: a thread waiting for the lock wakes at each release, for several µs each time;
#: below it is the noise of reading two clocks one after the other.
STIRRING = 0.000003
#: How much longer the loop then waits at most (seconds), for the kernel to finish
#: uncontended.
PAUSE = 0.002
#: The pause is made of sleeps this long; it ends after one in which the other threads used
#: less than :data:`CONTENDED`.
PAUSE_SLICE = 0.0005


def other_threads_cpu() -> float:
    """CPU seconds used so far by this process's threads other than the calling one."""
    return time.process_time() - time.thread_time()


class Courtesy:
    """Watches the loop's stretches of continuous work and steps aside between them.

    Parameters
    ----------
    busy_limit, probe, contended, pause, pause_slice
        See :data:`BUSY_LIMIT`, :data:`PROBE`, :data:`CONTENDED`, :data:`PAUSE` and
        :data:`PAUSE_SLICE`.
    clock, others, sleep
        The loop thread's CPU seconds (``time.thread_time``), those of the process's other
        threads (:func:`other_threads_cpu`) and ``time.sleep`` (injectable for tests).
    """

    def __init__(
        self,
        busy_limit: float = BUSY_LIMIT,
        probe: float = PROBE,
        contended: float = CONTENDED,
        pause: float = PAUSE,
        pause_slice: float = PAUSE_SLICE,
        clock: Callable[[], float] = time.thread_time,
        others: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.busy_limit = busy_limit
        self.probe = probe
        self.contended = contended
        self.pause = pause
        self.pause_slice = pause_slice
        self.clock = clock
        self.others = others if others is not None else other_threads_cpu
        self.sleep = sleep
        #: Checked before each event and at each turn of the loop.
        self.watch = StarvationWatch()
        self.busy_since: float | None = None  # read on the loop's thread, from its first event
        self.others_since = 0.0  # the other threads' CPU time when the stretch began
        #: Times the loop stepped aside, and times it found the kernel wanting the lock.
        self.probes = 0
        self.pauses = 0

    def caught_up(self) -> None:
        """The loop has nothing ready: its continuous work starts again from zero (and so
        does its waiting for the lock: its own sleeps are no waiting)."""
        self.busy_since = self.clock()
        self.others_since = self.others()
        self.watch.mark()

    def between_events(self) -> None:
        """Called before each event: step aside after a long stretch of work."""
        self.watch.check()
        if self.busy_since is None:
            self.caught_up()
            return
        if self.clock() - self.busy_since <= self.busy_limit:
            return
        before = self.others()
        if before - self.others_since < STIRRING:  # no other thread ran: nobody waits
            self.caught_up()
            return
        self.probes += 1
        self.sleep(self.probe)
        others = self.others()
        if others - before > self.contended:
            self.pauses += 1
            paused = 0.0
            while paused < self.pause:  # while the thread that took the lock keeps running
                self.sleep(self.pause_slice)
                paused += self.pause_slice
                before, others = others, self.others()
                if others - before <= self.contended:
                    break
        self.caught_up()  # a new stretch starts


class CourteousSelector(selectors.EpollSelector):
    """The loop's selector: tells ``courtesy`` each time the loop has waited, and its
    starvation watch each time the loop turns (:mod:`nbsup.runtime.gil`)."""

    def __init__(self, courtesy: Courtesy) -> None:
        super().__init__()
        self.courtesy = courtesy
        #: ``time.monotonic()`` when the last ``select`` returned: what it reported was
        #: known then, however long the loop takes to get to each callback.
        self.returned_at = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        watch = self.courtesy.watch
        waits = timeout is None or timeout > 0
        if waits:
            watch.before_wait(timeout)
        else:
            watch.check()
        ready = super().select(timeout)
        self.returned_at = time.monotonic()
        if waits:  # it waited: a stretch starts now that it runs
            self.courtesy.caught_up()
        return ready

    def close(self) -> None:
        self.courtesy.watch.let_go()
        super().close()
