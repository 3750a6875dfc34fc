"""Program faults that cannot be made for real here, on the fake launcher (virtual time).

A process that survives SIGKILL (stuck in an uninterruptible sleep that even SIGKILL waits
for) and a fork that fails with EAGAIN need privileges or a machine at its limits; the fake
launcher makes them on demand (``Life(survives_sigkill=...)``, ``Life(spawn_errno=...)``,
with the real launcher's wording), and the real driver and machines handle them.
"""

from __future__ import annotations

import errno
import signal
from pathlib import Path

import pytest
from sim_support import simulated_supervisor

from nbsup import Fault, FaultCode, ProcessState
from nbsup.runtime.driver import Driver
from nbsup.runtime.journal import Journal
from nbsup.runtime.runner import InlineRunner
from nbsup.supervisor import Supervisor
from nbsup.testing import FakeClock, FakeLauncher, Life

RUNNING_THEN_STOPPED = [
    ("STOPPED", "STARTING"),
    ("STARTING", "RUNNING"),
    ("RUNNING", "STOPPING"),
    ("STOPPING", "STOPPED"),
]


def journaled_simulation(folder: Path) -> tuple[Supervisor, FakeClock, FakeLauncher, Path]:
    """A supervisor on virtual time whose driver writes supervisord.log into ``folder``."""
    clock = FakeClock()
    launcher = FakeLauncher(clock)
    holder: dict[str, Supervisor] = {}
    journal = Journal(folder)
    driver = Driver(
        clock, launcher, lambda *args: holder["sup"]._on_transition(*args), journal=journal
    )
    supervisor = Supervisor(runner=InlineRunner(driver, clock.run_until))
    holder["sup"] = supervisor
    return supervisor, clock, launcher, journal.log_path


def test_sigkill_is_repeated_while_the_process_survives(tmp_path: Path) -> None:
    """If a process outlives SIGKILL (stuck in a sleep that even SIGKILL must wait for, such
    as I/O on a hard-mounted NFS share; not reproducible unprivileged, so on the fake
    launcher), nbsup stays in STOPPING and sends SIGKILL again every stopwaitsecs, and
    never faster than every 0.1 s (stopwaitsecs=0), until the process dies."""
    sup, clock, launcher, log_path = journaled_simulation(tmp_path)
    hard = frozenset({signal.SIGTERM})
    launcher.script("slow", Life(ignores=hard, survives_sigkill=2))
    launcher.script("fast", Life(ignores=hard, survives_sigkill=3))
    slow = sup.add_program("slow", command="x", startsecs=1, stopwaitsecs=2)
    fast = sup.add_program("fast", command="x", startsecs=1, stopwaitsecs=0)
    for p in (slow, fast):
        p.wait_for("RUNNING", timeout=5)
    stop_at = clock.now()
    for p in (slow, fast):
        p.stop(wait=False)
    for p in (slow, fast):
        p.wait_for("STOPPED", timeout=60)

    # SIGKILL at stopwaitsecs, then every max(stopwaitsecs, 0.1 s); the last one works
    for p, kills, last_kill in ((slow, 3, 2.0 + 2 * 2.0), (fast, 4, 0.0 + 3 * 0.1)):
        process = next(f for f in launcher.processes if f.name == p.name)
        assert process.signals == [(signal.SIGTERM, True)] + [(signal.SIGKILL, True)] * kills
        rows = sup.events[sup.events["program"] == p.name]
        assert (
            list(zip(rows["from_state"].astype(str), rows["to_state"].astype(str), strict=True))
            == RUNNING_THEN_STOPPED
        )
        stopped = rows.iloc[-1]
        assert stopped["message"] == f"stopped: {p.name} (terminated by SIGKILL)"
        took = stopped["elapsed"] - rows.iloc[-2]["elapsed"]
        assert abs(took - last_kill) < 1e-6, (p.name, took)
    assert clock.now() >= stop_at + 6
    sup.shutdown(5)
    log = log_path.read_text()
    assert log.count("WARN killing 'slow' (1000) with SIGKILL") == 3
    assert log.count("WARN killing 'fast' (1001) with SIGKILL") == 4
    assert log.count("DEBG killing slow (pid 1000) process group with signal SIGKILL") == 3


def test_fd_and_process_exhaustion_at_spawn(tmp_path: Path) -> None:
    """On the fake launcher: a spawn that fails with EMFILE (no file descriptors left for
    the pipes) or EAGAIN (fork: too many processes) is a spawn error with supervisord's
    words, BACKOFF -> FATAL; any other errno is ``unknown error during fork``. A program
    whose spawns fail only for a while recovers, and the supervisor keeps running the
    others: a healthy program is started, stopped and restarted meanwhile."""
    sup, clock, launcher = simulated_supervisor()

    def failing(code: int) -> Life:
        return Life(spawn_errno=code)

    launcher.script("files", failing(errno.EMFILE))
    launcher.script("procs", failing(errno.EAGAIN))
    launcher.script("other", failing(errno.EPERM))
    launcher.script("transient", [failing(errno.EMFILE), failing(errno.EAGAIN), Life()])
    healthy = sup.add_program("healthy", command="x", startsecs=1, autostart=False)
    options = {"command": "x", "startsecs": 1, "startretries": 2}
    programs = {name: sup.add_program(name, **options) for name in ("files", "procs", "other")}
    transient = sup.add_program("transient", **options)
    healthy.start(wait=True, timeout=5)
    for p in programs.values():
        p.wait_for("FATAL", timeout=60)
    transient.wait_for("RUNNING", timeout=60)
    healthy.restart(wait=True, timeout=30)

    messages = {
        "files": "too many open files to spawn 'files'",
        "procs": "Too many processes in process table to spawn 'procs'",
        "other": "unknown error during fork for 'other': EPERM",
    }
    frame = sup.events
    for name, message in messages.items():
        rows = frame[frame["program"] == name]
        assert list(rows["to_state"].astype(str)) == ["STARTING", "BACKOFF"] * 3 + ["FATAL"]
        assert list(rows["tries"].dropna()) == [0, 1, 1, 2, 2, 3]
        assert [m for m in rows["message"] if m] == [f"spawnerr: {message}"] * 3 + [
            f"gave up: {name} entered FATAL state, too many start retries too quickly"
        ]
        assert programs[name].spawnerr == message == programs[name].description
        with pytest.raises(Fault) as caught:
            programs[name].start(wait=True, timeout=30)
        assert caught.value.code is FaultCode.SPAWN_ERROR
    rows = frame[frame["program"] == "transient"]
    assert list(rows["to_state"].astype(str)) == ["STARTING", "BACKOFF"] * 2 + [
        "STARTING",
        "RUNNING",
    ]
    assert transient.spawnerr is None and transient.pid > 0
    assert healthy.state is ProcessState.RUNNING
    assert [f.name for f in launcher.processes].count("healthy") == 2
    assert sup.shutdown(30)
