"""Helpers for the kernel tests: a real Jupyter kernel (ipykernel over ipc, driven by jupyter_client).

* ``kernel``: ONE kernel for the whole session, with ``%load_ext nbsup`` already run (its
  result is kept in ``kernel.load_result`` for the test that checks it). Tests that share
  it use distinct program names.
* ``fresh_kernel``: a kernel of its own for a test that kills, restarts or unloads.

Each kernel runs with its cwd in a temporary folder (so ``.nbsup/`` lands there), its
connection file and ipc sockets in that folder too, and ``IPYTHONDIR`` pointing at an
empty folder (no user profile). At teardown the kernel is shut down and every process
it started, and every process a test handed to :meth:`KernelSession.track`, must be gone.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from jupyter_client import KernelManager
from process_waits import wait_exited

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTUP_TIMEOUT = 60.0
CELL_TIMEOUT = 60.0

#: Defined in every kernel: small helpers the tests' cells use.
KERNEL_PRELUDE = r"""
import json as _json, os as _os, time as _time
import nbsup as _nbsup

def _until(predicate, program, timeout=10.0):
    # re-checked at each state change and each stdout write of `program`: no polling
    import threading as _threading
    changed = _threading.Event()
    wake = lambda *_: changed.set()
    output = program.output_channel("stdout")
    program.observe(wake, names="state")
    output.add_listener(wake)
    try:
        deadline = _time.monotonic() + timeout
        while not predicate():
            left = deadline - _time.monotonic()
            if left <= 0 or not changed.wait(left):
                raise TimeoutError(f"condition not met within {timeout} s")
            changed.clear()
    finally:
        program.unobserve(wake, names="state")
        output.remove_listener(wake)

def _stop_for_good(programs, timeout):
    # stop each program; one caught between an exit and its immediate restart refuses
    # (NOT_RUNNING) and is asked again
    for p in programs:
        for _attempt in range(50):
            try:
                p.stop(wait=True, timeout=timeout)
                break
            except _nbsup.Fault:
                pass

def _snapshot():
    sup = _nbsup.get_supervisor()
    scripts = sup.session_dir / "scripts"
    return {"names": sorted(p.name for p in sup), "events": len(sup.events),
            "scripts": sorted(_os.listdir(scripts)) if scripts.exists() else []}

def _program(name):
    p = _nbsup.get_supervisor()[name]
    return {"pid": p.pid, "state": p.state.value, "events": len(p.events),
            "startsecs": p.options.startsecs, "command": p.options.command}

def _events(name, sup=None):
    import pandas as _pd
    def _opt(value, kind):
        return None if _pd.isna(value) else kind(value)
    frame = (sup if sup is not None else _nbsup.get_supervisor())[name].events
    return [
        {"from": str(r["from_state"]), "to": str(r["to_state"]), "elapsed": float(r["elapsed"]),
         "time": r["time"].timestamp(), "pid": _opt(r["pid"], int),
         "signal": _opt(r["signal"], str), "exitstatus": _opt(r["exitstatus"], int),
         "message": str(r["message"])}
        for r in frame.to_dict("records")
    ]
