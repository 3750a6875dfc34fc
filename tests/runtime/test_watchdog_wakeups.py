"""The guard reads the kernel's lines in batches: a restart loop does not wake it per line."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
import time

from process_waits import poll_until

from nbsup.runtime.watchdog import READ_NAP, Watchdog


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc status")


def _unread(watchdog: Watchdog) -> int:
    """Bytes written to the guard's pipe that it has not read yet."""
    return struct.unpack("i", fcntl.ioctl(watchdog._fd, termios.FIONREAD, b"\0" * 4))[0]


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_many_lines_wake_the_guard_a_few_times_a_second() -> None:
    watchdog = Watchdog()
    try:
        watchdog.forget(3_999_999)  # started up once it has read a line and sleeps again
        poll_until(lambda: _unread(watchdog) == 0 and _state(watchdog.pid) == "S", 10)
        before = _switches(watchdog.pid)
        lines = 0
        second = threading.Event()
        threading.Timer(1.0, second.set).start()
        while not second.wait(0.0005):  # 2 lines per "restart", ~2,000 restarts a second
            watchdog.watch(4_000_000 + lines, signal.SIGTERM)
            watchdog.forget(4_000_000 + lines)
            lines += 2
        woken = _switches(watchdog.pid) - before
        assert lines > 500
        assert woken <= 3 * (1.0 / READ_NAP) + 5, (woken, lines)
    finally:
        watchdog.close()


def test_a_dead_kernel_is_still_noticed_at_once_after_a_nap() -> None:
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    watchdog = Watchdog()
    try:
        watchdog.watch(child.pid, signal.SIGTERM)
        ended = threading.Event()
        threading.Thread(target=lambda: (child.wait(), ended.set()), daemon=True).start()
        t0 = time.monotonic()
        os.close(watchdog._fd)  # what the kernel's death does to the pipe
        assert ended.wait(5)
        assert time.monotonic() - t0 < READ_NAP + 1.0
        assert child.returncode == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
        watchdog._process.wait(5)
