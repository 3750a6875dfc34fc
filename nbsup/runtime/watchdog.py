"""A tiny guard process that kills the programs' process groups if the kernel dies.

Programs run in sessions of their own (so a kernel interrupt never reaches them), which
also means nothing kills them when the kernel is killed. The watchdog is started once per
supervisor, in its own session, reading a pipe from the kernel: ``+PGID SIGNAL`` when a
program starts, ``-PGID`` when its group is gone. When the pipe reaches end-of-file (the
kernel exited, however it exited) it sends each group its stop signal, waits up to one
second, then SIGKILLs whatever is left, grandchildren included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

GRACE_SECONDS = 1.0

_GUARD = r"""
import os, signal, sys, time
groups = {}
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0].startswith("+"):
        groups[int(parts[0][1:])] = int(parts[1])
    elif parts[0].startswith("-"):
        groups.pop(int(parts[0][1:]), None)
def send(pgid, sig):
    try:
        os.killpg(pgid, sig)
        return True
    except OSError:
        return False
def running(pgid):
    # a zombie still counts for killpg, and orphans' zombies wait for an init that may
    # never reap them: look for a member that is not one
    try:
        entries = os.listdir("/proc")
    except OSError:
        return send(pgid, 0)
    for entry in entries:
        try:
            with open("/proc/" + entry + "/stat") as file:
                stat = file.read()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
alive = [pgid for pgid, sig in groups.items() if send(pgid, sig)]
deadline = time.monotonic() + float(sys.argv[1])
while alive and time.monotonic() < deadline:
    time.sleep(0.05)
    alive = [pgid for pgid in alive if running(pgid)]
for pgid in alive:
    send(pgid, signal.SIGKILL)
"""


class Watchdog:
    """The kernel's side of the guard process; all methods are cheap pipe writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-c", _GUARD, str(GRACE_SECONDS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        assert self._process.stdin is not None
        self._fd = self._process.stdin.fileno()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _write(self, line: str) -> None:
        with self._lock:
            try:
                os.write(self._fd, line.encode())
            except OSError:
                pass

    def watch(self, pgid: int, stopsignal: int) -> None:
        """Kill group ``pgid`` (first with ``stopsignal``) if the kernel dies."""
        self._write(f"+{pgid} {int(stopsignal)}\n")

    def forget(self, pgid: int) -> None:
        """Group ``pgid`` is gone: never signal it."""
        self._write(f"-{pgid}\n")

    def close(self) -> None:
        """Let the guard exit (every program was stopped)."""
        with self._lock:
            if self._process.stdin and not self._process.stdin.closed:
                self._process.stdin.close()
        try:
            self._process.wait(GRACE_SECONDS + 2)
        except subprocess.TimeoutExpired:
            self._process.kill()
