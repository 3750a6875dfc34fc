"""Scale: 1,000 programs started to RUNNING, then all stopped; wall time and memory.

Programs run ``sleep 1000`` with ``startsecs=1`` and ``autostart=false``.

* supervisord: ``startAllProcesses(wait=True)`` and ``stopAllProcesses(wait=True)``
  over XML-RPC, timed around the call (it spawns every process at once, then answers
  when all are RUNNING / stopped).
* nbsup (in a process of its own, ``benchmarks/nbsup_host.py``), two ways:

  - its Python API: ``start(wait=False)`` on every program, then ``wait_for("RUNNING")``
    on each; the same for ``stop``;
  - its supervisord XML-RPC interface (``rpc_enabled``, a unix socket, no auth): the same
    ``startAllProcesses(True)`` / ``stopAllProcesses(True)`` calls as for supervisord.

Each child costs a supervisor about 6 file descriptors (3 pipes, 2 log files, nbsup's
pidfd), so the benchmark raises its soft ``RLIMIT_NOFILE`` (``ulimit -n``) to at least
``8 * programs + 256``; both supervisors inherit it. supervisord's ``minfds`` stays at
its default (1024): it only makes supervisord raise the limit itself, and every child
supervisord spawns closes each fd number below ``minfds`` one by one
(``Subprocess._prepare_child_fds``), so a larger value would only slow its spawns.

Start and stop times are the medians of :data:`ROUNDS` start-then-stop rounds.

Memory per program is (RSS with every program RUNNING in the first round - RSS of the same
supervisor with no programs) / programs: for supervisord the empty RSS comes from a second, empty
daemon; for nbsup from the host before its first ``add_program``.

Physical limits: ``startsecs`` + spawning the same commands with ``os.posix_spawn`` (no
pipes) for the start; SIGTERM to each and ``waitpid`` for the stop. And for the stop, a
bare supervisor loop: the same children with stdio pipes as both supervisors give them,
stopped by an asyncio loop that does what any supervisor must and nothing more.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import Callable
from typing import Any

from nbsup.runtime.environment import Environment
from nbsup.runtime.spawner import Child

from .harness import Rpc, median, row, workdir
from .procs import (
    BareLoop,
    NbsupHost,
    lean_config,
    lean_supervisord,
    raise_fd_limit,
    rss_bytes,
    wait_supervisord_states,
)

NAME = "scale"
PROGRAMS = 1000
QUICK_PROGRAMS = 50
#: Start-then-stop rounds per supervisor (the same daemon or host each round); the times
#: are their medians. One stop of 1,000 took supervisord 0.35-0.8 s across runs.
ROUNDS = 3
STARTSECS = 1
COMMAND = "sleep 1000"
STOPPED = ["STOPPED", "EXITED", "FATAL"]


def programs(n: int) -> dict[str, tuple[str, dict[str, str]]]:
    """The ``n`` programs, as :func:`benchmarks.procs.lean_config` writes them."""
    return {
        f"s{i}": (COMMAND, {"startsecs": str(STARTSECS), "autostart": "false"}) for i in range(n)
    }


def raw_seconds(n: int) -> tuple[float, float]:
    """(spawn ``n`` sleeps, then SIGTERM + waitpid them all): seconds of each phase."""
    path = shutil.which("sleep") or "/bin/sleep"
    env = dict(os.environ)
    t0 = time.monotonic()
    pids = [os.posix_spawn(path, [path, "1000"], env) for _ in range(n)]
    t1 = time.monotonic()
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    for pid in pids:
        os.waitpid(pid, 0)
    return t1 - t0, time.monotonic() - t1


def bare_loop_stop_seconds(n: int) -> float:
    """Seconds for a bare supervisor loop to stop ``n`` sleeps: SIGTERM to each, then each
    exit awaited on a pidfd (:class:`~benchmarks.procs.BareLoop`), its pipes drained and
    closed (no records)."""
    return asyncio.run(_bare_loop_stop(n))


async def _bare_loop_stop(n: int) -> float:
    path = shutil.which("sleep") or "/bin/sleep"
    bare = BareLoop(asyncio.get_running_loop(), Environment(dict(os.environ)))
    finished = bare.loop.create_future()
    children: list[Child] = []
    left = n

    def exited(child: Child) -> None:
        nonlocal left
        bare.reap(child)
        bare.release(child)
        left -= 1
        if left == 0:
            finished.set_result(None)

    try:
        for _ in range(n):
            children.append(bare.spawn([path, "1000"], exited))
        await asyncio.sleep(STARTSECS)  # as the supervisors: every child has run a while
        started = time.monotonic()
        for child in children:
            os.kill(child.pid, signal.SIGTERM)
        await finished
        return time.monotonic() - started
    finally:
        bare.close()


def rpc_rounds(
    rpc: Rpc,
    n: int,
    rounds: int,
    who: str,
    settle: Callable[[str], None] = lambda phase: None,
) -> tuple[list[float], list[float]]:
    """Seconds of each ``startAllProcesses(True)`` and ``stopAllProcesses(True)`` over
    ``rounds`` start-then-stop rounds; ``settle("started")``/``settle("stopped")`` runs
    after each call, untimed."""
    starts: list[float] = []
    stops: list[float] = []
    for _ in range(rounds):
        t0 = time.monotonic()
        results = rpc.call("startAllProcesses", True)
        starts.append(time.monotonic() - t0)
        failed = [r for r in results if r["status"] != 80]  # 80: SUCCESS
        if failed or len(results) != n:
            raise RuntimeError(f"{who}: {len(failed)} starts failed: {failed[:3]}")
        settle("started")
        t0 = time.monotonic()
        rpc.call("stopAllProcesses", True)
        stops.append(time.monotonic() - t0)
        settle("stopped")
    return starts, stops


def measure_supervisord(n: int, rounds: int) -> dict[str, Any]:
    settings: dict[str, str] = {}  # minfds: its default, see the module's docstring
    with workdir("scale-empty") as tmp, lean_supervisord({}, tmp, settings) as (proc, _rpc):
        time.sleep(0.5)
        rss_empty = rss_bytes(proc.pid)
    progs = programs(n)
    with workdir("scale-supd") as tmp:
        t0 = time.monotonic()
        with lean_supervisord(progs, tmp, settings, startup_timeout=120) as (proc, rpc):
            load = time.monotonic() - t0
            rss_loaded = rss_bytes(proc.pid)
            running: list[int] = []

            def settle(phase: str) -> None:  # supervisord answers before the states show
                wait_supervisord_states(rpc, {"RUNNING"} if phase == "started" else set(STOPPED), 5)
                if phase == "started" and not running:
                    running.append(rss_bytes(proc.pid))

            starts, stops = rpc_rounds(rpc, n, rounds, "supervisord", settle)
            rss_running = running[0]
    return {
        "load": load,
        "start": median(starts),
        "stop": median(stops),
        "starts": starts,
        "stops": stops,
        "rss_empty": rss_empty,
        "rss_loaded": rss_loaded,
        "rss_running": rss_running,
    }


def load_seconds(n: int) -> float:
    """Seconds for nbsup's ``load_config`` to add the ``n`` programs from the same
    supervisord.conf supervisord reads (in a host of its own: the measures of memory use
    programs added through the API, without a parser's garbage in the RSS)."""
    with workdir("scale-load") as tmp, NbsupHost(tmp) as host:
        conf = lean_config(programs(n), tmp, tmp / "unused.sock")
        reply = host.call("load", path=str(conf))
        if reply["programs"] != n:
            raise RuntimeError(f"nbsup loaded {reply['programs']} programs of {n}")
        return float(reply["seconds"])


def add_programs(host: NbsupHost, n: int) -> None:
    options = {"startsecs": STARTSECS, "autostart": False}
    host.call("add", n=n, prefix="s", command=COMMAND, options=options)


def measure_nbsup(n: int, rounds: int) -> dict[str, Any]:
    load = load_seconds(n)
    with workdir("scale-nbsup") as tmp, NbsupHost(tmp) as host:
        rss_empty = rss_bytes(host.pid)
        add_programs(host, n)
        rss_loaded = rss_bytes(host.pid)
        starts: list[float] = []
        stops: list[float] = []
        for _ in range(rounds):
            reply = host.call("start", until=["RUNNING", "FATAL", "BACKOFF"], timeout=300)
            if reply["states"].get("RUNNING") != n:
                raise RuntimeError(f"nbsup: not all RUNNING: {reply['states']}")
            starts.append(reply["seconds"])
            if not stops:
                rss_running = rss_bytes(host.pid)
            stops.append(host.call("stop", until=STOPPED, timeout=300)["seconds"])
    return {
        "load": load,
        "start": median(starts),
        "stop": median(stops),
        "starts": starts,
        "stops": stops,
        "rss_empty": rss_empty,
        "rss_loaded": rss_loaded,
        "rss_running": rss_running,
    }


def measure_nbsup_rpc(n: int, rounds: int) -> dict[str, Any]:
    """Start and stop seconds through nbsup's XML-RPC, as for supervisord."""
    with workdir("scale-nbsup-rpc") as tmp:
        sock = tmp / "nbsup.sock"
        settings = {"rpc_enabled": True, "rpc_address": f"unix://{sock}", "rpc_auth": False}
        with NbsupHost(tmp, settings) as host:
            add_programs(host, n)
            rpc = Rpc(sock)
            starts, stops = rpc_rounds(rpc, n, rounds, "nbsup XML-RPC")
    return {"start": median(starts), "stop": median(stops), "starts": starts, "stops": stops}


def run(quick: bool = False) -> list[dict]:
    n = QUICK_PROGRAMS if quick else PROGRAMS
    soft = raise_fd_limit(8 * n + 256)
    rounds = 1 if quick else ROUNDS
    raws = [raw_seconds(n) for _ in range(3)]
    raw_start = median([r[0] for r in raws])
    raw_stop = median([r[1] for r in raws])
    bare_stop = median([bare_loop_stop_seconds(n) for _ in range(rounds)])
    nb = measure_nbsup(n, rounds)
    nb_rpc = measure_nbsup_rpc(n, rounds)
    sd = measure_supervisord(n, rounds)
    fds = f"ulimit -n {soft} (inherited), supervisord minfds=1024 (default)"
    kib = 1024.0

    def rounds_note(m: dict[str, Any], key: str) -> str:
        times = ", ".join(f"{t:.3f}" for t in m[key])
        return f"median of {rounds} rounds: nbsup {times}; supervisord " + ", ".join(
            f"{t:.3f}" for t in sd[key]
        )

    def per_program(m: dict[str, Any], key: str) -> float:
        return (m[key] - m["rss_empty"]) / n / kib

    start_note = f"limit: startsecs + {n} posix_spawns ({raw_start:.3f} s); {fds}"
    stop_note = f"limit: kill + waitpid of {n} sleeps; {fds}"
    rows = []
    for how, m in (("Python API", nb), ("XML-RPC", nb_rpc)):
        rows.append(
            row(
                NAME,
                f"start {n:,} programs to RUNNING (startsecs={STARTSECS}), nbsup {how}",
                m["start"],
                sd["start"],
                unit="s",
                target="<= supervisord",
                limit=STARTSECS + raw_start,
                note=(
                    f"supervisord: XML-RPC startAllProcesses(True); {start_note}; "
                    + rounds_note(m, "starts")
                ),
            )
        )
    for how, m in (("Python API", nb), ("XML-RPC", nb_rpc)):
        rows.append(
            row(
                NAME,
                f"stop {n:,} programs (SIGTERM), nbsup {how}",
                m["stop"],
                sd["stop"],
                unit="s",
                target="<= supervisord",
                limit=raw_stop,
                note=(
                    f"supervisord: XML-RPC stopAllProcesses(True); {stop_note}; "
                    + rounds_note(m, "stops")
                ),
            )
        )
    rows.append(
        row(
            NAME,
            f"stop {n:,} programs, bare supervisor loop (limit of any supervisor with stdio pipes)",
            nb["stop"],
            None,
            unit="s",
            limit=bare_stop,
            note=(
                "SIGTERM to each child, each exit awaited on a pidfd (one epoll), its pipes "
                "drained and closed, no records; nbsup: Python API"
            ),
        )
    )
    return [
        *rows,
        row(
            NAME,
            f"memory per RUNNING program ({n:,})",
            per_program(nb, "rss_running"),
            per_program(sd, "rss_running"),
            unit="KiB",
            note=(
                "(RSS all RUNNING - RSS with no programs) / programs; of which configured, "
                f"not started: nbsup {per_program(nb, 'rss_loaded'):.1f} KiB, "
                f"supervisord {per_program(sd, 'rss_loaded'):.1f} KiB"
            ),
        ),
        row(
            NAME,
            f"load {n:,} program definitions",
            nb["load"],
            sd["load"],
            unit="s",
            note=(
                "the same supervisord.conf; nbsup: load_config; supervisord: launch until "
                "its XML-RPC answers (includes interpreter start and config parsing)"
            ),
        ),
    ]