"""


class Result(tuple):
    """``(stdout, stderr, error)`` of one cell, plus ``elapsed`` (s) and the ``reply``.

    ``error`` is None or a dict with ``ename``, ``evalue`` and ``traceback`` (from the
    iopub ``error`` message, or from the execute reply when the kernel sent none, as it
    does for a UsageError).
    """

    stdout: str
    stderr: str
    error: dict[str, Any] | None
    elapsed: float
    reply: dict[str, Any]

    def __new__(
        cls,
        stdout: str,
        stderr: str,
        error: dict[str, Any] | None,
        elapsed: float,
        reply: dict[str, Any],
    ) -> Result:
        self = super().__new__(cls, (stdout, stderr, error))
        self.stdout, self.stderr, self.error = stdout, stderr, error
        self.elapsed, self.reply = elapsed, reply
        return self

    def kernel_seconds(self) -> float:
        """How long the kernel spent on the cell (reply metadata ``started`` -> reply date)."""
        started = _as_datetime(self.reply["metadata"]["started"])
        finished = _as_datetime(self.reply["header"]["date"])
        return (finished - started).total_seconds()

    def kernel_interval(self) -> tuple[float, float]:
        """The cell's execution as epoch seconds (kernel clock): (started, finished)."""
        started = _as_datetime(self.reply["metadata"]["started"])
        finished = _as_datetime(self.reply["header"]["date"])
        return started.timestamp(), finished.timestamp()


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class KernelSession:
    """One kernel and its client, with helpers to run cells and watch processes."""

    def __init__(self, folder: Path) -> None:
        self.cwd = folder
        ipython_dir = folder / "ipython"
        ipython_dir.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({"IPYTHONDIR": str(ipython_dir), "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        self.km = KernelManager(
            kernel_name="python3",
            transport="ipc",
            connection_file=str(folder / "kernel.json"),
        )
        self._log = open(folder / "kernel.log", "ab")  # closed in shutdown()
        self.km.start_kernel(cwd=str(folder), env=env, stdout=self._log, stderr=self._log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        self._tracked: dict[int, psutil.Process] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self.load_result: Result | None = None
        self.closed = False
        self.pid = self.kernel_pid()

    # ------------------------------------------------------------------ cells

    def run(self, code: str, timeout: float = CELL_TIMEOUT) -> Result:
        """Run one cell and wait for it: ``(stdout, stderr, error)`` plus timing."""
        out: list[str] = []
        err: list[str] = []
        errors: list[dict[str, Any]] = []

        def hook(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                (out if content["name"] == "stdout" else err).append(content["text"])
            elif kind == "display_data":  # a widget's text form (what a terminal would show)
                out.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                errors.append({k: content.get(k) for k in ("ename", "evalue", "traceback")})

        started = time.monotonic()
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        elapsed = time.monotonic() - started
        return self._result(out, err, errors, elapsed, reply)

    def submit(self, code: str) -> str:
        """Send a cell without waiting; collect it later with :meth:`collect`."""
        return str(self.kc.execute(code))

    def wait_for_output(self, msg_id: str, text: str, timeout: float = 10.0) -> None:
        """Read iopub until the cell ``msg_id`` has printed ``text``; its messages are kept
        for :meth:`collect`."""
        deadline = time.monotonic() + timeout
        kept = self._pending.setdefault(msg_id, [])
        while True:
            printed = "".join(m["content"]["text"] for m in kept if m["msg_type"] == "stream")
            if text in printed:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell did not print {text!r} within {timeout} s: {printed!r}")
            msg = self.kc.get_iopub_msg(timeout=remaining)
            if msg["parent_header"].get("msg_id") == msg_id:
                kept.append(msg)

    def collect(self, msg_id: str, timeout: float = CELL_TIMEOUT) -> Result:
        """Wait for a cell sent with :meth:`submit` to finish."""
        started = time.monotonic()
        deadline = started + timeout
        out: list[str] = []
        err: list[str] = []
        errors: list[dict[str, Any]] = []
        messages = list(self._pending.pop(msg_id, []))
        idle = False
        while True:
            for msg in messages:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    (out if content["name"] == "stdout" else err).append(content["text"])
                elif kind == "display_data":
                    out.append(content["data"].get("text/plain", "") + "\n")
                elif kind == "error":
                    errors.append({k: content.get(k) for k in ("ename", "evalue", "traceback")})
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
            if idle:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell {msg_id} did not finish within {timeout} s")
            msg = self.kc.get_iopub_msg(timeout=remaining)
            messages = [msg] if msg["parent_header"].get("msg_id") == msg_id else []
        while True:
            remaining = max(0.1, deadline - time.monotonic())
            reply = self.kc.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        return self._result(out, err, errors, time.monotonic() - started, reply)

    @staticmethod
    def _result(
        out: list[str],
        err: list[str],
        errors: list[dict[str, Any]],
        elapsed: float,
        reply: dict[str, Any],
    ) -> Result:
        content = reply["content"]
        error = errors[0] if errors else None
        if error is None and content.get("status") == "error":
            error = {k: content.get(k) for k in ("ename", "evalue", "traceback")}
        return Result("".join(out), "".join(err), error, elapsed, reply)

    def ok(self, code: str, timeout: float = CELL_TIMEOUT) -> str:
        """Run a cell that must not fail; return its stdout."""
        result = self.run(code, timeout)
        if result.error is not None:
            trace = _ANSI.sub("", "\n".join(result.error.get("traceback") or []))
            raise AssertionError(
                f"cell failed: {result.error['ename']}: {result.error['evalue']}\n"
                f"--- cell ---\n{code}\n--- traceback ---\n{trace}"
            )
        return result.stdout

    def value(self, expression: str, timeout: float = CELL_TIMEOUT) -> Any:
        """Evaluate a JSON-able Python expression in the kernel."""
        text = self.ok(f"print(_json.dumps({expression}))", timeout)
        return json.loads(text.strip().splitlines()[-1])

    # ------------------------------------------------------------------ processes

    def kernel_pid(self) -> int:
        return int(self.ok("import os; print(os.getpid())").strip())

    def descendants(self) -> list[psutil.Process]:
        """Every live process below the kernel (programs, their children, the watchdog)."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def track(self, pids: Iterable[int]) -> list[psutil.Process]:
        """Remember processes that must be gone when the kernel is shut down."""
        procs = []
        for pid in pids:
            try:
                proc = psutil.Process(pid)
            except psutil.NoSuchProcess:
                continue
            self._tracked.setdefault(pid, proc)
            procs.append(proc)
        return procs

    def track_tree(self, pid: int) -> list[psutil.Process]:
        """Track ``pid`` and every process below it; return them."""
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        return self.track(p.pid for p in tree)

    # ------------------------------------------------------------------ shutdown

    def shutdown(self, now: bool = False) -> list[str]:
        """Shut the kernel down; return a description of every process left behind
        (which is then killed, so nothing leaks from the test run)."""
        if self.closed:
            return []
        self.closed = True
        watched = {p.pid: p for p in self.descendants()}
        watched.update(self._tracked)
        try:
            self.kc.stop_channels()
        finally:
            try:
                if self.km.has_kernel:
                    # a dead kernel cannot answer a shutdown request: do not wait for it
                    self.km.shutdown_kernel(now=now or not self.km.is_alive())
            finally:
                self.km.cleanup_resources()
                self._log.close()
        alive = wait_gone(watched.values(), timeout=5.0)
        leftovers = [f"{p.pid} {_describe(p)}" for p in alive]
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        return leftovers


def _describe(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())[:120]
    except psutil.Error:
        return "?"


def is_alive(proc: psutil.Process | int) -> bool:
    """True for a process that exists, is the same process, and is not a zombie."""
    try:
        if isinstance(proc, int):
            proc = psutil.Process(proc)
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(procs: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has ended (zombies count as ended); return the live ones."""
    procs = [p for p in procs if is_alive(p)]  # also drops a pid reused by another process
    running = set(wait_exited([p.pid for p in procs], timeout))
    return [p for p in procs if p.pid in running]


def _start(folder: Path) -> KernelSession:
    session = KernelSession(folder)
    session.ok(KERNEL_PRELUDE)
    session.load_result = session.run("%load_ext nbsup")
    return session
