"""Restart rate of ``true`` with startsecs=0, autorestart=true (nbsup: restartpause=0).

Compared with the machine's raw spawn-and-wait rate for the same command
(``os.posix_spawn`` + ``waitpid`` in a loop), and with a bare supervisor loop: what any
event-driven supervisor must do per restart and nothing more, done the fastest way nbsup
knows (:class:`benchmarks.procs.BareLoop`: the child started as nbsup starts it, with
stdin/stdout/stderr pipes made ahead, its own session and no other descriptor, as
supervisord gives each child; the exit awaited on a pidfd through one epoll in an asyncio
loop; the next child started, then the pipes drained and closed), with no state machine,
records, logs or watchdog. Five rounds of
raw, bare and nbsup; the rates are medians, and each round's nbsup is compared with the raw
rate measured just before it (the median of those ratios is the note's percentage).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import nbsup
from nbsup.runtime.environment import Environment
from nbsup.runtime.spawner import Child

from .harness import median, row, run_supervisord, workdir
from .procs import BareLoop

NAME = "restart_rate"
DURATION = 5.0
RAW_SECONDS = 1.0
REPEATS = 5


def raw_rate(seconds: float = RAW_SECONDS) -> float:
    """Spawns per second of ``true`` with posix_spawn + waitpid."""
    path = shutil.which("true") or "/bin/true"
    env = dict(os.environ)
    n = 0
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        pid = os.posix_spawn(path, [path], env)
        os.waitpid(pid, 0)
        n += 1
    return n / (time.monotonic() - t0)


def bare_loop_rate(seconds: float = RAW_SECONDS) -> float:
    """Restarts per second of ``true`` under a bare event-driven supervisor loop."""
    return asyncio.run(_bare_loop(seconds))


async def _bare_loop(seconds: float) -> float:
    path = shutil.which("true") or "/bin/true"
    bare = BareLoop(asyncio.get_running_loop(), Environment(dict(os.environ)))
    finished = bare.loop.create_future()
    count = 0
    end = time.monotonic() + seconds

    def exited(child: Child) -> None:  # as nbsup: reap, start the next, then release
        nonlocal count
        bare.reap(child)
        count += 1
        if time.monotonic() < end:
            bare.spawn([path], exited)
        else:
            finished.set_result(None)
        bare.release(child)

    started = time.monotonic()
    bare.spawn([path], exited)
    try:
        await finished
    finally:
        bare.close()
    return count / (time.monotonic() - started)


def _count_starts(times: list[float], lo: float, hi: float) -> int:
    return sum(1 for t in times if lo <= t < hi)


def measure_nbsup() -> float:
    with workdir("rate-nbsup") as tmp:
        sup = nbsup.Supervisor(state_dir=str(tmp / "state"))
        try:
            p = sup.add_program(
                "rate", command="true", startsecs=0, restartpause=0, autorestart=True
            )
            time.sleep(DURATION + 0.5)
            df = p.events
            starts = df[df["to_state"] == "STARTING"]["elapsed"].astype(float).tolist()
        finally:
            sup.shutdown()
    if not starts:
        return 0.0
    # skip the first 0.5 s (start-up), count over DURATION seconds
    lo = starts[0] + 0.5
    return _count_starts(starts, lo, lo + DURATION) / DURATION


def measure_supervisord() -> float:
    with workdir("rate-supd") as tmp:
        run = run_supervisord(
            {"rate": ("true", {"startsecs": "0", "autorestart": "true"})},
            tmp,
            DURATION + 1.0,
        )
        starts = [t.wall for t in run.of("rate") if t.to_state == "STARTING"]
    if not starts:
        return 0.0
    lo = starts[0] + 0.5
    return _count_starts(starts, lo, lo + DURATION) / DURATION


def run() -> list[dict]:
    # Rounds of raw, bare and nbsup one after the other: the machine's speed drifts (the raw
    # rate moved between 1,127 and 1,565/s in one day), so each round's nbsup is compared
    # with the raw rate measured just before it, and the median of those ratios is reported.
    rounds = []
    for _ in range(REPEATS):
        rounds.append((raw_rate(), bare_loop_rate(), measure_nbsup()))
    raw = median([r[0] for r in rounds])
    bare = median([r[1] for r in rounds])
    nb = median([r[2] for r in rounds])
    of_raw = median([n / r for r, _, n in rounds])
    of_bare = median([n / b for _, b, n in rounds])
    bare_of_raw = median([b / r for r, b, _ in rounds])
    sd = measure_supervisord()  # about 1/s (its poll loop), once is enough
    paired = ", ".join(f"{100 * n / r:.0f} %" for r, _, n in rounds)
    return [
        row(
            NAME,
            "restarts/s of `true`",
            nb,
            sd,
            unit="1/s",
            limit=raw,
            target=f">= {0.8 * raw:.0f}/s (80 % of raw)",
            note=(
                f"nbsup reaches {100 * of_raw:.0f} % of raw posix_spawn+waitpid (median of "
                f"{REPEATS} rounds, each against the raw rate measured just before: {paired})"
            ),
        ),
        row(
            NAME,
            "restarts/s, bare supervisor loop (limit of any supervisor with stdio pipes)",
            nb,
            None,
            unit="1/s",
            limit=bare,
            note=(
                f"the bare loop reaches {100 * bare_of_raw:.0f} % of raw; "
                f"nbsup {100 * of_bare:.0f} % of the bare loop (medians of the rounds' ratios)"
            ),
        ),
    ]
