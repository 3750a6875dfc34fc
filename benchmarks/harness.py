"""Small helpers shared by the benchmarks: running supervisord, nbsup, statistics.

supervisord is run like ``tests/differential/supervisord_oracle.py`` does (that module is
imported and reused): one daemon with every program, a recording ``PROCESS_STATE`` event
listener (receive times) and ``loglevel=debug`` (log-line times, wall clock, ms truncated).
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbsup

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "differential"), str(ROOT / "tests")]
import supervisord_oracle as oracle  # noqa: E402

# --------------------------------------------------------------------------
# statistics and result rows
# --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0..100) with linear interpolation; NaN when empty."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def row(
    benchmark: str,
    metric: str,
    nbsup_value: float | None,
    supervisord_value: float | None,
    *,
    unit: str,
    target: str = "",
    limit: float | None = None,
    ratio: float | str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One result row. ``ratio`` defaults to nbsup / supervisord."""
    if ratio is None:
        if nbsup_value is not None and supervisord_value:
            ratio = nbsup_value / supervisord_value
        else:
            ratio = "n/a"
    return {
        "benchmark": benchmark,
        "metric": metric,
        "nbsup": nbsup_value,
        "supervisord": supervisord_value,
        "ratio": ratio,
        "target": target,
        "limit": limit,
        "unit": unit,
        "note": note,
    }


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"nbsup-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------
# nbsup
# --------------------------------------------------------------------------


def nbsup_monotonic(sup: nbsup.Supervisor, elapsed: float) -> float:
    """An event row's ``elapsed`` as a CLOCK_MONOTONIC reading."""
    return float(sup._runner.driver.started_at) + float(elapsed)


# --------------------------------------------------------------------------
# supervisord
# --------------------------------------------------------------------------


@dataclass
class Transition:
    program: str
    from_state: str | None
    to_state: str
    tries: int | None
    pid: int | None
    wall: float  # log-line time (epoch s, ms truncated) or listener time as fallback
    recv: float | None  # event listener receive time (epoch s)
    time_source: str  # "log", "listener", "inferred"
    message: str | None


@dataclass
class SupervisordRun:
    transitions: list[Transition]
    workdir: Path
    warnings: list[str] = field(default_factory=list)

    def of(self, program: str) -> list[Transition]:
        return [t for t in self.transitions if t.program == program]


class Rpc:
    """XML-RPC to the running supervisord (one connection per call, thread-safe)."""

    def __init__(self, sock: Path) -> None:
        self.sock = sock

    def call(self, method: str, *args: Any) -> Any:
        proxy = oracle._proxy(self.sock)
        try:
            return getattr(proxy.supervisor, method)(*args)
        finally:
            try:
                proxy("transport").close()
            except Exception:
                pass


def stop_daemon(proc: subprocess.Popen[bytes], rpc: Rpc) -> None:
    """SIGTERM a supervisord and wait for it (its programs stopped by its own rules)."""
    proc.send_signal(signal.SIGTERM)
    try:
        rpc.call("getState")  # wake the poll loop so that it sees the signal
    except Exception:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def run_supervisord(
    programs: dict[str, tuple[str, dict[str, str]]],
    workdir: Path,
    duration: float,
    during: Callable[[Rpc, threading.Event], None] | None = None,
    startup_timeout: float = 15.0,
) -> SupervisordRun:
    """Run one supervisord with ``programs`` (``name -> (command, options)``).

    Runs for ``duration`` seconds after supervisord logged its start (``during`` runs in a
    thread meanwhile, with an XML-RPC handle and a stop event), then SIGTERMs it and
    returns the run-phase transitions (listener order, log-line times).
    """
    scenarios = [
        oracle.Scenario(name, command, options=opts) for name, (command, opts) in programs.items()
    ]
    sock = workdir / "supervisor.sock"
    conf = oracle._write_config(scenarios, workdir, sock)
    marker = uuid.uuid4().hex
    env = dict(os.environ)
    env[oracle._MARKER_VAR] = marker
    env.pop("SUPERVISOR_SERVER_URL", None)
    stop = threading.Event()
    proc: subprocess.Popen[bytes] | None = None
    thread: threading.Thread | None = None
    with open(workdir / "supervisord.stdout", "wb") as out:
        try:
            proc = subprocess.Popen(
                [*oracle.SUPERVISORD, "-n", "-c", str(conf)],
                cwd=str(workdir),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            rpc = Rpc(sock)
            deadline = time.monotonic() + startup_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"supervisord exited early (rc={proc.returncode})")
                if time.monotonic() > deadline:
                    raise RuntimeError("supervisord did not start")
                try:
                    if rpc.call("getState")["statename"] == "RUNNING":
                        break
                except Exception:
                    pass
                time.sleep(0.02)
            if during is not None:
                thread = threading.Thread(target=during, args=(rpc, stop), daemon=True)
                thread.start()
            time.sleep(duration)
            stop.set()
            if thread is not None:
                thread.join(timeout=5)
            stop_daemon(proc, rpc)
        finally:
            stop.set()
            oracle._kill_everything(proc, marker)
    traces, _t0, _exit, warnings = oracle.build_traces(
        scenarios, workdir / "supervisord.log", workdir / "events.jsonl"
    )
    transitions = [
        Transition(
            program=name,
            from_state=r.get("from_state"),
            to_state=r["to_state"],
            tries=r.get("tries"),
            pid=r.get("pid"),
            wall=float(r["wall"]),
            recv=r.get("recv"),
            time_source=str(r.get("time_source")),
            message=r.get("message"),
        )
        for name, rows in traces.items()
        for r in rows
        if r.get("phase", "run") == "run"
    ]
    transitions.sort(key=lambda t: t.wall)
    return SupervisordRun(transitions, workdir, list(warnings))
