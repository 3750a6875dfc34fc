"""``simulate()``: what-if runs of one program on virtual time, with the real machinery.

The program is added to a real :class:`nbsup.Supervisor` whose runner is an
:class:`~nbsup.runtime.runner.InlineRunner` over the real
:class:`~nbsup.runtime.driver.Driver` and state machine, on a
:class:`~nbsup.testing.FakeClock` with a :class:`~nbsup.testing.FakeLauncher` playing the
scripted behaviour. Nothing about supervision is re-implemented here: the transitions
are, by construction, the ones the real supervisor makes for a process that behaves so.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..core.errors import Fault
from ..core.events import Transition
from ..core.record import EventRecord
from ..core.states import ProcessState
from ..eventlog import frame_from_records
from ..runtime.driver import Driver
from ..runtime.runner import InlineRunner
from ..supervisor import Supervisor
from ..testing import FakeClock, FakeLauncher
from .behaviour import Behaviour, lives_of

__all__ = ["DEFAULT_UNTIL", "EPOCH", "simulate"]

#: The virtual epoch: ``time`` of a simulated event is this plus its ``elapsed`` seconds.
EPOCH = pd.Timestamp("2000-01-01", tz="UTC").as_unit("ns")
#: How long a simulation runs at most when ``until`` is not given (virtual seconds).
DEFAULT_UNTIL = 3600.0
#: The command a simulated program has when none is given (only ``spawn-error`` shows it).
DEFAULT_COMMAND = "simulated"
ACTIONS = ("start", "stop", "signal")
_RESTING = frozenset({ProcessState.FATAL, ProcessState.EXITED, ProcessState.STOPPED})


def simulate(
    behaviour: Behaviour,
    *,
    actions: Iterable[Sequence[Any]] = (),
    until: float | None = None,
    name: str = "x",
    max_transitions: int = 100_000,
    **options: Any,
) -> pd.DataFrame:
    """Run one program on virtual time and return its event log.

    Parameters
    ----------
    behaviour
        What each spawn does: ``(run_seconds, exit)`` tuples (``exit`` an exit code or a
        signal name such as ``"SIGSEGV"``; an optional third item lists ignored signals), a
        list of them (one per spawn, the last repeats), a function of the attempt number, a
        :class:`nbsup.testing.Life`, or a preset: ``"crash-immediately"``,
        ``"crash-after:0.5"``, ``"exit0-after:5"``, ``"never-exits"``, ``"ignores-term"``,
        ``"spawn-error"`` (see :mod:`nbsup.simulation.behaviour`).
    actions
        Requests made during the run: ``(at_seconds, "start" | "stop")`` or
        ``(at_seconds, "signal", "SIGHUP")``. An action at ``t`` comes after everything
        else due at ``t``. A refused request (e.g. stopping a FATAL program) changes
        nothing, as with supervisorctl; the refusals are listed in
        ``frame.attrs["refused"]``.
    until
        Virtual seconds to run. By default the run ends once every action is done and the
        program rests in FATAL, EXITED (no restart due) or STOPPED with nothing scheduled,
        or after 3600 s (or the last action), whichever comes first.
    name
        The program's name.
    max_transitions
        A safety stop for behaviours that restart without time passing (e.g. ``(0, 0)``
        with ``startsecs=0, autorestart=true, restartpause=0``): the run ends there, with a
        warning.
    **options
        Program options as for :meth:`nbsup.Supervisor.add_program` (``startsecs``,
        ``startretries``, ``autorestart``, ``exitcodes``, ``restartpause``, ``backoff``,
        ``stopwaitsecs``, ``stopsignal``...); the others keep nbsup's defaults.
        ``command`` is optional.

    Returns
    -------
    pandas.DataFrame
        The transitions, with the schema of ``program.events`` (:mod:`nbsup.eventlog`);
        ``elapsed`` is virtual seconds from the moment the program was added and ``time``
        is :data:`EPOCH` plus ``elapsed``.

    Raises
    ------
    OptionError
        For an unknown option or a bad value (nothing is simulated).
    ValueError
        For a behaviour or an action that is not understood.

    Examples
    --------
    >>> frame = simulate("crash-immediately")
    >>> list(frame["to_state"])[-2:]
    ['BACKOFF', 'FATAL']
    """
    command = str(options.pop("command", DEFAULT_COMMAND))
    lives = lives_of(behaviour, command)
    plan = _plan(actions)
    horizon = float(until) if until is not None else max([DEFAULT_UNTIL, *(a[0] for a in plan)])

    clock = FakeClock(start=0.0, wall_start=EPOCH.timestamp())
    launcher = FakeLauncher(clock)
    launcher.script(name, lives)
    records: list[EventRecord] = []

    def record(program: str, row: EventRecord, transition: Transition) -> None:
        # straight to a list: the Supervisor's store and its Program's traitlets mirror are
        # for live views, and would cost more than everything else a transition does
        records.append(row)

    def stop_here() -> bool:
        return len(records) >= max_transitions

    driver = Driver(clock, launcher, record)
    supervisor = Supervisor(runner=InlineRunner(driver, clock.run_until))
    # the cyclic GC is paused while the run allocates its many short-lived objects (as
    # timeit does): it halves the time of a long run; reference counting still frees them
    collecting = gc.isenabled()
    gc.disable()
    try:
        program = supervisor.add_program(name, command=command, **options)
        refused = []
        for at, action, argument in plan:
            if at > horizon or clock.run_until(at, stop_here):
                break
            if action == "start":  # startProcess refuses a command it cannot find (NO_FILE)
                launcher.missing_commands.discard(name)
                if lives(launcher.attempts.get(name, 0) + 1).spawn_error is not None:
                    launcher.missing_commands.add(name)
            try:
                if action == "start":
                    program.start()
                elif action == "stop":
                    program.stop(wait=False)
                else:
                    program.signal(argument)
            except Fault as fault:
                refused.append({"at": at, "action": action, "fault": str(fault)})
        machine = driver.slots[name].machine

        def settled() -> bool:
            resting = machine.state in _RESTING and clock.next_time() is None
            return stop_here() or (until is None and resting)

        clock.run_until(horizon, settled)
    finally:
        if collecting:
            gc.enable()
    if stop_here():
        warnings.warn(
            f"simulate: stopped at max_transitions={max_transitions}, at t={clock.now():g} s "
            f"of {horizon:g} s (a program that restarts without time passing never ends)",
            RuntimeWarning,
            stacklevel=2,
        )
    frame = frame_from_records(records[:max_transitions])
    # exact times: epoch + elapsed, without a round trip through float epoch seconds
    times = EPOCH + pd.to_timedelta(frame["elapsed"], unit="s")
    frame["time"] = times.astype("datetime64[ns, UTC]")  # DTYPES["time"]
    frame.attrs["refused"] = refused
    return frame


def _plan(actions: Iterable[Sequence[Any]]) -> list[tuple[float, str, Any]]:
    plan = []
    for entry in actions:
        if isinstance(entry, str) or not isinstance(entry, Sequence) or len(entry) not in (2, 3):
            raise ValueError(
                f"actions: {entry!r}: expected (at_seconds, action) or (at_seconds, action, arg)"
            )
        at, action = entry[0], str(entry[1]).strip().lower()
        argument = entry[2] if len(entry) == 3 else None
        if isinstance(at, bool) or not isinstance(at, int | float) or not at >= 0:
            raise ValueError(f"actions: {entry!r}: the time must be a number of seconds >= 0")
        if action not in ACTIONS:
            raise ValueError(f"actions: {entry!r}: the action must be one of {', '.join(ACTIONS)}")
        if action == "signal" and argument is None:
            raise ValueError(f"actions: {entry!r}: a signal action needs a signal name")
        plan.append((float(at), action, argument))
    return sorted(plan, key=lambda item: item[0])
