"""Support for the program-fault suite: one real supervisor per test, every process the test
could see tracked, and a close that fails the test if any of them is left behind.

Tracking uses psutil objects (a pid plus its start time, so a reused pid is never mistaken
for ours): each program process, its descendants (``children(recursive=True)``), the
members of its process group and session, and every pid the child reports. Waits block on
events (transitions, output, pidfds), never on sleeps.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil
from process_waits import wait_exited
from program_waits import wait_output, wait_until

import nbsup
from nbsup.core.record import COLUMNS

PROGRAM = Path(__file__).resolve().with_name("faulty_program.py")


def faulty(*args: object) -> str:
    """The command line running ``faulty_program.py`` with ``args``."""
    return shlex.join([sys.executable, "-S", str(PROGRAM), *map(str, args)])


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state letter, parent pid, process group, session) of ``pid``; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def alive(proc: psutil.Process) -> bool:
    """True while ``proc`` (this very process, not a reuse of its pid) runs; zombies are gone."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def members(pgid_or_sid: int) -> list[int]:
    """Live processes whose process group or session is ``pgid_or_sid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None and stat[0] != "Z" and pgid_or_sid in (stat[2], stat[3]):
                found.append(int(entry))
    return found


def rss_mib() -> float:
    """This process's resident memory, in MiB."""
    return psutil.Process().memory_info().rss / (1 << 20)


