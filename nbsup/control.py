"""Starting and stopping many programs together, as supervisord's ``startAllProcesses``.

supervisord's ``make_allfunc`` asks every process first, then waits for all of them side by
side: ``start all`` of 1,000 programs with ``startsecs=1`` takes about a second, not 1,000.
:func:`start_together` and :func:`stop_together` do the same with one hop to the
supervisor's thread for all the requests, then one wait for all of them (on one latch).
"""

from __future__ import annotations

from collections.abc import Sequence

from .core.errors import Fault, FaultCode
from .core.events import Start, Stop
from .core.states import STOPPED_STATES, ProcessState
from .program import Program
from .waiters import Latch, StateWaiter

__all__ = ["start_together", "stop_together"]

_START_ENDS = frozenset(ProcessState) - {ProcessState.STARTING}


def start_together(
    programs: Sequence[Program], wait: bool = True, timeout: float | None = None
) -> list[Fault | None]:
    """Start every program (in the order given), then wait for them all.

    Returns
    -------
    list
        Per program, None when it started (RUNNING, or asked to start when not waiting),
        else the :class:`~nbsup.Fault` ``Program.start`` would have raised.
    """
    outcomes = _request(programs, Start, _START_ENDS if wait else None, timeout)
    results: list[Fault | None] = []
    for program, outcome in zip(programs, outcomes, strict=True):
        if isinstance(outcome, ProcessState) and outcome is not ProcessState.RUNNING:
            code = FaultCode.SPAWN_ERROR if program.spawnerr else FaultCode.ABNORMAL_TERMINATION
            outcome = Fault(code, program.name)
        results.append(outcome if isinstance(outcome, Fault) else None)
    return results


def stop_together(
    programs: Sequence[Program], wait: bool = True, timeout: float | None = None
) -> list[Fault | None]:
    """Stop every program (in the order given: pass them in reverse priority), then wait.

    Returns
    -------
    list
        Per program, None when it stopped (or was asked to), else the Fault
        ``Program.stop`` would have raised (NOT_RUNNING...).
    """
    outcomes = _request(programs, Stop, STOPPED_STATES if wait else None, timeout)
    return [outcome if isinstance(outcome, Fault) else None for outcome in outcomes]


def _request(
    programs: Sequence[Program],
    event: type[Start] | type[Stop],
    until: frozenset[ProcessState] | None,
    timeout: float | None,
) -> list[Fault | ProcessState | None]:
    """Ask each program on the supervisor's thread, in one call; then wait for them all on
    one latch (one wake-up for the waiting thread, not one per program)."""
    if not programs:
        return []
    supervisor = programs[0]._supervisor
    runner = supervisor._runner
    latch = Latch()
    waiters: list[StateWaiter | Fault | None] = []

    def act() -> None:
        driver = runner.driver
        for program in programs:
            try:
                driver.request(program.name, event())
            except Fault as fault:
                waiters.append(fault)
                continue
            waiters.append(StateWaiter(until, latch) if until is not None else None)
        driver.flush_notes()  # the mirror shows what the requests did
        for program, waiter in zip(programs, waiters, strict=True):
            if isinstance(waiter, StateWaiter):
                program._register(waiter)

    runner.call(act)
    latch.release()
    if until is not None:
        if runner.in_driver_thread():
            raise RuntimeError("cannot wait on the supervisor's own thread (in an observer)")
        runner.wait(latch.event, timeout)
    outcomes: list[Fault | ProcessState | None] = []
    for program, waiter in zip(programs, waiters, strict=True):
        if not isinstance(waiter, StateWaiter):
            outcomes.append(waiter)
        elif waiter.reached is not None:
            outcomes.append(waiter.reached)
        else:  # timed out: forget every waiter left, then raise for the first one
            for other, left in zip(programs, waiters, strict=True):
                if isinstance(left, StateWaiter) and left.reached is None:
                    other._waiters.discard(left)
            outcomes.append(program._give_up(waiter, timeout))
    return outcomes
