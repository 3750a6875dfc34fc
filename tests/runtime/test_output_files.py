"""Log files with real processes: rotation, timestamps, markers, attempts, NONE, bad paths.

Small and event-driven: every wait is on a transition or on output (``harness``), with a
timeout; nothing sleeps.
"""

from __future__ import annotations

import re
import shlex
import time

import pytest

from nbsup import ProcessState
from nbsup.core.errors import LogUnavailable
from nbsup.runtime.output import format_stamp

pytestmark = pytest.mark.realprocess

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"


def sh(script: str) -> str:
    return shlex.join(["sh", "-c", script])


def test_rotation_at_maxbytes_keeps_backups_and_attempts(harness, tmp_path):
    log = tmp_path / "big.log"
    size = 2 * 1024 * 1024
    p = harness.add(
        "big",
        "--quiet",
        "--write-bytes",
        size,
        startsecs=0,
        autorestart=False,
        stdout_logfile=str(log),
        stdout_logfile_maxbytes="256KB",
        stdout_logfile_backups=3,
    )
    p.wait_for("EXITED", timeout=10)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["big.log", "big.log.1", "big.log.2", "big.log.3", "state"]
    for number in (1, 2, 3):
        backup = tmp_path / f"big.log.{number}"
        # rotated after the write that reached maxbytes: at least 256 KiB, less one chunk more
        assert 256 * 1024 <= backup.stat().st_size < 512 * 1024
    with pytest.raises(LogUnavailable, match=r"rotated away .* its last \d+ bytes are kept"):
        p.attempt_log(1)
    tail = p.attempt_log(1, nbytes=600_000)  # spread over the current file and backups
    assert len(tail) == 600_000
    assert tail.endswith("000000000000031\n" * 4096)  # the 32nd and last 64 KiB block
    assert (
        log.read_text().splitlines()[-1].startswith("==> nbsup: attempt 1 exited (exit status 0)")
    )


def test_timestamps_prefix_each_line_of_the_file(harness):
    script = "printf 'one\\ntw'; sleep 0.05; printf 'o\\nthree\\n'; echo err >&2"
    p = harness.sup.add_program(
        "ts", command=sh(script), startsecs=0, autorestart=False, stdout_timestamps=True
    )
    before = time.time()
    p.wait_for("EXITED", timeout=5)
    after = time.time()
    lines = p.output_channel().path.read_text().splitlines()
    assert lines[0].startswith("==> nbsup: attempt 1 spawned")
    assert lines[-1].startswith("==> nbsup: attempt 1 exited (exit status 0)")
    body = lines[1:-1]
    assert [line[24:] for line in body] == ["one", "two", "three"]  # one stamp per line
    for line in body:
        assert re.fullmatch(STAMP + r" \w+", line)
        assert format_stamp(before)[:19] <= line[:19] <= format_stamp(after)
    assert p.tail() == "one\ntwo\nthree\n"  # the in-memory tail is raw
    assert p.attempt_log(1, "stderr") == "err\n"  # no timestamps asked for stderr


def test_attempt_log_after_three_crashes(harness, tmp_path):
    counter = tmp_path / "count"
    script = (
        f"n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}; "
        'echo "working $n"; echo "crash $n" >&2; '
        '[ "$n" -lt 4 ] && exit 3; exit 0'
    )
    p = harness.sup.add_program(
        "crashy", command=sh(script), startsecs=0, restartpause=0, exitcodes=[0]
    )
    harness.wait_entered(p, "EXITED", count=4, timeout=10)
    assert p.state is ProcessState.EXITED
    assert p.attempt_log(3, "stderr") == "crash 3\n"  # what did the third crash print?
    assert [p.attempt_log(k) for k in (1, 2, 3, 4)] == [f"working {k}\n" for k in (1, 2, 3, 4)]
    assert p.attempt_log(-1, "stderr") == "crash 4\n"
    starts = harness.entered("crashy", "STARTING")
    text = p.output_channel("stderr").path.read_text()
    markers = re.findall(r"==> nbsup: attempt (\d) spawned, pid (\d+), " + STAMP, text)
    assert [(int(k), int(pid)) for k, pid in markers] == [
        (k, row["pid"]) for k, row in enumerate(starts, 1)
    ]
    assert re.findall(r"attempt (\d) exited \((exit status \d)\)", text) == [
        ("1", "exit status 3"),
        ("2", "exit status 3"),
        ("3", "exit status 3"),
        ("4", "exit status 0"),
    ]


def test_none_and_an_unwritable_path_leave_the_program_running(harness, tmp_path):
    bad = tmp_path / "no-such-folder" / "out.log"
    silent = harness.add("silent", "--run", "inf", stdout_logfile="NONE", startsecs=0.1)
    broken = harness.add("broken", "--run", "inf", stdout_logfile=str(bad), startsecs=0.1)
    for p in (silent, broken):
        harness.ready(p)
        p.wait_for("RUNNING", timeout=5)
    logs = harness.sup.session_dir / "logs"
    assert sorted(path.name for path in logs.iterdir()) == [
        "broken-stderr.log",
        "silent-stderr.log",
    ]
    assert silent.output_channel().path is None and silent.log_error is None
    assert "READY" in silent.attempt_log(1)  # from the in-memory tail
    assert broken.output_channel().path is None
    assert broken.log_error == f"stdout: cannot open {bad}: No such file or directory"
    assert broken.info()["stdout_logfile"] == str(bad)
    assert "READY" in broken.tail()
    journal = (harness.sup.session_dir / "supervisord.log").read_text()
    assert f" WARN broken: stdout log: cannot open {bad}: No such file or directory\n" in journal