def reset_peak_rss() -> None:
    """Make VmHWM start again from the current RSS (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def peak_rss_mib() -> float:
    """The peak resident memory since :func:`reset_peak_rss`, in MiB."""
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def measure(label: str, value: object) -> None:
    """Print a measured number (``pytest -s`` shows them)."""
    print(f"[measure] {label}: {value}")


class FaultRun:
    """A private supervisor for one fault test, and the processes the test has seen."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        # the log files must hold exactly what the programs wrote: no attempt marker lines
        self.sup = nbsup.Supervisor(state_dir=str(tmp_path / "state"), attempt_markers=False)
        self.watchdog = psutil.Process(self.sup._runner.driver.launcher.watchdog.pid)
        self.tracked: dict[int, psutil.Process] = {}
        self.closed = False

    # ------------------------------------------------------------------ programs

    def add(self, name: str, *args: object, **options: Any) -> nbsup.Program:
        """Add a program running ``faulty_program.py`` with ``args``."""
        return self.sup.add_program(name, command=faulty(*args), **options)

    def track(
        self, pids: Iterable[int], born_by: float | None = None, faulty_only: bool = False
    ) -> None:
        """Remember these processes: the test fails if any still runs at close.

        A pid whose process is gone is skipped; so is one reused by a process started after
        ``born_by`` (epoch seconds) or, with ``faulty_only``, not running faulty_program.py.
        """
        for pid in pids:
            if not pid or pid in self.tracked:
                continue
            try:
                proc = psutil.Process(pid)
                if born_by is not None and proc.create_time() > born_by:
                    continue
                if faulty_only and str(PROGRAM) not in proc.cmdline():
                    continue
            except psutil.Error:
                continue
            self.tracked[pid] = proc

    def track_tree(self, pid: int) -> list[int]:
        """Track ``pid``, its descendants and its group's and session's members; return them."""
        seen = [pid]
        try:
            seen += [child.pid for child in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        seen += members(pid)
        self.track(seen)
        return sorted(set(seen))

    def report(self, program: nbsup.Program, timeout: float = 10.0) -> dict[str, Any]:
        """The child's ``READY {json}`` line, waiting for it; its pids are tracked."""
        text = self.wait_output(program, "READY ", timeout=timeout)
        line = text[text.index("READY ") :].split("\n")[0]
        if not line.endswith("}"):
            text = self.wait_output(program, line + "\n", timeout=timeout)
            line = text[text.index("READY ") :].split("\n")[0]
        info: dict[str, Any] = json.loads(line[len("READY ") :])
        self.track(
            [info["pid"], *info.get("grandchildren", []), info.get("daemon", 0)],
            faulty_only=True,
        )
        self.track_tree(info["pid"])
        return info

    # ------------------------------------------------------------------ reading

    def records(self, name: str | None = None) -> list[dict[str, Any]]:
        """The event rows (as dicts) straight from the store."""
        store = self.sup._store
        with store._lock:
            rows = [
                dict(zip(COLUMNS, values, strict=True))
                for values in zip(*(store._columns[c] for c in COLUMNS), strict=True)
            ]
        return [r for r in rows if name is None or r["program"] == name]

    def transitions(self, name: str) -> list[tuple[str, str]]:
        return [(r["from_state"], r["to_state"]) for r in self.records(name)]

    def entered(self, name: str, state: str) -> list[dict[str, Any]]:
        return [r for r in self.records(name) if r["to_state"] == state]

    def wait_until(
        self, programs: list[nbsup.Program], predicate: Callable[[], bool], timeout: float
    ) -> None:
        """Block until ``predicate()`` holds, re-checked at each state change of ``programs``."""
        wait_until(self.sup, programs, predicate, timeout)

    def wait_entered(
        self, program: nbsup.Program, state: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Block until ``program`` has entered ``state`` ``count`` times; return those rows."""
        self.wait_until([program], lambda: len(self.entered(program.name, state)) >= count, timeout)
        return self.entered(program.name, state)

    def wait_output(
        self, program: nbsup.Program, text: str, channel: str = "stdout", timeout: float = 10.0
    ) -> str:
        """Block until ``text`` is in the program's in-memory output tail; return the tail."""
        return wait_output(program, text, channel, timeout)

    def log_lines(self) -> list[str]:
        """supervisord.log as ``LEVEL message`` strings (timestamps dropped)."""
        assert self.sup.session_dir is not None
        text = (self.sup.session_dir / "supervisord.log").read_text()
        return [line.split(" ", 2)[2] for line in text.splitlines() if line.count(" ") >= 2]

    def output_file(self, program: nbsup.Program, channel: str = "stdout") -> Path:
        """The program's current log file of ``channel``."""
        path = program.output_channel(channel).path
        assert path is not None
        return Path(path)

    def output_files(self, program: nbsup.Program, channel: str = "stdout") -> list[Path]:
        """The log file and its rotated backups, oldest first (``x.log.N`` ... ``x.log``)."""
        path = self.output_file(program, channel)
        backups = []
        while (backup := path.with_name(f"{path.name}.{len(backups) + 1}")).exists():
            backups.append(backup)
        return [*reversed(backups), path]

    def logged(self, program: nbsup.Program, channel: str = "stdout") -> bytes:
        """Everything the log files of ``channel`` hold, rotated backups included, in order."""
        return b"".join(path.read_bytes() for path in self.output_files(program, channel))

    # ------------------------------------------------------------------ processes

    def running(self, pids: Iterable[int] | None = None) -> list[int]:
        """The tracked processes (all, or these) that still run (an untracked pid: gone)."""
        wanted = self.tracked if pids is None else {p: self.tracked.get(p) for p in pids}
        return sorted(pid for pid, proc in wanted.items() if proc is not None and alive(proc))

    def wait_gone(self, pids: Iterable[int], timeout: float) -> list[int]:
        """Block until these tracked processes have ended; return those still running."""
        pids = list(pids)
        wait_exited(self.running(pids), timeout)
        return self.running(pids)

    def kill(self, pids: Iterable[int]) -> None:
        for pid in pids:
            proc = self.tracked.get(pid)
            if proc is not None and alive(proc):
                try:
                    proc.kill()
                except psutil.Error:
                    pass

    def close(self) -> None:
        """Shut the supervisor down; then every tracked process, every program's group and
        session, and the watchdog must be gone (leftovers are killed, and the test fails)."""
        if self.closed:
            return
        self.closed = True
        finished = self.sup.shutdown(30)
        spawned: dict[int, float] = {}
        for record in self.records():
            if record["pid"]:
                spawned.setdefault(record["pid"], record["time"])
        for pid, when in spawned.items():
            self.track([pid], born_by=when + 1.0)  # not a later process with its pid
        leaders = set(spawned)
        left = self.wait_gone(self.tracked, 5.0)
        stray = {pgid: found for pgid in sorted(leaders) if (found := members(pgid))}
        watchdog_gone = not wait_exited([self.watchdog.pid], 5.0) or not alive(self.watchdog)
        self.kill(left)
        for found in stray.values():
            self.track(found)
            self.kill(found)
        assert finished, "shutdown did not finish in time"
        assert not left, f"processes left running: {left}"
        assert not stray, f"process groups or sessions left running: {stray}"
        assert watchdog_gone, "the watchdog is still running"
