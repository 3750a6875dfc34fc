"""Exit detection latency: child's last clock reading before ``os._exit`` -> EXITED record.

The child appends ``pid monotonic wall`` to a file just before ``os._exit(0)``.
CLOCK_MONOTONIC is system-wide, so for nbsup the record's ``elapsed`` converted back to
monotonic time is compared with the child's reading directly.  supervisord only has wall
clock times: its supervisord.log line time (ms truncated, so up to -1 ms biased) and the
recording event listener's receive time are compared with the child's ``time.time()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbsup

from .harness import nbsup_monotonic, percentile, row, run_supervisord, workdir

NAME = "exit_detection"
PROGRAMS = 16  # run in parallel to collect samples quickly
#: Seconds per side; about 1.05 s per cycle -> ~450 exits (a p99 is then the 5th worst).
DURATION = 30.0

CHILD = """\
import os, sys, time
time.sleep(1.0)
line = "%d %.9f %.9f\\n" % (os.getpid(), time.monotonic(), time.time())
with open(sys.argv[1], "a") as fh:
    fh.write(line)
os._exit(0)
"""


#: The physical limit: a separate, idle process that only waits on each child's pidfd and
#: notes when it became readable. It sees the same machine (the other children starting on
#: the same cores) without any supervision work, so its latency is what the OS allows.
PROBE = """\
import json, os, select, sys, time
ep = select.epoll()
fds = {}
seen = {}
ep.register(sys.stdin.fileno(), select.EPOLLIN)
buffer = b""
while True:
    for fd, _ in ep.poll():
        if fd == sys.stdin.fileno():
            data = os.read(fd, 65536)
            if not data:
                json.dump(seen, open(sys.argv[1], "w"))
                sys.exit(0)
            buffer += data
            *lines, buffer = buffer.split(b"\\n")
            for line in lines:
                try:
                    pidfd = os.pidfd_open(int(line))
                except (OSError, ValueError):
                    continue
                fds[pidfd] = int(line)
                ep.register(pidfd, select.EPOLLIN)
        else:
            seen[fds[fd]] = time.monotonic()
            ep.unregister(fd)
            os.close(fd)
"""


def _child_stamps(path: Path) -> dict[int, tuple[float, float]]:
    stamps: dict[int, tuple[float, float]] = {}
    if not path.exists():
        return stamps
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            stamps[int(parts[0])] = (float(parts[1]), float(parts[2]))
    return stamps


def measure_nbsup() -> tuple[dict[int, float], dict[int, float]]:
    """nbsup's latencies and the idle pidfd probe's for the same exits, by pid."""
    with workdir("exit-nbsup") as tmp:
        script = tmp / "child.py"
        script.write_text(CHILD)
        stamps_file = tmp / "stamps.txt"
        probe_file = tmp / "probe.json"
        probe = subprocess.Popen(
            [sys.executable, "-S", "-c", PROBE, str(probe_file)], stdin=subprocess.PIPE
        )
        assert probe.stdin is not None
        sup = nbsup.Supervisor(state_dir=str(tmp / "state"))

        def tell_probe(change: Any) -> None:
            if change["new"]:
                probe.stdin.write(b"%d\n" % change["new"])  # type: ignore[union-attr]
                probe.stdin.flush()  # type: ignore[union-attr]

        try:
            progs = [
                sup.add_program(
                    f"exit{i}",
                    command=f"{sys.executable} {script} {stamps_file}",
                    startsecs=0,
                    autorestart=True,
                    restartpause=0,  # supervisord's: restarted at once, the same workload
                    autostart=False,
                )
                for i in range(PROGRAMS)
            ]
            for program in progs:  # the probe is told of every pid, the first ones too
                program.observe(tell_probe, "pid")
            sup.start_all()  # all at once, as supervisord starts them
            time.sleep(DURATION)
            # stopped first: building the frames takes the interpreter lock from the loop,
            # and exits seen meanwhile would be late because of the benchmark itself
            sup.stop_all()
            frames = [p.events for p in progs]
            latencies: dict[int, float] = {}
            stamps = _child_stamps(stamps_file)
            for df in frames:
                exits = df[df["to_state"].isin(["EXITED", "BACKOFF"])]
                for elapsed, pid in zip(exits["elapsed"], exits["pid"], strict=True):
                    if pid is None or int(pid) not in stamps:
                        continue
                    mono = nbsup_monotonic(sup, float(elapsed))
                    latencies[int(pid)] = mono - stamps[int(pid)][0]
        finally:
            sup.shutdown()
            probe.stdin.close()
            probe.wait(timeout=10)
        seen = json.loads(probe_file.read_text()) if probe_file.exists() else {}
        limit = {pid: seen[str(pid)] - at[0] for pid, at in stamps.items() if str(pid) in seen}
        return latencies, limit


def measure_supervisord() -> tuple[list[float], list[float]]:
    """(log-line latencies, listener latencies)."""
    with workdir("exit-supd") as tmp:
        script = tmp / "child.py"
        script.write_text(CHILD)
        stamps_file = tmp / "stamps.txt"
        programs = {
            f"exit{i}": (
                f"{sys.executable} {script} {stamps_file}",
                {"startsecs": "0", "autorestart": "true"},
            )
            for i in range(PROGRAMS)
        }
        run = run_supervisord(programs, tmp, DURATION)
        stamps = _child_stamps(stamps_file)
        log_lat: list[float] = []
        recv_lat: list[float] = []
        for t in run.transitions:
            if t.to_state not in ("EXITED", "BACKOFF") or t.pid not in stamps:
                continue
            wall = stamps[t.pid][1]
            if t.time_source == "log":
                log_lat.append(t.wall - wall)
            if t.recv is not None:
                recv_lat.append(t.recv - wall)
        return log_lat, recv_lat


def run() -> list[dict]:
    by_pid, limit_by_pid = measure_nbsup()
    nb, limit = list(by_pid.values()), list(limit_by_pid.values())
    # the same exit seen by nbsup and by the idle probe: what nbsup adds to what the OS allows
    beyond = [by_pid[pid] - limit_by_pid[pid] for pid in by_pid if pid in limit_by_pid]
    sd_log, sd_recv = measure_supervisord()
    return [
        *_percentiles(
            f"latency (n={len(nb)}/{len(sd_log)})", nb, sd_log, limit=limit,
            target="p99 <= 5 ms",
            note="supervisord: log-line time (ms truncated); limit: an idle process "
            f"waiting on the same children's pidfds (n={len(limit)})",
        ),
        *_percentiles(
            f"nbsup's latency beyond the idle probe's, same exit (n={len(beyond)})", beyond, None,
            note="per exit: nbsup's latency minus the probe's (spawns on the loop, its own "
            "work); the probe is an idle process",
        ),
        *_percentiles(
            f"supervisord listener receipt (n={len(sd_recv)})", None, sd_recv,
            note="event listener receive time",
        ),
    ]  # fmt: skip


def _percentiles(
    metric: str,
    nbsup_values: list[float] | None,
    supervisord_values: list[float] | None,
    limit: list[float] | None = None,
    target: str = "",
    note: str = "",
) -> list[dict]:
    """The p50 and p99 rows of one metric, in ms (``target`` goes with the p99)."""

    def ms(values: list[float] | None, q: int) -> float | None:
        return None if values is None else percentile(values, q) * 1000.0

    return [
        row(NAME, f"p{q} {metric}", ms(nbsup_values, q), ms(supervisord_values, q), unit="ms",
            target=target if q == 99 else "", limit=ms(limit, q), note=note)
        for q in (50, 99)
    ]  # fmt: skip
