"""A tiny guard process that kills the programs' process groups if the kernel dies.

Programs run in sessions of their own (so a kernel interrupt never reaches them), which
also means nothing kills them when the kernel is killed. The watchdog is started once per
supervisor, in its own session, reading a pipe from the kernel: ``+PGID SIGNAL`` when a
program starts, ``-PGID`` when its group is gone. When the pipe reaches end-of-file (the
kernel exited, however it exited) it sends each group its stop signal, waits up to one
second, then SIGKILLs whatever is left, grandchildren included. Lines wait in the pipe
until the guard reads them, at most :data:`READ_NAP` apart: nothing in them is urgent (a
dead kernel's lines are all read before the end-of-file), and writes that do not wake a
process keep a restart loop's two lines per restart from costing a context switch each.

It also finishes off what a program leaves behind: ``~PGID DELAY REPEAT`` says that the
program's process ended while members of its group live on (grandchildren it forked); the
guard SIGKILLs the group ``DELAY`` seconds later, again every ``REPEAT`` seconds while a
member lives, then forgets it. Telling whether only zombies are left takes a scan of
``/proc`` (tens of milliseconds on a busy machine): done here, it never stalls the kernel's
supervision loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

GRACE_SECONDS = 1.0
#: The guard reads the pipe at most this often (seconds): a program restarting hundreds of
#: times a second sends two lines per restart, which then wake the guard a few times a
#: second instead of at each line. Its sweeps stay on time; a dead kernel is noticed this
#: much later at most.
READ_NAP = 0.1
#: A guard that dies younger than this, this many times in a row, is not replaced again.
QUICK_DEATH_SECONDS = 1.0
MAX_QUICK_DEATHS = 5
#: Swept groups remembered before the gone ones are forgotten.
PRUNE_AT = 64

_GUARD = r"""
import os, select, signal, sys, time
groups = {}  # pgid: its stop signal
sweeps = {}  # pgid: (when to SIGKILL it, repeat interval)
def send(pgid, sig):
    try:
        os.killpg(pgid, sig)
        return True
    except OSError:
        return False
def running(pgids):
    # the groups among pgids with a live member: a zombie still counts for killpg, and
    # orphans' zombies wait for an init that may never reap them. One scan of /proc for
    # all of them (it takes tens of milliseconds on a busy machine)
    pgids = [pgid for pgid in pgids if send(pgid, 0)]
    if not pgids:
        return set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set(pgids)
    wanted, found = set(pgids), set()
    for entry in entries:
        try:
            with open("/proc/" + entry + "/stat") as file:
                stat = file.read()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) in wanted:
            found.add(int(fields[2]))
    return found
def handle(line):
    parts = line.split()
    if not parts:
        return
    kind, pgid = parts[0][0], int(parts[0][1:])
    if kind == "+":  # a new group (a pid is not reused while a group has it: a new one)
        groups[pgid] = int(parts[1])
        sweeps.pop(pgid, None)
    elif kind == "-":
        groups.pop(pgid, None)
        sweeps.pop(pgid, None)
    elif kind == "~":
        sweeps[pgid] = (time.monotonic() + float(parts[1]), float(parts[2]))
def sweep_due():
    now = time.monotonic()
    due = [pgid for pgid, (when, _) in sweeps.items() if when <= now]
    live = running(due)
    for pgid in due:
        if pgid in live:
            send(pgid, signal.SIGKILL)
            sweeps[pgid] = (now + sweeps[pgid][1], sweeps[pgid][1])
        else:
            del sweeps[pgid]
            groups.pop(pgid, None)
def until_sweep():
    if not sweeps:
        return None
    return max(0.0, min(due for due, _ in sweeps.values()) - time.monotonic())
fd = sys.stdin.fileno()
nap = float(sys.argv[2])
pending = b""
while True:
    if select.select([fd], [], [], until_sweep())[0]:
        data = os.read(fd, 1 << 20)
        if not data:
            break
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            handle(line.decode())
        # let the next lines gather in the pipe: a kernel's write that does not wake this
        # process costs it microseconds; one that does, a context switch on its core
        due = until_sweep()
        time.sleep(nap if due is None else min(nap, due))
    sweep_due()
alive = [pgid for pgid, sig in groups.items() if send(pgid, sig)]
deadline = time.monotonic() + float(sys.argv[1])
while alive and time.monotonic() < deadline:
    time.sleep(0.05)
    alive = list(running(alive))
