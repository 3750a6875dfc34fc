"""read_supervisord_log on hand-written logs: every message kind of semantics.md §15.2,
continuation lines, junk, time zones and the inference rules."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pandas as pd
import pytest

from nbsup.analysis import read_supervisord_log
from nbsup.eventlog import empty_frame

BASE = datetime.datetime(2024, 3, 1, 10, 0, 0)


def log(*entries: tuple[float, str, str] | str) -> str:
    """Log text: ``(seconds after BASE, level, message)`` entries; strings go in verbatim."""
    lines = []
    for entry in entries:
        if isinstance(entry, str):
            lines.append(entry)
            continue
        seconds, level, message = entry
        stamp = BASE + datetime.timedelta(seconds=seconds)
        lines.append(f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} {level} {message}")
    return "\n".join(lines) + "\n"


def read(text: str, **kwargs: Any) -> pd.DataFrame:
    return read_supervisord_log(io.StringIO(text), tz="UTC", **kwargs)


def seq(frame: pd.DataFrame, program: str | None = None) -> list[tuple[Any, ...]]:
    """(program, from, to, tries) per row (tries None when NA)."""
    rows = frame if program is None else frame[frame["program"] == program]
    return [
        (r.program, r.from_state, r.to_state, None if pd.isna(r.tries) else int(r.tries))
        for r in rows.itertuples()
    ]


def test_crash_loop_to_fatal_with_every_field() -> None:
    frame = read(
        log(
            (0, "INFO", "supervisord started with pid 7"),
            (1.0, "INFO", "spawned: 'x' with pid 101"),
            (1.004, "WARN", "exited: x (exit status 1; not expected)"),
            (2.006, "INFO", "spawned: 'x' with pid 102"),
            (2.010, "WARN", "exited: x (terminated by SIGSEGV (core dumped); not expected)"),
            (3.012, "INFO", "gave up: x entered FATAL state, too many start retries too quickly"),
        )
    )
    assert seq(frame) == [
        ("x", "STOPPED", "STARTING", 0),
        ("x", "STARTING", "BACKOFF", 1),
        ("x", "BACKOFF", "STARTING", 1),
        ("x", "STARTING", "BACKOFF", 2),
        ("x", "BACKOFF", "FATAL", None),
    ]
    assert frame["pid"].tolist() == [101, 101, 102, 102, pd.NA]
    assert frame["exitstatus"].tolist() == [pd.NA, 1, pd.NA, -1, pd.NA]
    assert frame["signal"].tolist() == [pd.NA, pd.NA, pd.NA, "SIGSEGV", pd.NA]
    assert frame["expected"].tolist() == [pd.NA, False, pd.NA, False, pd.NA]
    assert frame["time"].iloc[1] == pd.Timestamp("2024-03-01 10:00:01.004", tz="UTC")
    assert frame["elapsed"].tolist() == [1.0, 1.004, 2.006, 2.01, 3.012]
    assert frame["message"].iloc[4].startswith("gave up: x entered FATAL")
    assert (frame.dtypes == empty_frame().dtypes).all()
    assert frame.attrs["skipped_lines"] == 0 and frame.attrs["lines"] == 6


def test_running_exit_and_autorestart() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'w' with pid 5"),
            (
                1.01,
                "INFO",
                "success: w entered RUNNING state, process has stayed up for > "
                "than 1 seconds (startsecs)",
            ),
            (3, "INFO", "exited: w (exit status 0; expected)"),
            (4, "INFO", "spawned: 'w' with pid 6"),
            (
                5.01,
                "INFO",
                "success: w entered RUNNING state, process has stayed up for > "
                "than 1 seconds (startsecs)",
            ),
            (6, "WARN", "exited: w (terminated by SIGHUP; not expected)"),
            (7, "WARN", "exited: w (unknown termination cause 0x007f; not expected)"),
        )
    )
    assert [(r[1], r[2]) for r in seq(frame)][:6] == [
        ("STOPPED", "STARTING"),
        ("STARTING", "RUNNING"),
        ("RUNNING", "EXITED"),
        ("EXITED", "STARTING"),
        ("STARTING", "RUNNING"),
        ("RUNNING", "EXITED"),
    ]
    exited = frame[frame["to_state"] == "EXITED"]
    assert exited["expected"].tolist() == [True, False, False]
    assert exited["exitstatus"].tolist() == [0, -1, -1]
    assert exited["signal"].tolist() == [pd.NA, "SIGHUP", pd.NA]
    assert frame["tries"].iloc[3] == 0  # RUNNING reset the counter
    # an exit from EXITED cannot happen: the row says what the message implies
    assert seq(frame)[-1] == ("w", "RUNNING", "EXITED", None)


def test_exit_during_starting_time_rule_and_startsecs() -> None:
    text = log(
        (0, "INFO", "spawned: 'a' with pid 1"),
        (1.5, "WARN", "exited: a (exit status 3; not expected)"),
    )
    assert [r[2] for r in seq(read(text))] == ["STARTING", "RUNNING", "EXITED"]  # T8
    assert [r[2] for r in seq(read(text, startsecs=2))] == ["STARTING", "BACKOFF"]  # T7
    by_name = read(text, startsecs_by_program={"a": 2})
    assert [r[2] for r in seq(by_name)] == ["STARTING", "BACKOFF"]
    t8 = read(text)
    assert t8["message"].iloc[1] == "" and t8["pid"].iloc[1] == 1  # inferred, no own line
    # an expected code logged "not expected" is a failure, whatever the time
    code = log(
        (0, "INFO", "spawned: 'a' with pid 1"),
        (5, "WARN", "exited: a (exit status 2; not expected)"),
    )
    assert [r[2] for r in seq(read(code, exitcodes=(0, 2)))] == ["STARTING", "BACKOFF"]
    # "expected" during STARTING is always STARTING -> RUNNING -> EXITED (startsecs=0)
    zero = log(
        (0, "INFO", "spawned: 'z' with pid 1"),
        (0.01, "INFO", "exited: z (exit status 0; expected)"),
    )
    assert [r[2] for r in seq(read(zero))] == ["STARTING", "RUNNING", "EXITED"]


def test_startsecs_is_learned_from_success_lines() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'slow' with pid 1"),
            (
                5.01,
                "INFO",
                "success: slow entered RUNNING state, process has stayed up for > "
                "than 5 seconds (startsecs)",
            ),
            (6, "WARN", "exited: slow (exit status 1; not expected)"),
            (7, "INFO", "spawned: 'slow' with pid 2"),
            (10, "WARN", "exited: slow (exit status 1; not expected)"),  # 3 s < 5 s
        )
    )
    assert seq(frame)[-1] == ("slow", "STARTING", "BACKOFF", 1)


def test_stop_with_debug_lines_and_sigkill_escalation() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 's' with pid 9"),
            (
                1.1,
                "INFO",
                "success: s entered RUNNING state, process has stayed up for > "
                "than 1 seconds (startsecs)",
            ),
            (2, "DEBG", "killing s (pid 9) process group with signal SIGTERM"),
            (2, "INFO", "waiting for s to stop"),
            (4, "WARN", "killing 's' (9) with SIGKILL"),
            (4, "DEBG", "killing s (pid 9) process group with signal SIGKILL"),
            (4.001, "WARN", "stopped: s (terminated by SIGKILL)"),
        )
    )
    assert [r[2] for r in seq(frame)] == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]
    stopping, stopped = frame.iloc[2], frame.iloc[3]
    assert (stopping["pid"], stopping["signal"]) == (9, "SIGTERM")
    assert (stopped["pid"], stopped["exitstatus"], stopped["signal"]) == (9, -1, "SIGKILL")
    assert frame.attrs["skipped_lines"] == 3  # waiting, SIGKILL warning and kill: no change


def test_stop_seen_at_info_level() -> None:
    waiting = read(
        log(
            (0, "INFO", "spawned: 's' with pid 9"),
            (2, "INFO", "waiting for s to stop"),
            (2.5, "WARN", "killing 's' (9) with SIGKILL"),
            (2.6, "INFO", "stopped: s (exit status 0)"),
        )
    )
    assert [(r[1], r[2]) for r in seq(waiting)][1:] == [
        ("STARTING", "STOPPING"),
        ("STOPPING", "STOPPED"),
    ]
    assert waiting["time"].iloc[1] == pd.Timestamp("2024-03-01 10:00:02", tz="UTC")
    assert waiting["exitstatus"].iloc[2] == 0 and pd.isna(waiting["signal"].iloc[2])
    only_stopped = read(
        log(
            (0, "INFO", "spawned: 's' with pid 9"),
            (3, "WARN", "stopped: s (terminated by SIGTERM)"),
        )
    )
    assert [r[2] for r in seq(only_stopped)] == ["STARTING", "STOPPING", "STOPPED"]
    assert only_stopped["message"].iloc[1] == ""  # the inferred STOPPING has no line


def test_stop_in_backoff_then_manual_start_keeps_the_counter() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'b' with pid 1"),
            (0.01, "WARN", "exited: b (exit status 1; not expected)"),
            (1.02, "INFO", "spawned: 'b' with pid 2"),
            (1.03, "WARN", "exited: b (exit status 1; not expected)"),
            (1.5, "DEBG", "Attempted to kill b, which is in BACKOFF state."),
            (1.6, "DEBG", "attempted to kill b with sig SIGTERM but it wasn't running"),
            (3, "INFO", "spawned: 'b' with pid 3"),
        )
    )
    assert seq(frame)[-2:] == [("b", "BACKOFF", "STOPPED", None), ("b", "STOPPED", "STARTING", 2)]
    assert frame["pid"].iloc[-2] == 0


def test_unknown_state_with_traceback_continuation() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'u' with pid 4"),
            (1, "CRIT", "unknown problem killing u (4):Traceback (most recent call last):"),
            '  File "/x/process.py", line 460, in kill',
            "PermissionError: [Errno 1] Operation not permitted",
            (2, "INFO", "exited: u (exit status 1; not expected)"),
            (3, "CRIT", "unknown problem sending sig v (8):Traceback (most recent call last):"),
        )
    )
    assert [(r[1], r[2]) for r in seq(frame, "u")] == [
        ("STOPPED", "STARTING"),
        ("STARTING", "UNKNOWN"),
        ("UNKNOWN", "EXITED"),
    ]
    assert frame["message"].iloc[1].endswith("PermissionError: [Errno 1] Operation not permitted")
    assert frame["message"].iloc[1].count("\n") == 2
    assert seq(frame, "v") == [("v", "RUNNING", "UNKNOWN", None)]
    assert frame.attrs["continuation_lines"] == 2 and frame.attrs["skipped_lines"] == 0


def test_shutdown_gives_up_on_backoff_and_a_new_daemon_starts_fresh() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'b' with pid 1"),
            (0.01, "WARN", "exited: b (exit status 1; not expected)"),
            (0.5, "WARN", "received SIGTERM indicating exit request"),
            (0.6, "INFO", "waiting for b to die"),
            (10, "INFO", "supervisord started with pid 99"),
            (11, "INFO", "spawned: 'b' with pid 2"),
            (12, "WARN", "received SIGHUP indicating restart request"),
        )
    )
    assert seq(frame) == [
        ("b", "STOPPED", "STARTING", 0),
        ("b", "STARTING", "BACKOFF", 1),
        ("b", "BACKOFF", "FATAL", None),  # T10b at the exit request
        ("b", "STOPPED", "STARTING", 0),  # a new daemon: new process, counter 0
    ]
    assert frame["time"].iloc[2] == pd.Timestamp("2024-03-01 10:00:00.5", tz="UTC")
    assert frame.attrs["skipped_lines"] == 1  # "waiting for b to die"


def test_spawnerr_goes_to_the_process_due_for_a_retry() -> None:
    frame = read(
        log(
            (0, "INFO", "spawned: 'gone' with pid 1"),
            (0.01, "WARN", "exited: gone (exit status 1; not expected)"),
            (0.5, "INFO", "spawned: 'other' with pid 2"),
            (1.02, "INFO", "spawnerr: can't find command '/opt/gone'"),
            (3.03, "INFO", "spawnerr: can't find command '/opt/gone'"),
            (3.03, "INFO", "gave up: gone entered FATAL state, too many start retries too quickly"),
        )
    )
    assert [r[1:] for r in seq(frame, "gone")] == [
        ("STOPPED", "STARTING", 0),
        ("STARTING", "BACKOFF", 1),
        ("BACKOFF", "STARTING", 1),
        ("STARTING", "BACKOFF", 2),
        ("BACKOFF", "STARTING", 2),
        ("STARTING", "BACKOFF", 3),
        ("BACKOFF", "FATAL", None),
    ]
    assert frame.attrs["unattributed_spawnerr"] == 0


def test_spawnerr_of_a_process_that_never_ran_is_named_by_its_gave_up() -> None:
    frame = read(
        log(
            (0, "INFO", "supervisord started with pid 1"),
            (1.0, "INFO", "spawnerr: can't find command '/no/such/cmd'"),
            (1.0, "INFO", "spawned: 'zz' with pid 5"),
            (1.001, "WARN", "exited: zz (exit status 1; not expected)"),
            # both are due: zz spawns in this loop pass, so the error is not zz's
            (2.003, "INFO", "spawnerr: can't find command '/no/such/cmd'"),
            (2.004, "INFO", "spawned: 'zz' with pid 6"),
            (4.005, "INFO", "spawnerr: can't find command '/no/such/cmd'"),
            (4.005, "INFO", "gave up: aa entered FATAL state, too many start retries too quickly"),
        )
    )
    assert [r[1:] for r in seq(frame, "aa")] == [
        ("STOPPED", "STARTING", 0),
        ("STARTING", "BACKOFF", 1),
        ("BACKOFF", "STARTING", 1),
        ("STARTING", "BACKOFF", 2),
        ("BACKOFF", "STARTING", 2),
        ("STARTING", "BACKOFF", 3),
        ("BACKOFF", "FATAL", None),
    ]
    assert frame["time"].is_monotonic_increasing  # named after the fact, sorted back
    assert [r[2] for r in seq(frame, "zz")] == ["STARTING", "BACKOFF", "STARTING"]


def test_spawnerr_that_names_its_process_and_one_that_stays_unknown() -> None:
    frame = read(
        log(
            (0, "INFO", "spawnerr: too many open files to spawn 'f'"),
            (0.1, "INFO", "spawnerr: unknown error during fork for 'g': EPERM"),
            (0.2, "INFO", "spawnerr: command at '/etc' is a directory"),
        )
    )
    assert seq(frame) == [
        ("f", "STOPPED", "STARTING", 0),
        ("f", "STARTING", "BACKOFF", 1),
        ("g", "STOPPED", "STARTING", 0),
        ("g", "STARTING", "BACKOFF", 1),
    ]
    assert frame.attrs["unattributed_spawnerr"] == 1
    assert frame.attrs["skipped_lines"] == 1
    assert frame.attrs["skipped_examples"][0][0] == 3


IGNORED = [
    "attempted to kill x with sig SIGTERM but it wasn't running",
    "unable to signal x (pid 3), it probably just exited on its own: [Errno 3] No such process",
    "sending x (pid 3) sig SIGHUP",
    "process 'x' already running",
    "process 'x' (3) laststart time is in the future, don't know how long process was running",
    "fd 8 closed, stopped monitoring <POutputDispatcher at 1 for <Subprocess at 2 with name x "
    "in state STARTING> (stdout)>",
    "reaped unknown pid 77 (exit status 0)",
    "pool rec event buffer overflowed, discarding event 3",
    "received SIGCHLD indicating a child quit",
    "RPC interface 'supervisor' initialized",
    "waiting for x, y to die",
    "success: x entered RUNNING state, but the format changed",
    "exited: x (exit status 1 but no verdict)",
    "killing x somehow",
]


@pytest.mark.parametrize("message", IGNORED)
def test_irrelevant_messages_are_skipped_and_counted(message: str) -> None:
    frame = read(log((0, "DEBG", message)))
    assert len(frame) == 0
    assert frame.attrs["skipped_lines"] == 1
    assert frame.attrs["skipped_examples"] == [(1, log((0, "DEBG", message)).strip())]
    assert (frame.dtypes == empty_frame().dtypes).all()


def test_junk_lines_and_continuations() -> None:
    text = (
        "junk before the first message\n"
        "\n"
        + log(
            (0, "INFO", "spawned: 'x' with pid 1"),
            (0.5, "DEBG", "'x' stdout output:"),
            "hello from x",
            "2024-03-01 10:00:00,700 NOPE not a level: a continuation line",
            "2024-13-45 99:99:99,000 INFO spawned: 'x' with pid 2",  # impossible time
            (0.8, "INFO", "this message means nothing"),
            "\x00\xff binary \x1b[0m junk",
            (0.9, "WARN", "exited: x (exit status 1; not expected)"),
        )
        + "2024-03-01 10:00:03,000 INFO spawned: 'x' with pid"  # torn last line
    )
    frame = read(text)
    assert [r[2] for r in seq(frame)] == ["STARTING", "BACKOFF"]
    attrs = frame.attrs
    assert attrs["lines"] == 11
    assert attrs["continuation_lines"] == 3  # output, bad level, binary junk
    # 2 leading, the output header, the impossible time, "means nothing", the torn line
    assert attrs["skipped_lines"] == 6
    assert [n for n, _ in attrs["skipped_examples"]] == [1, 2, 4, 7, 8]


def test_line_endings_and_encodings() -> None:
    text = log(
        (0, "INFO", "spawned: 'é' with pid 1"),
        (2, "WARN", "exited: é (exit status 1; not expected)"),
    )
    crlf = read_supervisord_log(io.BytesIO(text.replace("\n", "\r\n").encode()), tz="UTC")
    assert seq(crlf) == [("é", "STOPPED", "STARTING", 0), ("é", "STARTING", "RUNNING", None),
                         ("é", "RUNNING", "EXITED", None)]  # fmt: skip
    latin = read_supervisord_log(io.BytesIO(text.encode("latin-1")), tz="UTC")
    assert latin["program"].iloc[0] == "\ufffd" and len(latin) == 3


def test_time_zones() -> None:
    text = log((0, "INFO", "spawned: 'x' with pid 1"))
    utc = read_supervisord_log(io.StringIO(text), tz="UTC")["time"].iloc[0]
    paris = read_supervisord_log(io.StringIO(text), tz="Europe/Paris")["time"].iloc[0]
    assert utc - paris == pd.Timedelta(hours=1)  # March: UTC+1
    fixed = datetime.timezone(datetime.timedelta(hours=-5))
    assert read_supervisord_log(io.StringIO(text), tz=fixed)["time"].iloc[0] - utc == pd.Timedelta(
        hours=5
    )
    local = read_supervisord_log(io.StringIO(text))["time"].iloc[0]
    expected = BASE.astimezone(datetime.UTC)  # naive = this machine's local time
    assert local == pd.Timestamp(expected)
    summer = log((0, "INFO", "x")).replace("2024-03-01", "2024-07-01")
    summer += log((0, "INFO", "spawned: 'x' with pid 1")).replace("2024-03-01", "2024-07-01")
    july = read_supervisord_log(io.StringIO(summer), tz="Europe/Paris")["time"].iloc[0]
    assert july == pd.Timestamp("2024-07-01 08:00", tz="UTC")  # UTC+2 in summer


def test_nbsups_own_log_format() -> None:
    frame = read(
        log(
            (0, "INFO", "nbsup started with pid 3"),
            (0.1, "INFO", "spawned: 'n' with pid 4"),
            (
                0.7,
                "INFO",
                "success: n entered RUNNING state, process has stayed up for > "
                "than 0.5 seconds (startsecs)",
            ),
        )
    )
    assert [r[2] for r in seq(frame)] == ["STARTING", "RUNNING"]
    assert frame.attrs["skipped_lines"] == 0


def test_empty_and_missing(tmp_path: Any) -> None:
    for text in ("", "\n", "no log at all"):
        frame = read(text)
        assert len(frame) == 0 and (frame.dtypes == empty_frame().dtypes).all()
    assert read("").attrs["lines"] == 0
    assert read("no log at all").attrs["skipped_lines"] == 1
    path = tmp_path / "supervisord.log"
    path.write_text(log((0, "INFO", "spawned: 'p' with pid 1")))
    assert read_supervisord_log(path).attrs["source"] == str(path)
    assert len(read_supervisord_log(str(path))) == 1
    with pytest.raises(FileNotFoundError):
        read_supervisord_log(tmp_path / "nope.log")


def test_times_pandas_cannot_hold_are_skipped() -> None:
    frame = read(
        "1899-12-31 23:59:59,000 INFO spawned: 'old' with pid 1\n"
        "3000-01-01 00:00:00,000 INFO spawned: 'future' with pid 2\n"
        "2024-02-30 00:00:00,000 INFO spawned: 'feb' with pid 3\n"
        "2024-02-29 00:00:00,000 INFO spawned: 'leap' with pid 4\n"
    )
    assert list(frame["program"]) == ["leap"]
    assert frame.attrs["skipped_lines"] == 3
