"""Schedule precision: |actual - nominal| delay of time-based transitions.

* backoff restarts: BACKOFF (tries k) -> STARTING after k s (``false``, startsecs=1),
* RUNNING promotions: STARTING -> RUNNING after startsecs=1 (``sleep 1.3``),
* SIGKILL escalations: the SIGKILL sent stopwaitsecs=1 after STOPPING, to a program that
  ignores SIGTERM (started and stopped from a thread, ``wait=False``).

The escalation's time is when the supervisor sends SIGKILL: its WARN line "killing 'x'
(pid) with SIGKILL" for supervisord, the signal call itself for nbsup. The STOPPED record
that follows also waits for the kernel to tear the killed process down and for the
supervisor to notice (exit detection, its own benchmark): it is reported on a row of its
own ("kill to STOPPED"), outside the target.

Many programs run in parallel on each side.  supervisord times come from its
supervisord.log lines (ms truncated); pairs without log lines on both ends are skipped.
"""

from __future__ import annotations

import itertools
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

import nbsup

from .harness import Rpc, nbsup_monotonic, oracle, percentile, row, run_supervisord, workdir

NAME = "schedule_precision"
DURATION = 10.0
N_BACKOFF = 10
N_RUNNING = 10
N_KILL = 8
KILL_CYCLE = 2.0
KILL_STOP_AFTER = 0.5
#: The row of a SIGKILL sent (``to_state``): not a state, the escalation itself.
SIGKILL = "SIGKILL"
KINDS = ("backoff", "running", "kill")
#: supervisord's (and nbsup's) WARN line of an escalation.
SIGKILL_LINE = re.compile(r"^killing '(?P<name>.+)' \((?P<pid>\d+)\) with SIGKILL$")

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
    """Absolute scheduling errors (s) per kind, and ``kill_stopped``: STOPPING to STOPPED
    of the killed programs, outside the target (see the module's docstring)."""
    out: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "kill_stopped")}
    by_prog: dict[str, list[Row]] = {}
    for r in sorted(rows, key=lambda r: r.t):
        by_prog.setdefault(r.program, []).append(r)
    for prog, seq in by_prog.items():
        stopping: Row | None = None  # the last entry into STOPPING of a kill program
        escalated = False  # ...and whether SIGKILL followed
        for a, b in itertools.pairwise(seq):
            if prog.startswith("kill"):
                if a.to_state == "STOPPING":
                    stopping, escalated = a, False
                if stopping is None or not (stopping.exact and b.exact):
                    continue
                if b.to_state == SIGKILL:
                    out["kill"].append(abs(b.t - stopping.t - 1.0))
                    escalated = True
                elif b.to_state == "STOPPED" and escalated:
                    out["kill_stopped"].append(abs(b.t - stopping.t - 1.0))
                continue
            if not (a.exact and b.exact):
                continue
            pair = (a.to_state, b.from_state, b.to_state)
            if prog.startswith("backoff") and pair == ("BACKOFF", "BACKOFF", "STARTING"):
                out["backoff"].append(abs(b.t - a.t - (a.tries or 0)))
            elif prog.startswith("running") and pair == ("STARTING", "STARTING", "RUNNING"):
                out["running"].append(abs(b.t - a.t - 1.0))
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
            kills = _record_sigkills(sup)
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
            # stopped first: building the frames takes the interpreter lock from the loop,
            # and transitions meanwhile would be late because of the benchmark itself
            sup.stop_all()
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
            names = {
                int(pid): name for name, p in progs.items() for pid in p.events["pid"].dropna()
            }
            for pid, at in kills:
                elapsed = at - nbsup_monotonic(sup, 0.0)
                rows.append(Row(names[pid], "STOPPING", SIGKILL, None, elapsed))
            return errors(rows)
        finally:
            sup.shutdown()


def _record_sigkills(sup: nbsup.Supervisor) -> list[tuple[int, float]]:
    """Wrap the launcher's ``signal``: each SIGKILL's pid and monotonic time, as sent."""
    launcher = sup._runner.driver.launcher
    send = launcher.signal
    sent: list[tuple[int, float]] = []

    def signal_and_record(process: object, sig: int, group: bool) -> None:
        if sig == signal.SIGKILL:
            sent.append((process.pid, time.monotonic()))  # type: ignore[attr-defined]
        send(process, sig, group)  # type: ignore[arg-type]

    launcher.signal = signal_and_record  # type: ignore[method-assign]
    return sent


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
        for line in oracle.parse_log(run.workdir / "supervisord.log"):
            found = SIGKILL_LINE.match(line.msg)
            if found and line.level == "WARN":
                rows.append(Row(found["name"], "STOPPING", SIGKILL, None, line.wall))
        return errors(rows)


def run() -> list[dict]:
    nb = measure_nbsup()
    sd = measure_supervisord()
    nb_all = [e for kind in KINDS for e in nb[kind]]
    sd_all = [e for kind in KINDS for e in sd[kind]]
    ms = 1000.0
    out = []
    for kind in KINDS:
        out.append(
            row(
                NAME,
                f"p99 abs error {kind} (n={len(nb[kind])}/{len(sd[kind])})",
                percentile(nb[kind], 99) * ms,
                percentile(sd[kind], 99) * ms,
                unit="ms",
            )
        )
    stopped = (nb["kill_stopped"], sd["kill_stopped"])
    out.append(
        row(
            NAME,
            f"p99 abs error kill to STOPPED (n={len(stopped[0])}/{len(stopped[1])})",
            percentile(stopped[0], 99) * ms,
            percentile(stopped[1], 99) * ms,
            unit="ms",
            note="includes the killed process's teardown and exit detection",
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
