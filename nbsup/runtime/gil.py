"""Getting the GIL back promptly when the supervisor's thread has something due.

While a cell computes in pure Python, the kernel's main thread holds the GIL and gives it
up only when another thread has waited a whole switch interval (5 ms by default). The
supervisor's thread waits that long after each wake-up, and again after each of the
system calls it makes (reading output, writing logs, a spawn's pipes, fork and closes): a
program writing 10 MB/s kept the loop that far behind, and a backoff restart came 15-40 ms
late. So the interval is lowered to :data:`PROMPT_SWITCH_INTERVAL`

* while the supervisor's thread sleeps just before a timer fires (:mod:`nbsup.runtime.clock`),
* during a spawn,
* and for :data:`PROMPT_FOR` once the loop has waited for the lock about a whole switch
  interval at once (:class:`StarvationWatch`): another thread computes without letting go.

A thread of the kernel answering a request lets go within a millisecond or two by itself,
and is better left to finish without being interrupted every 0.1 ms: lowering the interval
whenever the loop works made execute round trips 1.5 ms slower while 200 programs flapped.

Lowering it costs nothing while the supervisor's thread sleeps (it does not ask for the GIL
then), and a handful of extra switches in the busy thread while it works.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator

#: The switch interval while something is due (0.1 ms).
PROMPT_SWITCH_INTERVAL = 0.0001
#: Seconds the loop waited for the lock between two of its checkpoints (its wall time less
#: its CPU time) that show another thread kept the lock until forced to let go (the usual
#: switch interval is 5 ms).
STARVED = 0.0045
#: How long the interval then stays low (seconds): long enough for the next few timers and
#: spawns, short enough that a kernel thread which only once kept the lock long is soon left
#: to run without interruptions again.
PROMPT_FOR = 0.05


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


class StarvationWatch:
    """Holds ``prompter`` for :data:`PROMPT_FOR` once the loop waited :data:`STARVED` for
    the lock between two checkpoints; used on the loop's thread only.

    The loop also waits without CPU time when other processes take the cores (children
    starting): that is no reason, so the process's other threads must have run for at least
    half of the loop's waiting since it last woke up.

    Parameters
    ----------
    prompter
        What to hold (default: the process's one, :data:`PROMPTER`).
    wall, cpu, others
        Wall seconds, the loop thread's CPU seconds and the process's other threads' CPU
        seconds (injectable for tests).
    """

    def __init__(
        self,
        prompter: GilPrompter | None = None,
        wall: Callable[[], float] = time.perf_counter,
        cpu: Callable[[], float] = time.thread_time,
        others: Callable[[], float] = lambda: time.process_time() - time.thread_time(),
    ) -> None:
        self.prompter = prompter if prompter is not None else PROMPTER
        self.wall = wall
        self.cpu = cpu
        self.others = others
        self.marks: tuple[float, float] | None = None  # at the last checkpoint
        self.woke: tuple[float, float, float] | None = None  # wall, cpu, others at the wake
        self.holding_until: float | None = None
        #: Times the loop was found waiting for the lock.
        self.starvations = 0

    def mark(self) -> None:
        """The loop starts working (after a wait): waiting for the lock counts from now."""
        wall, cpu = self.wall(), self.cpu()
        self.marks = (wall, cpu)
        self.woke = (wall, cpu, self.others())

    def check(self) -> None:
        """A checkpoint while working: hold the prompter if the loop waited for the lock
        since the last one; let it go once :data:`PROMPT_FOR` has passed."""
        wall, cpu = self.wall(), self.cpu()
        if self.holding_until is not None:
            if wall >= self.holding_until:
                self.let_go()
        elif (
            self.marks is not None
            and (wall - self.marks[0]) - (cpu - self.marks[1]) >= STARVED
            and self._others_ran(wall, cpu)
        ):
            self.starvations += 1
            self.holding_until = wall + PROMPT_FOR
            self.prompter.hold()
        self.marks = (wall, cpu)

    def _others_ran(self, wall: float, cpu: float) -> bool:
        if self.woke is None:
            return True
        woke_wall, woke_cpu, woke_others = self.woke
        waited = (wall - woke_wall) - (cpu - woke_cpu)
        return self.others() - woke_others >= waited / 2

    def before_wait(self, timeout: float | None) -> None:
        """The loop is about to sleep up to ``timeout`` seconds: a hold that would end
        meanwhile ends now (the user's own threads switch as usual while the loop sleeps)."""
        self.check()
        until = self.holding_until
        if until is not None and (timeout is None or self.wall() + timeout >= until):
            self.let_go()

    def let_go(self) -> None:
        if self.holding_until is not None:
            self.holding_until = None
            self.prompter.release()
