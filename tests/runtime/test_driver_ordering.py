"""The driver starts processes before it records, and journals before it tells.

A restarting program's next attempt is spawned before the transitions of the exit are
written and mirrored (that work overlaps the new attempt), yet the records keep their
order and dates, and whoever is told of a transition finds its line on disk already.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbsup.core.events import Transition
from nbsup.core.options import ProgramOptions, build_options
from nbsup.core.record import EventRecord
from nbsup.runtime.driver import Driver
from nbsup.runtime.journal import Journal, format_log_line
from nbsup.testing import FakeClock, FakeLauncher, Life


def _flapping() -> ProgramOptions:
    raw = {"command": "x", "startsecs": 1, "autorestart": "true", "restartpause": 0}
    return build_options("flap", raw)


def _driver(tmp_path: Path) -> tuple[Driver, FakeClock, FakeLauncher, list[str]]:
    clock = FakeClock()
    launcher = FakeLauncher(clock)
    seen: list[str] = []
    journal = Journal(tmp_path)

    def told(name: str, record: EventRecord, transition: Transition) -> None:
        lines = journal.events_path.read_text().splitlines()
        on_disk = [json.loads(line) for line in lines]
        # the record being told is on disk already (the records of one event come together)
        assert len(on_disk) > len(seen)
        assert on_disk[len(seen)]["to_state"] == record.to_state
        seen.append(f"{record.from_state}->{record.to_state} pids={len(launcher.processes)}")

    driver = Driver(clock, launcher, told, journal=journal)
    return driver, clock, launcher, seen


def test_the_next_attempt_is_spawned_before_the_exit_is_recorded(tmp_path: Path) -> None:
    driver, clock, launcher, seen = _driver(tmp_path)
    launcher.script("flap", Life(runs=2.0, exit=0))
    driver.add(_flapping())
    clock.run_until(2.5)
    # the exit at t=2 spawned attempt 2 before RUNNING->EXITED and EXITED->STARTING were told
    assert seen == [
        "STOPPED->STARTING pids=1",
        "STARTING->RUNNING pids=1",
        "RUNNING->EXITED pids=2",
        "EXITED->STARTING pids=2",
    ]
    rows = [json.loads(line) for line in driver.journal.events_path.read_text().splitlines()]
    assert [r["to_state"] for r in rows] == ["STARTING", "RUNNING", "EXITED", "STARTING"]
    assert [r["elapsed"] for r in rows] == [0.0, 1.0, 2.0, 2.0]


def test_one_event_is_journalled_with_one_write_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver, clock, launcher, seen = _driver(tmp_path)
    launcher.script("flap", Life(runs=2.0, exit=0))
    driver.add(_flapping())
    clock.run_until(1.5)
    import nbsup.runtime.journal as journal_module

    writes: list[tuple[int, bytes]] = []
    real_write = journal_module.os.write

    def counting(fd: int, data: bytes) -> int:
        writes.append((fd, data))
        return real_write(fd, data)

    monkeypatch.setattr(journal_module.os, "write", counting)
    clock.run_until(2.5)  # the exit: two transitions, two log lines, one event
    events = [data for fd, data in writes if data.startswith(b"{")]
    logs = [data for fd, data in writes if not data.startswith(b"{")]
    assert len(events) == 1 and events[0].count(b"\n") == 2
    assert len(logs) == 1 and b"exited: flap (exit status 0; expected)" in logs[0]
    assert b"spawned: 'flap'" in logs[0]
    assert logs[0].index(b"exited:") < logs[0].index(b"spawned:")


def test_the_lines_of_one_append_are_written_together(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([], [format_log_line(1_800_000_000.0, "INFO", m) for m in ("one", "two")])
    assert journal.events_path.read_text() == ""
    lines = journal.log_path.read_text().splitlines()
    assert [line.split(" ", 3)[-1] for line in lines] == ["one", "two"]


def test_an_exit_known_before_a_later_event_of_its_program_is_dated_after_it(
    tmp_path: Path,
) -> None:
    # the loop learned of the exit at t=5 (it dates exits when its selector reported them),
    # but a stop of the same program was handled at t=6 before it got to the exit: the
    # records of one program never go back in time
    from nbsup.core.events import ExitStatus, Stop

    driver, clock, launcher, seen = _driver(tmp_path)
    driver.add(_flapping())  # runs until signalled
    clock.run_until(5.0)
    process = launcher.processes[-1]
    clock.advance(1.0)
    driver.request("flap", Stop())
    process.alive = False
    process.on_exit(ExitStatus(code=0), 5.0)
    driver.flush_notes()
    rows = [json.loads(line) for line in driver.journal.events_path.read_text().splitlines()]
    assert [(r["to_state"], r["elapsed"]) for r in rows][-2:] == [
        ("STOPPING", 6.0),
        ("STOPPED", 6.0),
    ]
