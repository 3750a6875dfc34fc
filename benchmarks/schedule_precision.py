"""Schedule precision: |actual - nominal| delay of time-based transitions.

* backoff restarts: BACKOFF (tries k) -> STARTING after k s (``false``, startsecs=1),
* RUNNING promotions: STARTING -> RUNNING after startsecs=1 (``sleep 1.3``),
* SIGKILL escalations: STOPPING -> STOPPED after stopwaitsecs=1 for a program that
  ignores SIGTERM (started and stopped from a thread, ``wait=False``).

Many programs run in parallel on each side.  supervisord times come from its
supervisord.log lines (ms truncated); pairs without log lines on both ends are skipped.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

import nbsup

from .harness import Rpc, percentile, row, run_supervisord, workdir

NAME = "schedule_precision"
DURATION = 10.0
N_BACKOFF = 10
N_RUNNING = 10
N_KILL = 8
KILL_CYCLE = 2.0
KILL_STOP_AFTER = 0.5

IGNORE_TERM = (
    f"{sys.executable} -c "
    "'import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'"
)


@dataclass
class Row:
    program: str
    from_state: str | None
    to_state: str
    tries: int | None
    t: float
    exact: bool = True  # False: time is not from the transition's own record/log line


def programs() -> dict[str, tuple[str, dict[str, str]]]:
    progs: dict[str, tuple[str, dict[str, str]]] = {}
    for i in range(N_BACKOFF):
        progs[f"backoff{i}"] = ("false", {"startsecs": "1", "startretries": "3"})
    for i in range(N_RUNNING):
        progs[f"running{i}"] = ("sleep 1.3", {"startsecs": "1", "autorestart": "true"})
    for i in range(N_KILL):
        progs[f"kill{i}"] = (
            IGNORE_TERM,
            {"startsecs": "0", "stopwaitsecs": "1", "autostart": "false"},
        )
    return progs


def errors(rows: list[Row]) -> dict[str, list[float]]:
    """Absolute scheduling errors (s) per kind."""
    out: dict[str, list[float]] = {"backoff": [], "running": [], "kill": []}
    by_prog: dict[str, list[Row]] = {}
    for r in rows:
        by_prog.setdefault(r.program, []).append(r)
    for prog, seq in by_prog.items():
        for a, b in itertools.pairwise(seq):
            if not (a.exact and b.exact):
                continue
            pair = (a.to_state, b.from_state, b.to_state)
            if prog.startswith("backoff") and pair == ("BACKOFF", "BACKOFF", "STARTING"):
                out["backoff"].append(abs(b.t - a.t - (a.tries or 0)))
            elif prog.startswith("running") and pair == ("STARTING", "STARTING", "RUNNING"):
                out["running"].append(abs(b.t - a.t - 1.0))
            elif prog.startswith("kill") and pair == ("STOPPING", "STOPPING", "STOPPED"):
                out["kill"].append(abs(b.t - a.t - 1.0))
    return out


def _cycle(start: Callable[[str], None], stop: Callable[[str], None], ev: threading.Event) -> None:
    """Start and stop the kill programs on a fixed, staggered schedule."""
    t0 = time.monotonic()
    actions: list[tuple[float, Callable[[str], None], str]] = []
    for i in range(N_KILL):
        off = 0.2 + i * (KILL_CYCLE / N_KILL)
        k = 0
        while off + k * KILL_CYCLE + KILL_STOP_AFTER < DURATION - 1.6:
            actions.append((off + k * KILL_CYCLE, start, f"kill{i}"))
            actions.append((off + k * KILL_CYCLE + KILL_STOP_AFTER, stop, f"kill{i}"))
            k += 1
    actions.sort(key=lambda a: a[0])
    for at, fn, name in actions:
        delay = t0 + at - time.monotonic()
        if delay > 0 and ev.wait(delay):
            return
        try:
            fn(name)
        except Exception:
            pass


def measure_nbsup() -> dict[str, list[float]]:
    with workdir("sched-nbsup") as tmp:
        sup = nbsup.Supervisor(state_dir=str(tmp / "state"))
        try:
            progs = {}
            for name, (command, opts) in programs().items():
                kwargs: dict[str, object] = {k: _value(v) for k, v in opts.items()}
                progs[name] = sup.add_program(name, command=command, **kwargs)
            ev = threading.Event()
            th = threading.Thread(
                target=_cycle,
                args=(
                    lambda n: progs[n].start(wait=False),
                    lambda n: progs[n].stop(wait=False),
                    ev,
                ),
                daemon=True,
            )
            th.start()
            time.sleep(DURATION)
            ev.set()
            th.join(timeout=5)
            rows: list[Row] = []
            for name, p in progs.items():
                df = p.events
                for frm, to, tries, elapsed in zip(
                    df["from_state"], df["to_state"], df["tries"], df["elapsed"], strict=True
                ):
                    rows.append(
                        Row(
                            name,
                            None if pd.isna(frm) else str(frm),
                            str(to),
                            None if pd.isna(tries) else int(tries),
                            float(elapsed),
                        )
                    )
            return errors(rows)
        finally:
            sup.shutdown()


def _value(v: str) -> object:
    if v in ("true", "false"):
        return v == "true"
    try:
        return int(v)
    except ValueError:
        return v


def measure_supervisord() -> dict[str, list[float]]:
    with workdir("sched-supd") as tmp:

        def during(rpc: Rpc, ev: threading.Event) -> None:
            _cycle(
                lambda n: rpc.call("startProcess", n, False),
                lambda n: rpc.call("stopProcess", n, False),
                ev,
            )

        run = run_supervisord(programs(), tmp, DURATION, during=during)
        rows = [
            Row(t.program, t.from_state, t.to_state, t.tries, t.wall, t.time_source == "log")
            for t in run.transitions
        ]
        # A RUNNING row is only a time-based promotion when logged as "success:".
        for r, t in zip(rows, run.transitions, strict=True):
            if r.to_state == "RUNNING" and not (t.message or "").startswith("success"):
                r.exact = False
        return errors(rows)


def run() -> list[dict]:
    nb = measure_nbsup()
    sd = measure_supervisord()
    nb_all = [e for v in nb.values() for e in v]
    sd_all = [e for v in sd.values() for e in v]
    ms = 1000.0
    out = []
    for kind in ("backoff", "running", "kill"):
        out.append(
            row(
                NAME,
                f"p99 abs error {kind} (n={len(nb[kind])}/{len(sd[kind])})",
                percentile(nb[kind], 99) * ms,
                percentile(sd[kind], 99) * ms,
                unit="ms",
            )
        )
    for q in (50, 99):
        out.append(
            row(
                NAME,
                f"p{q} abs error all (n={len(nb_all)}/{len(sd_all)})",
                percentile(nb_all, q) * ms,
                percentile(sd_all, q) * ms,
                unit="ms",
                target="p99 <= 10 ms" if q == 99 else "",
                note="supervisord: log-line times (ms truncated)",
            )
        )
    return out
