"""Idle cost: CPU time a supervisor uses while its programs just sleep.

100 programs run ``sleep 100000`` (RUNNING, no output) under supervisord and under nbsup;
once all are RUNNING and a settling second has passed, both are left alone for the window
(60 s) and their CPU time (utime + stime from ``/proc/<pid>/stat``, 10 ms resolution) is
read before and after. The two windows run at the same time (CPU time is per process).

* supervisord: its one process (plain config: no event listener, ``loglevel=info``).
* nbsup: a Python process hosting a Supervisor (``benchmarks/nbsup_host.py``) whose main
  thread sits in ``read()`` on a pipe, so the whole process's time is the supervisor's;
  its watchdog process is added (it is part of nbsup's supervision). The loop thread's own
  time is in the note.
"""

from __future__ import annotations

import time

from .harness import row, workdir
from .procs import NbsupHost, cpu_seconds, lean_supervisord, wait_supervisord_states

NAME = "idle_cost"
PROGRAMS = 100
WINDOW = 60.0
QUICK_PROGRAMS = 20
QUICK_WINDOW = 3.0
SETTLE = 1.0
COMMAND = "sleep 100000"
TARGET_PERCENT = 0.2


def measure(programs: int, window: float) -> dict[str, float]:
    """CPU seconds used over ``window`` by each supervisor (and nbsup's parts)."""
    with workdir("idle") as tmp:
        supd_dir = tmp / "supervisord"
        supd_dir.mkdir()
        nb_dir = tmp / "nbsup"
        nb_dir.mkdir()
        progs = {f"idle{i}": (COMMAND, {"startsecs": "1"}) for i in range(programs)}
        with lean_supervisord(progs, supd_dir) as (proc, rpc), NbsupHost(nb_dir) as host:
            host.call("add", n=programs, prefix="idle", command=COMMAND, options={"startsecs": 1})
            host.call("wait", until=["RUNNING"], timeout=60)
            wait_supervisord_states(rpc, {"RUNNING"}, timeout=60)
            time.sleep(SETTLE)  # no XML-RPC from here on: it would wake supervisord
            sd0 = cpu_seconds(proc.pid)
            nb0 = host.cpu_seconds()
            t0 = time.monotonic()
            time.sleep(window)
            sd1 = cpu_seconds(proc.pid)
            nb1 = host.cpu_seconds()
            elapsed = time.monotonic() - t0
            running = host.call("wait", until=["RUNNING"], timeout=5)["states"]
            infos = rpc.call("getAllProcessInfo")
        if running.get("RUNNING") != programs or any(i["statename"] != "RUNNING" for i in infos):
            raise RuntimeError("a program left RUNNING during the idle window")
    return {
        "window": elapsed,
        "supervisord": sd1 - sd0,
        "nbsup": (nb1["process"] - nb0["process"]) + (nb1["watchdog"] - nb0["watchdog"]),
        "nbsup_loop_thread": nb1["loop_thread"] - nb0["loop_thread"],
        "nbsup_watchdog": nb1["watchdog"] - nb0["watchdog"],
    }


def run(quick: bool = False) -> list[dict]:
    programs, window = (QUICK_PROGRAMS, QUICK_WINDOW) if quick else (PROGRAMS, WINDOW)
    m = measure(programs, window)
    w = m["window"]
    note = (
        f"utime+stime over {w:.1f} s, 10 ms resolution; nbsup = host process (main thread "
        f"blocked in read) + watchdog; loop thread alone {m['nbsup_loop_thread']:.2f} s, "
        f"watchdog {m['nbsup_watchdog']:.2f} s"
    )
    return [
        row(
            NAME,
            f"CPU s in {w:.0f} s, {programs} sleeping programs",
            m["nbsup"],
            m["supervisord"],
            unit="s",
            target="<= supervisord",
            note=note,
        ),
        row(
            NAME,
            f"% of one core, {programs} sleeping programs",
            100 * m["nbsup"] / w,
            100 * m["supervisord"] / w,
            unit="%",
            target=f"< {TARGET_PERCENT} %",
            note=note,
        ),
    ]