for pgid in alive:
    send(pgid, signal.SIGKILL)
"""


class Watchdog:
    """The kernel's side of the guard process; all methods are cheap pipe writes.

    It also remembers what it told the guard, so that a guard that died (killed by someone
    else) can be replaced by :meth:`restart` with the same groups: the launcher calls it as
    soon as the guard's pidfd says it exited.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._groups: dict[int, int] = {}  # pgid: stop signal
        self._sweeps: dict[int, tuple[float, float]] = {}  # pgid: (monotonic due, repeat)
        self._closed = False
        self._quick_deaths = 0
        self._prune_at = PRUNE_AT
        #: How many times the guard was replaced.
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-c", _GUARD, str(GRACE_SECONDS), str(READ_NAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        self._started = time.monotonic()
        assert self._process.stdin is not None
        self._fd = self._process.stdin.fileno()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _write(self, line: str) -> None:  # with the lock held
        try:
            os.write(self._fd, line.encode())
        except OSError:
            pass

    def watch(self, pgid: int, stopsignal: int) -> None:
        """Kill group ``pgid`` (first with ``stopsignal``) if the kernel dies."""
        with self._lock:
            self._groups[pgid] = int(stopsignal)
            self._sweeps.pop(pgid, None)
            self._write(f"+{pgid} {int(stopsignal)}\n")

    def forget(self, pgid: int) -> None:
        """Group ``pgid`` is gone: never signal it."""
        with self._lock:
            self._groups.pop(pgid, None)
            self._sweeps.pop(pgid, None)
            self._write(f"-{pgid}\n")

    def sweep(self, pgid: int, delay: float, repeat: float) -> None:
        """Group ``pgid``'s leader ended but members live on: SIGKILL the group in ``delay``
        seconds, again every ``repeat`` seconds while a live member is left, then forget it."""
        delay = max(0.0, delay)
        with self._lock:
            self._sweeps[pgid] = (time.monotonic() + delay, repeat)
            self._write(f"~{pgid} {delay:.6f} {repeat:.6f}\n")
            if len(self._sweeps) > self._prune_at:
                self._prune()

    def _prune(self) -> None:  # with the lock held
        """Forget the swept groups that are gone (the guard forgets them by itself): a
        program that leaves grandchildren at every restart must not grow this forever."""
        for pgid in [pgid for pgid in self._sweeps if not _group_alive(pgid)]:
            del self._sweeps[pgid]
            self._groups.pop(pgid, None)
        self._prune_at = max(PRUNE_AT, 2 * len(self._sweeps))

    def restart(self) -> bool:
        """Replace a guard that died, telling the new one every group still alive.

        Returns False (and does nothing) once closed, or after the guard died young
        :data:`MAX_QUICK_DEATHS` times in a row (something kills it at once: give up).
        """
        with self._lock:
            if self._closed:
                return False
            try:
                self._process.wait(1.0)
            except subprocess.TimeoutExpired:
                return False  # not dead after all
            if self._process.stdin is not None:
                self._process.stdin.close()
            young = time.monotonic() - self._started < QUICK_DEATH_SECONDS
            self._quick_deaths = self._quick_deaths + 1 if young else 0
            if self._quick_deaths > MAX_QUICK_DEATHS:
                return False
            self._start()
            now = time.monotonic()
            for pgid, stopsignal in list(self._groups.items()):
                if not _group_alive(pgid):  # gone meanwhile (or swept by the old guard)
                    del self._groups[pgid]
                    self._sweeps.pop(pgid, None)
                    continue
                self._write(f"+{pgid} {stopsignal}\n")
                if pgid in self._sweeps:
                    due, repeat = self._sweeps[pgid]
                    self._write(f"~{pgid} {max(0.0, due - now):.6f} {repeat:.6f}\n")
            self.restarts += 1
            self._changed.notify_all()
            return True

    def wait_restarted(self, count: int, timeout: float) -> bool:
        """Block until the guard has been replaced ``count`` times in all (for tests)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.restarts >= count, timeout)

    def close(self) -> None:
        """Let the guard exit (every program was stopped)."""
        with self._lock:
            self._closed = True
            if self._process.stdin and not self._process.stdin.closed:
                self._process.stdin.close()
        try:
            self._process.wait(GRACE_SECONDS + 2)
        except subprocess.TimeoutExpired:
            self._process.kill()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    return True
