"""Restart rate of ``true`` with startsecs=0, autorestart=true (nbsup: restartpause=0).

Compared with the machine's raw spawn-and-wait rate for the same command
(``os.posix_spawn`` + ``waitpid`` in a loop), the physical limit.  The nbsup and raw
rates are medians of 3 runs.
"""

from __future__ import annotations

import os
import shutil
import time

import nbsup

from .harness import median, row, run_supervisord, workdir

NAME = "restart_rate"
DURATION = 5.0
RAW_SECONDS = 1.0
REPEATS = 3


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
    raw = median([raw_rate() for _ in range(3)])
    nb = median([measure_nbsup() for _ in range(REPEATS)])
    sd = measure_supervisord()  # about 1/s (its poll loop), once is enough
    return [
        row(
            NAME,
            "restarts/s of `true`",
            nb,
            sd,
            unit="1/s",
            limit=raw,
            target=f">= {0.8 * raw:.0f}/s (80 % of raw)",
            note=f"nbsup reaches {100 * nb / raw:.0f} % of raw posix_spawn+waitpid",
        )
    ]
