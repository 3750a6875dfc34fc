"""Fixtures for real-process tests: a supervisor per test that is always shut down and
checked for leftover processes, and event-driven waits (no sleep-and-poll).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from process_waits import wait_exited
from program_waits import wait_output, wait_until

import nbsup
from nbsup.core.record import COLUMNS
from nbsup.runtime.launcher import LocalLauncher

CHILD = Path(__file__).resolve().parents[1] / "helpers" / "child.py"


def child_command(*args: object) -> str:
    """The command line running tests/helpers/child.py with ``args``."""
    return shlex.join([sys.executable, "-S", str(CHILD), *map(str, args)])


def wait_gone(pid: int, timeout: float) -> bool:
    """Block until process ``pid`` has exited (a zombie counts as gone), at most ``timeout``."""
    return not wait_exited([pid], timeout)


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of ``pid``, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2])


def is_ours(pid: int) -> bool:
    """True if ``pid`` is alive (not a zombie) and runs the helper child (pid reuse guard)."""
    stat = proc_stat(pid)
    if stat is None or stat[0] == "Z":
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return str(CHILD).encode() in file.read()
    except OSError:
        return False


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid`` running the helper child."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None and stat[1] == pgid and is_ours(int(entry)):
                members.append(int(entry))
    return members


def vm_rss_kib() -> int:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


class Harness:
    """One supervisor for one test, with waits that block on events, never on sleeps."""

    child_path = CHILD
    command = staticmethod(child_command)
    wait_gone = staticmethod(wait_gone)
    rss_kib = staticmethod(vm_rss_kib)

    def __init__(self, tmp_path: Path, **supervisor_options: Any) -> None:
        self.tmp_path = tmp_path
        self.sup = nbsup.Supervisor(state_dir=str(tmp_path / "state"), **supervisor_options)
        self.extra_pids: set[int] = set()
        self.watchdog_pid = self.sup._runner.driver.launcher.watchdog.pid

    # ------------------------------------------------------------------ programs

    def add(self, name: str, *args: object, **options: Any) -> nbsup.Program:
        """Add a program running the helper child with ``args``."""
        return self.sup.add_program(name, command=child_command(*args), **options)

    def track(self, pid: int) -> int:
        """Check at teardown that ``pid`` (e.g. a grandchild) is gone."""
        self.extra_pids.add(pid)
        return pid

    # ------------------------------------------------------------------ reading

    def records(self, name: str | None = None) -> list[dict[str, Any]]:
        """The event rows (as dicts), read straight from the store: cheap on the loop thread."""
        store = self.sup._store
        with store._lock:
            rows = [
                dict(zip(COLUMNS, values, strict=True))
                for values in zip(*(store._columns[c] for c in COLUMNS), strict=True)
            ]
        return [r for r in rows if name is None or r["program"] == name]

    def entered(self, name: str, state: str) -> list[dict[str, Any]]:
        """The records of ``name`` entering ``state``."""
        return [r for r in self.records(name) if r["to_state"] == state]

    def wait_until(
        self, programs: list[nbsup.Program], predicate: Callable[[], bool], timeout: float
    ) -> None:
        """Block until ``predicate()`` holds, re-checked at each state change of ``programs``."""
        wait_until(self.sup, programs, predicate, timeout)

    def wait_entered(
        self, program: nbsup.Program, state: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until ``program`` has entered ``state`` ``count`` times; return those rows."""
        self.wait_until([program], lambda: len(self.entered(program.name, state)) >= count, timeout)
        return self.entered(program.name, state)

    def wait_output(
        self, program: nbsup.Program, text: str, channel: str = "stdout", timeout: float = 5.0
    ) -> str:
        """Block until ``text`` is in the program's in-memory output tail; return the tail."""
        return wait_output(program, text, channel, timeout)

    def ready(self, program: nbsup.Program, timeout: float = 5.0) -> dict[str, Any]:
        """The child's READY line (its pid, grandchild pid...), waiting for it."""
        text = self.wait_output(program, "READY ", timeout=timeout)
        line = text[text.index("READY ") :].splitlines()[0]
        if not line.endswith("}"):  # the rest of the line is still on its way
            text = self.wait_output(program, line + "\n", timeout=timeout)
            line = text[text.index("READY ") :].splitlines()[0]
        info: dict[str, Any] = json.loads(line[len("READY ") :])
        if "grandchild" in info:
            self.track(info["grandchild"])
        return info

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        """Shut down; then every process this test started must be gone."""
        finished = self.sup.shutdown(15)
        pids = {r["pid"] for r in self.records() if r["pid"] is not None} | self.extra_pids
        leftovers = [pid for pid in sorted(pids) if is_ours(pid) and not wait_gone(pid, 3.0)]
        groups = {pgid: members for pgid in sorted(pids) if (members := group_members(pgid))}
        for pid in leftovers + [m for ms in groups.values() for m in ms]:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        watchdog_gone = wait_gone(self.watchdog_pid, 5.0)
        assert finished, "shutdown did not finish in time"
        assert not leftovers, f"processes left running: {leftovers}"
        assert not groups, f"process groups left running: {groups}"
        assert watchdog_gone, "the watchdog process is still running"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


class RecordingWatchdog:
    """Stands in for the watchdog process: records what it is told."""

    pid = os.getpid()  # its pidfd never becomes readable while the test runs

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    def watch(self, pgid: int, stopsignal: int) -> None:
        self.told.append(("watch", pgid))

    def forget(self, pgid: int) -> None:
        self.told.append(("forget", pgid))

    def sweep(self, pgid: int, delay: float, repeat: float) -> None:
        self.told.append(("sweep", pgid))

    def close(self) -> None:
        pass


@pytest.fixture
def launcher() -> Iterator[tuple[LocalLauncher, RecordingWatchdog]]:
    """A real launcher on a loop that is not running (its calls are made directly), with a
    recording stand-in for its watchdog."""
    loop = asyncio.new_event_loop()
    watchdog = RecordingWatchdog()
    launcher = LocalLauncher(loop, watchdog)  # type: ignore[arg-type]
    yield launcher, watchdog
    launcher.close()
    loop.close()
