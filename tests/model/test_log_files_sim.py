"""Log files through Supervisor and Program on virtual time: markers, attempts, rotation,
timestamps, NONE, unwritable paths and a full disk (scripted processes, real files).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from traitlets import TraitError

from nbsup import ProcessState
from nbsup.core.errors import LogUnavailable
from nbsup.runtime import logfile as logfile_module
from nbsup.runtime.driver import Driver
from nbsup.runtime.journal import Journal
from nbsup.runtime.output import format_stamp
from nbsup.runtime.runner import InlineRunner
from nbsup.supervisor import Supervisor
from nbsup.testing import FakeClock, FakeLauncher, Life


class Sim:
    """A supervisor on virtual time whose AUTO logs and journal are real files."""

    def __init__(self, folder: Path, tail_bytes: int = 64 * 1024, **traits: object) -> None:
        self.folder = folder
        self.clock = FakeClock()
        self.launcher = FakeLauncher(self.clock)
        holder: dict[str, Supervisor] = {}
        self.driver = Driver(
            self.clock,
            self.launcher,
            lambda *args: holder["sup"]._on_transition(*args),
            journal=Journal(folder),
            log_folder=folder / "logs",
            tail_bytes=tail_bytes,
        )
        self.sup = Supervisor(runner=InlineRunner(self.driver, self.clock.run_until), **traits)
        holder["sup"] = self.sup

    def log(self, name: str, channel: str = "stdout") -> Path:
        return self.folder / "logs" / f"{name}-{channel}.log"

    def stamp(self, monotonic: float) -> str:
        return format_stamp(self.clock.wall(monotonic))

    def journal(self) -> str:
        return (self.folder / "supervisord.log").read_text()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Sim]:
    s = Sim(tmp_path / "state")
    yield s
    s.sup.shutdown(60)


def starts(program) -> list[int | None]:
    rows = program.events
    pids = rows[rows["to_state"] == "STARTING"]["pid"]
    return [None if pd.isna(pid) else int(pid) for pid in pids]


# --------------------------------------------------------------------------- markers


def test_markers_and_attempts_match_the_event_log(sim):
    sim.launcher.script(
        "flaky",
        [
            Life(runs=0.2, exit=1, output=b"one\n"),
            Life(spawn_error="can't find command 'x'"),
            Life(runs=0.5, exit=2, output=b"three", stderr=b"err3\n"),
            Life(runs=None),
        ],
    )
    p = sim.sup.add_program("flaky", command="x", startsecs=1, startretries=3)
    sim.clock.advance(20)
    assert p.state is ProcessState.STARTING or p.state is ProcessState.RUNNING
    pids = starts(p)
    assert len(pids) == 4 and pids[1] is None
    times = list(p.events[p.events["to_state"] == "STARTING"]["elapsed"])
    ends = list(p.events[p.events["to_state"] == "BACKOFF"]["elapsed"])
    s = sim.stamp
    assert sim.log("flaky").read_text() == (
        f"==> nbsup: attempt 1 spawned, pid {pids[0]}, {s(times[0])}\n"
        "one\n"
        f"==> nbsup: attempt 1 exited (exit status 1) after 0.200 s, pid {pids[0]}, {s(ends[0])}\n"
        f"==> nbsup: attempt 2 could not spawn: can't find command 'x', {s(times[1])}\n"
        f"==> nbsup: attempt 3 spawned, pid {pids[2]}, {s(times[2])}\n"
        "three\n"  # no newline at the end of the output: one is added before the marker
        f"==> nbsup: attempt 3 exited (exit status 2) after 0.500 s, pid {pids[2]}, {s(ends[2])}\n"
        f"==> nbsup: attempt 4 spawned, pid {pids[3]}, {s(times[3])}\n"
    )
    assert [p.attempt_log(k) for k in (1, 2, 3, 4)] == ["one\n", "", "three", ""]
    assert p.attempt_log(3, "stderr") == "err3\n"
    assert p.attempt_log(-2) == "three" and p.attempt_log(-4) == "one\n"
    assert "attempt 3 spawned" in sim.log("flaky", "stderr").read_text()
    for k in (0, 5, -5):
        with pytest.raises(LogUnavailable, match="flaky has had 4 attempts"):
            p.attempt_log(k)
    with pytest.raises(ValueError):
        p.attempt_log(1, "stdin")


def test_what_did_the_third_crash_print(sim):
    sim.launcher.script(
        "crashy",
        lambda k: Life(
            runs=2.0,
            exit=3,
            writes=((0.5, "stdout", b"working %d\n" % k), (2.0, "stderr", b"crash %d\n" % k)),
        ),
    )
    p = sim.sup.add_program("crashy", command="x", startsecs=1, restartpause=0.1)
    sim.clock.advance(7.5)
    exits = p.events[p.events["to_state"] == "EXITED"]
    assert len(exits) >= 3
    assert p.attempt_log(3, "stderr") == "crash 3\n"
    assert p.attempt_log(3) == "working 3\n"
    assert p.attempt_log(-1, "stderr") == ""  # attempt 4 is still running
    assert p.attempt_log(-1) == "working 4\n"


def test_timestamps_in_the_file_raw_tail(sim):
    sim.launcher.script(
        "ts",
        Life(runs=None, output=b"a\nb", writes=((0.25, "stdout", b"c\nd\n"),)),
    )
    p = sim.sup.add_program("ts", command="x", stdout_timestamps=True)
    sim.clock.advance(1)
    at0, at1 = sim.stamp(0.0), sim.stamp(0.25)
    lines = sim.log("ts").read_text().splitlines()
    assert lines[1:] == [f"{at0} a", f"{at0} bc", f"{at1} d"]
    assert p.tail() == "a\nbc\nd\n"
    assert p.attempt_log(1) == f"{at0} a\n{at0} bc\n{at1} d\n"
    assert "\n" not in sim.log("ts", "stderr").read_text()[:-1]  # stderr: no timestamps asked


# --------------------------------------------------------------------------- rotation


def test_attempts_survive_rotation_until_rotated_away(sim):
    sim.launcher.script("big", lambda k: Life(runs=0.1, exit=1, output=b"%d" % k * 60 + b"\n"))
    p = sim.sup.add_program(
        "big",
        command="x",
        startsecs=0,
        autorestart=True,
        restartpause=0.5,
        stdout_logfile_maxbytes=400,
        stdout_logfile_backups=2,
    )
    sim.clock.advance(0.6 * 9 - 0.3)  # 9 attempts of 222 bytes with their markers
    logs = sorted(path.name for path in (sim.folder / "logs").iterdir())
    assert logs == ["big-stderr.log", "big-stdout.log", "big-stdout.log.1", "big-stdout.log.2"]
    # two attempts per file (rotated after the write that reaches 400 bytes): 5-6 in .2,
    # 7-8 in .1, 9 in the current file; 1 to 4 were rotated away
    assert "attempt 5 spawned" in (sim.folder / "logs" / "big-stdout.log.2").read_text()
    for k in (5, 6, 7, 8, 9):
        assert p.attempt_log(k) == str(k) * 60 + "\n"
    with pytest.raises(LogUnavailable, match=r"attempt 4 of big \(stdout\): it was rotated away"):
        p.attempt_log(4)


def test_a_partly_rotated_attempt_says_how_much_is_kept(sim):
    sim.launcher.script(
        "long",
        Life(runs=None, writes=tuple((0.1 * k, "stdout", b"%04d\n" % k) for k in range(1, 41))),
    )
    p = sim.sup.add_program(
        "long", command="x", stdout_logfile_maxbytes=50, stdout_logfile_backups=1
    )
    sim.clock.advance(5)
    with pytest.raises(LogUnavailable, match=r"its last (\d+) bytes are kept") as caught:
        p.attempt_log(1)
    kept = int(caught.value.args[0].rsplit("nbytes=", 1)[1].rstrip(")"))
    assert p.attempt_log(1, nbytes=kept) == "".join(f"{k:04d}\n" for k in range(41 - kept // 5, 41))
    assert p.attempt_log(1, nbytes=10) == "0039\n0040\n"


def test_clear_log_removes_the_current_file_s_attempts(sim):
    sim.launcher.script("c", Life(runs=None, output=b"kept\n"))
    p = sim.sup.add_program("c", command="x")
    sim.clock.advance(1)
    p.clear_log()
    assert sim.log("c").read_text() == "" and p.tail() == ""
    with pytest.raises(LogUnavailable, match="cleared"):
        p.attempt_log(1)


# --------------------------------------------------------------------------- NONE, errors


def test_none_keeps_no_file_and_attempts_come_from_the_tail(tmp_path):
    s = Sim(tmp_path / "state", tail_bytes=64)
    try:
        s.launcher.script("quiet", lambda k: Life(runs=0.1, exit=1, output=b"attempt %d\n" % k))
        p = s.sup.add_program(
            "quiet", command="x", startsecs=0, restartpause=0.1, stdout_logfile="NONE"
        )
        s.clock.advance(2)
        assert not s.log("quiet").exists()
        assert s.log("quiet", "stderr").exists()
        assert p.output_channel().path is None
        assert p.info()["stdout_logfile"] == ""
        count = len(starts(p))
        assert p.attempt_log(-1) == f"attempt {count}\n"
        with pytest.raises(LogUnavailable, match=r"no log file .* no longer in memory"):
            p.attempt_log(1)
    finally:
        s.sup.shutdown(60)


def test_an_unwritable_path_is_reported_and_the_program_runs(sim, tmp_path):
    target = tmp_path / "missing" / "out.log"
    sim.launcher.script("p", lambda k: Life(runs=None, output=b"attempt %d\n" % k))
    p = sim.sup.add_program("p", command="x", stdout_logfile=str(target), startsecs=0.5)
    sim.clock.advance(1)
    assert p.state is ProcessState.RUNNING
    assert p.log_error == f"stdout: cannot open {target}: No such file or directory"
    assert p.output_channel().path is None
    assert p.info()["stdout_logfile"] == str(target)
    assert p.tail() == "attempt 1\n"
    assert p.attempt_log(1) == "attempt 1\n"  # from the tail
    assert f" WARN p: stdout log: cannot open {target}: No such file or directory\n" in (
        sim.journal()
    )
    target.parent.mkdir()  # fixed: the next spawn opens it
    p.restart(wait=True, timeout=5)
    assert p.log_error is None
    assert f" INFO p: stdout log: writing {target}" in sim.journal()
    assert target.read_text().splitlines()[1:] == ["attempt 2"]


def test_a_full_disk_is_reported_and_writing_resumes(sim, monkeypatch):
    sim.launcher.script(
        "w", Life(runs=None, writes=tuple((k, "stdout", b"line %d\n" % k) for k in range(1, 7)))
    )
    p = sim.sup.add_program("w", command="x", startsecs=0)
    sim.clock.advance(1.5)
    real_write = os.write

    log_fd = p.output_channel().file.fd

    def full(fd: int, data: bytes) -> int:  # the log's disk is full, not the journal's
        if fd == log_fd:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(logfile_module.os, "write", full)
    sim.clock.advance(2)  # lines 2 and 3 are lost from the file
    assert p.state is ProcessState.RUNNING
    assert p.log_error == f"stdout: cannot write {sim.log('w')}: No space left on device"
    assert p.tail() == "line 1\nline 2\nline 3\n"
    monkeypatch.setattr(logfile_module.os, "write", real_write)
    sim.clock.advance(1)
    assert p.log_error is None
    assert sim.log("w").read_text().splitlines()[1:] == ["line 1", "line 4"]
    journal = sim.journal()
    assert " WARN w: stdout log: cannot write " in journal
    assert f" INFO w: stdout log: writing {sim.log('w')} (14 bytes were lost)\n" in journal


def test_the_card_shows_a_log_error(sim, tmp_path):
    from nbsup.widgets import render
    from nbsup.widgets.presenter import Presenter

    p = sim.sup.add_program("p", command="x", stderr_logfile=str(tmp_path / "no" / "e.log"))
    sim.clock.advance(1)
    written: list[str] = []
    presenter = Presenter(p, render.card_html, written.append)
    try:
        snapshot = presenter.snapshot()
        assert snapshot.log_error == p.log_error and "stderr: cannot open" in p.log_error
        assert 'class="nbsup-log-error"' in written[-1]
        assert "log file: stderr: cannot open" in render.card_text(snapshot)
    finally:
        presenter.close()


# --------------------------------------------------------------------------- the model


def test_redirect_stderr_has_one_file_and_no_stderr_attempts(sim):
    sim.launcher.script("r", Life(runs=None, output=b"out\n", stderr=b"err\n"))
    p = sim.sup.add_program("r", command="x", redirect_stderr=True)
    sim.clock.advance(1)
    assert not sim.log("r", "stderr").exists()
    assert p.attempt_log(1) == "out\nerr\n"
    with pytest.raises(LogUnavailable, match="redirect_stderr"):
        p.attempt_log(1, "stderr")


def test_stdout_and_stderr_can_share_one_file(sim, tmp_path):
    both = tmp_path / "both.log"
    sim.launcher.script("s", Life(runs=0.5, exit=1, output=b"out\n", stderr=b"err\n"))
    sim.sup.add_program(
        "s", command="x", startsecs=0, autorestart=False, stdout_logfile=str(both),
        stderr_logfile=str(both), stderr_timestamps=True,
    )  # fmt: skip
    sim.clock.advance(1)
    lines = both.read_text().splitlines()
    assert [line[:28] for line in lines] == [
        "==> nbsup: attempt 1 spawned",
        "out",
        f"{sim.stamp(0)} err",
        "==> nbsup: attempt 1 exited ",
    ]


def test_numbering_goes_on_across_replacement_and_removal(sim):
    sim.launcher.script("n", lambda k: Life(runs=None, output=b"run %d\n" % k))
    p = sim.sup.add_program("n", command="x")
    sim.clock.advance(1)
    p = sim.sup.add_program("n", command="x", stdout_timestamps=True)  # replaces it
    sim.clock.advance(1)
    p.stop()
    sim.sup.remove_program("n")
    p = sim.sup.add_program("n", command="x")
    sim.clock.advance(1)
    assert len(starts(p)) == 3
    assert p.attempt_log(1) == "run 1\n"
    assert p.attempt_log(2) == f"{sim.stamp(1.0)} run 2\n"
    assert p.attempt_log(3) == "run 3\n"
    assert p.tail() == "run 3\n"


def test_markers_can_be_turned_off(tmp_path):
    s = Sim(tmp_path / "state", attempt_markers=False)
    try:
        s.launcher.script("m", lambda k: Life(runs=0.2, exit=1, output=b"out %d" % k))
        p = s.sup.add_program("m", command="x", startsecs=0, restartpause=0.1)
        s.clock.advance(0.35)
        assert s.log("m").read_text() == "out 1out 2"  # the raw bytes, as supervisord's
        assert p.attempt_log(1) == "out 1" and p.attempt_log(2) == "out 2"
    finally:
        s.sup.shutdown(60)


def test_supervisor_traits_are_program_defaults(tmp_path):
    s = Sim(
        tmp_path / "state",
        stdout_logfile_maxbytes="1KB",
        stdout_logfile_backups=2,
        stderr_logfile="none",
        stdout_timestamps=True,
    )
    try:
        p = s.sup.add_program("d", command="x")
        o = p.options
        assert (o.stdout_logfile_maxbytes, o.stdout_logfile_backups) == (1024, 2)
        assert (o.stderr_logfile, o.stdout_timestamps, o.stderr_timestamps) == ("NONE", True, False)
        assert s.sup.add_program("e", command="x", stderr_logfile="AUTO").options.stderr_logfile
        with pytest.raises(TraitError):
            s.sup.stdout_logfile = "/one/path/for/every/program.log"
        with pytest.raises(TraitError):
            s.sup.stderr_logfile_maxbytes = "lots"
    finally:
        s.sup.shutdown(60)


def test_tail_takes_the_channel_alone_and_refuses_a_bad_size(sim):
    sim.launcher.script(
        "both", Life(runs=None, writes=((0.1, "stdout", b"out\n"), (0.1, "stderr", b"err\n")))
    )
    p = sim.sup.add_program("both", command="x")
    sim.clock.advance(1)
    assert p.tail("stderr") == "err\n" == p.tail(1600, "stderr")
    assert p.tail("stdout") == "out\n" == p.tail(None)
    assert p.tail(2) == "t\n"
    for wrong in (-1, 1.5, "all", True):
        with pytest.raises(ValueError, match="expected a number of bytes >= 0, or None"):
            p.tail(wrong)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected stdout or stderr"):
        p.tail(10, "stdin")
