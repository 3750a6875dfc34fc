"""Where nbsup's time goes, for the benchmarks that miss their targets (not run by ``make bench``).

``python -m benchmarks.profiling scale [--programs 1000] [--batched] [--without ...] [--cprofile]``
    Add, start (to RUNNING) and stop N ``sleep 1000`` programs in this process; prints the
    wall time and the loop thread's CPU time of each phase. ``--batched`` sends every
    start/stop request in one ``runner.call`` instead of one ``start``/``stop`` call per
    program.
``python -m benchmarks.profiling flap [--programs 200] [--restartpause 0.1] [--seconds 4]``
    N programs ``true`` (startsecs=0, autorestart=true) restart for a while; prints the
    restart rate and the loop thread's CPU time per restart.

``--without`` (comma separated) removes one part of the work, to measure its share:
``mirror`` (the Program traitlets mirror: only the event store is fed), ``journal``
(events.jsonl and supervisord.log), ``env`` (the child environment is built from a dict
snapshot instead of ``os.environ``), ``watchdog`` (no pipe writes to the watchdog).
These are experiments on private attributes, not supported settings. ``--cprofile``
prints cProfile's top functions of the loop thread (and of the main thread for scale).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import nbsup
from nbsup.core.events import Start, Stop

PARTS = ("mirror", "journal", "env", "watchdog")


def _strip(sup: Any, parts: set[str]) -> None:
    driver = sup._runner.driver
    if "mirror" in parts:
        store = sup._store
        driver.on_transition = lambda name, record, transition: store.append(record)
    if "journal" in parts:
        driver.journal = None
    if "env" in parts:
        driver.launcher.base_environment = dict(os.environ)
    if "watchdog" in parts:
        driver.launcher.watchdog.watch = lambda *args: None
        driver.launcher.watchdog.forget = lambda *args: None


def _counting(sup: Any, state: str, n: int) -> threading.Event:
    """An event set once ``n`` transitions to ``state`` have been recorded from now on."""
    driver = sup._runner.driver
    inner = driver.on_transition
    done = threading.Event()
    seen = [0]

    def hook(name: str, record: Any, transition: Any) -> None:
        inner(name, record, transition)
        if record.to_state == state:
            seen[0] += 1
            if seen[0] == n:
                done.set()

    sup._runner.call(setattr, driver, "on_transition", hook)
    return done


def _print_profile(label: str, profile: cProfile.Profile, lines: int = 25) -> None:
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(key).print_stats(lines)
        text = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(text) if "ncalls" in line)
        print(f"--- {label}, by {key}")
        print("\n".join(line[:160] for line in text[start : start + lines + 1]))


def _phase(
    sup: Any, label: str, action: Callable[[], None], profile: bool, main: bool = True
) -> tuple[float, float]:
    """Run ``action``; (wall seconds, loop-thread CPU seconds), optionally profiled."""
    runner = sup._runner
    loop_prof, main_prof = cProfile.Profile(), cProfile.Profile()
    if profile:
        runner.call(loop_prof.enable)
        main_prof.enable()
    cpu0 = runner.call(time.thread_time)
    t0 = time.monotonic()
    action()
    wall = time.monotonic() - t0
    cpu = runner.call(time.thread_time) - cpu0
    if profile:
        main_prof.disable()
        runner.call(loop_prof.disable)
    print(f"== {label}: {wall:.3f} s wall, loop thread {cpu:.3f} s CPU", flush=True)
    if profile:
        _print_profile(f"{label}: loop thread", loop_prof)
        if main:
            _print_profile(f"{label}: main thread", main_prof)
    return wall, cpu


def scale(programs: int, batched: bool, without: set[str], profile: bool) -> None:
    sup: Any = nbsup.Supervisor(state_dir=tempfile.mkdtemp(prefix="nbsup-prof-"))
    try:
        _strip(sup, without)
        driver = sup._runner.driver
        names = [f"s{i}" for i in range(programs)]

        def add() -> None:
            for name in names:
                sup.add_program(name, command="sleep 1000", startsecs=1, autostart=False)

        def request(event: Start | Stop, state: str) -> Callable[[], None]:
            def act() -> None:
                done = _counting(sup, state, programs)
                if batched:
                    sup._runner.call(lambda: [driver.request(n, event) for n in names])
                elif isinstance(event, Start):
                    for name in names:
                        sup[name].start(wait=False)
                else:
                    for name in names:
                        sup[name].stop(wait=False)
                if not done.wait(600):
                    raise TimeoutError(f"not all {state} within 600 s")

            return act

        _phase(sup, f"add {programs}", add, profile)
        _phase(sup, f"start {programs} to RUNNING", request(Start(), "RUNNING"), profile)
        _phase(sup, f"stop {programs}", request(Stop(), "STOPPED"), profile)
    finally:
        sup.shutdown()


def flap(
    programs: int, restartpause: float, seconds: float, without: set[str], profile: bool
) -> None:
    sup: Any = nbsup.Supervisor(state_dir=tempfile.mkdtemp(prefix="nbsup-prof-"))
    try:
        _strip(sup, without)
        for i in range(programs):
            sup.add_program(
                f"f{i}", command="true", startsecs=0, autorestart=True, restartpause=restartpause
            )
        time.sleep(1.0)
        column = sup._store._columns["to_state"]
        before = sum(1 for s in column if s == "STARTING")
        sleep = lambda: time.sleep(seconds)  # noqa: E731
        wall, cpu = _phase(sup, f"{programs} flapping", sleep, profile, main=False)
        starts = sum(1 for s in column if s == "STARTING") - before
        print(
            f"{starts / wall:.0f} restarts/s; loop thread {100 * cpu / wall:.0f} % of a core, "
            f"{1e3 * cpu / max(starts, 1):.3f} ms CPU per restart"
        )
    finally:
        sup.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    parser.add_argument("what", choices=("scale", "flap"))
    parser.add_argument("--programs", type=int)
    parser.add_argument("--batched", action="store_true")
    parser.add_argument("--restartpause", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--without", default="", help=f"any of {', '.join(PARTS)}")
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args(argv)
    without = {p for p in args.without.split(",") if p}
    if without - set(PARTS):
        parser.error(f"--without: choose from {PARTS}")
    if args.what == "scale":
        scale(args.programs or 1000, args.batched, without, args.cprofile)
    else:
        flap(args.programs or 200, args.restartpause, args.seconds, without, args.cprofile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
