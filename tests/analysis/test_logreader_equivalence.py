"""The column-wise replay of read_supervisord_log gives exactly the per-message replay's
frame (read_supervisord_log_per_message, the reference): on the committed real log, on the
million-line logs of the benchmark and of test_logreader_million, and on generated logs
built to make processes interact (few names, retries due to the millisecond, unnamed
spawn errors, exit requests, daemon restarts, times that go back).

The snippet, fuzz and real-supervisord tests also compare both on every log they read
(``conftest.py``).
"""

from __future__ import annotations

import datetime
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from both_replays import assert_same_frame, read_both_ways
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_logreader_fuzz import LINES
from test_logreader_million import repeat_log

from nbsup.analysis import logvector
from nbsup.analysis.logcolumns import GLOBAL_OPS, MessageColumns
from nbsup.analysis.logreader import read_supervisord_log, read_supervisord_log_per_message
from nbsup.analysis.logscan import scan

REAL_LOG = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "supervisord.log"
BASE = datetime.datetime(2024, 3, 1, 10, 0, 0)
NAMES = ["a", "b", "web_0", "x y"]
HOW = [
    "exit status 0", "exit status 1", "exit status 2", "exit status 255", "terminated by SIGTERM",
    "terminated by SIGKILL (core dumped)", "unknown termination cause 0x007f",
]  # fmt: skip
UNNAMED = ["can't find command '/no/such'", "can't find command '/other'", "EACCES"]
NAMED = [
    "too many open files to spawn '{}'",
    "unknown error making dispatchers for '{}': EISDIR",
    "Too many processes in process table to spawn '{}'",
]
REQUESTS = [
    "received SIGTERM indicating exit request",
    "received SIGHUP indicating restart request",
    "received SIGCHLD indicating a child quit",
]
JUNK = [
    "received SIGCHLD indicating a child quit", "'a' stdout output:", "waiting for a, b to die",
    "exited: nope", "spawned: 'a' with pid x", "fd 7 closed, stopped monitoring",
]  # fmt: skip


def message(kind: str, name: str, number: int, pick: int) -> str:
    """A supervisord message of ``kind`` about ``name``; ``pick`` chooses among variants."""
    how, expected = HOW[pick % len(HOW)], ("expected", "not expected")[pick % 2]
    signal = ("SIGTERM", "SIGKILL", "SIGINT")[pick % 3]
    return {
        "spawned": f"spawned: '{name}' with pid {number}",
        "unnamed": f"spawnerr: {UNNAMED[pick % len(UNNAMED)]}",
        "named": "spawnerr: " + NAMED[pick % len(NAMED)].format(name),
        "success": f"success: {name} entered RUNNING state, process has stayed up for > than "
        f"{('0', '1', '2', '0.5')[pick % 4]} seconds (startsecs)",
        "exited": f"exited: {name} ({how}; {expected})",
        "gave_up": f"gave up: {name} entered FATAL state, too many start retries too quickly",
        "killing": f"killing {name} (pid {number}) {('', 'process group ')[pick % 2]}"
        f"with signal {signal}",
        "sigkill": f"killing '{name}' ({number}) with SIGKILL",
        "waiting": f"waiting for {name} to stop",
        "stopped": f"stopped: {name} ({how})",
        "kill_backoff": f"Attempted to kill {name}, which is in BACKOFF state.",
        "unknown": f"unknown problem killing {name} ({number}):boom",
        "received": REQUESTS[pick % 3],
        "started": f"supervisord started with pid {number}",
        "junk": JUNK[pick % len(JUNK)],
    }[kind]


KINDS = st.sampled_from(
    ["spawned"] * 6 + ["exited"] * 6 + ["success"] * 4 + ["unnamed"] * 2
    + ["named", "gave_up", "killing", "sigkill", "waiting", "stopped", "kill_backoff",
       "unknown", "received", "started", "junk"]
)  # fmt: skip
#: Steps between lines around supervisord's deadlines: a retry k s after the k-th failure
#: (minus 10 ms of slack), an autorestart within 1.5 s of the exit, startsecs 0/1/2.5.
STEPS = st.sampled_from(
    [0, 0.001, 0.009, 0.01, 0.011, 0.05, 0.1, 0.3, 0.99, 1.0, 1.01, 1.49, 1.5, 1.51, 2.0, 2.5, 3.1]
    + [-0.5, -100.0]
)
ENTRY = st.tuples(
    STEPS,
    KINDS,
    st.sampled_from(NAMES),
    st.sampled_from([100, 101, 102, 10**17]),
    st.integers(0, 11),
    st.sampled_from(["INFO", "INFO", "DEBG", "WARN", "CRIT"]),
    st.sampled_from(["", "", "", "\n  continued", "\n"]),
)
OPTIONS = st.fixed_dictionaries(
    {
        "startsecs": st.sampled_from([0.0, 1.0, 2.5, -1.0, math.nan]),
        "startsecs_by_program": st.sampled_from(
            [None, {"a": 0}, {"a": 3.0, "b": 0.5}, {"b": math.nan}, {"web_0": 2**60}]
        ),
        "exitcodes": st.sampled_from([(0,), (0, 2), (1,), (-1, 0), (2**70, 0)]),
    }
)


def build(entries: list[tuple[Any, ...]], names: int) -> str:
    lines, t = [], 0.0
    for step, kind, name, number, pick, level, tail in entries:
        t += step
        stamp = BASE + datetime.timedelta(seconds=t)
        name = NAMES[NAMES.index(name) % names]
        text = message(kind, name, number, pick)
        lines.append(
            f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} {level} {text}{tail}"
        )
    return "\n".join(lines) + "\n"


#: Delays after a process's last event, at supervisord's thresholds: the 10 ms slack of a
#: due retry (1 s, 2 s, 3 s after the failures), startsecs 0.5/1/2, the 1.5 s autorestart.
DELAYS = [0.0, 0.001, 0.49, 0.5, 0.51, 0.989, 0.99, 0.991, 1.0, 1.001, 1.49, 1.5, 1.501,
          1.99, 2.0, 2.01, 2.99, 3.0]  # fmt: skip
STEP = st.tuples(
    st.integers(0, 3), st.integers(0, 9), st.integers(0, len(DELAYS)), st.integers(0, 11)
)


def simulate(steps: list[tuple[int, int, int, int]], names: int) -> str:
    """A plausible log: each step makes one process (or the daemon) do something its
    rough state allows, ``DELAYS[d]`` after that process's last event."""
    state = dict.fromkeys(NAMES[:names], "STOPPED")
    last = dict.fromkeys(NAMES[:names], 0.0)
    entries: list[tuple[float, str, str]] = []
    t, pid = 0.0, 100
    for proc, action, delay, pick in steps:
        name = NAMES[proc % names]
        if delay < len(DELAYS):
            t = max(t, last[name] + DELAYS[delay])
        pid += 1
        say = [(message(kind, name, pid, pick), new) for kind, new in _moves(state[name], action)]
        if action == 9:
            say = [(message(("received", "started", "junk")[pick % 3], name, pid, pick), None)]
        level = ("INFO", "DEBG", "WARN")[pick % 3]
        for text, new in say:
            entries.append((t, level, text))
            if new:
                state[name], last[name] = new, t
            if new == "STOPPED" and pick % 2:
                t += 0.001
    lines = []
    for when, level, text in entries:
        stamp = BASE + datetime.timedelta(seconds=when)
        lines.append(f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} {level} {text}")
    return "\n".join(lines) + "\n"


def _moves(state: str, action: int) -> list[tuple[str, str | None]]:
    """Messages (kind, the state they roughly lead to) for ``action`` in ``state``."""
    if state in ("STOPPED", "EXITED", "BACKOFF", "FATAL"):
        table = (
            [[("spawned", "STARTING")]] * 4
            + [[("unnamed", "BACKOFF")]] * 2
            + [[("named", "BACKOFF")], [("gave_up", "FATAL")], [("kill_backoff", "STOPPED")]]
        )
    elif state == "STARTING":
        table = (
            [[("exited", "BACKOFF")]] * 3
            + [[("success", "RUNNING")]] * 2
            + [
                [("gave_up", "FATAL")],
                [("waiting", "STOPPING"), ("stopped", "STOPPED")],
                [("unknown", "UNKNOWN")],
                [("exited", "EXITED")],
            ]
        )
    else:  # RUNNING, STOPPING, UNKNOWN
        table = [[("exited", "EXITED")]] * 4 + [
            [("killing", "STOPPING"), ("waiting", None), ("stopped", "STOPPED")],
            [("sigkill", "STOPPING"), ("stopped", "STOPPED")],
            [("stopped", "STOPPED")],
            [("success", "RUNNING")],
            [("unknown", "UNKNOWN")],
        ]
    return table[action % len(table)]


def split_share(data: bytes) -> tuple[int, int]:
    """(messages about one process replayed column-wise, those left to the per-message one)"""
    cols = MessageColumns.read(scan(data, "UTC"))
    split = logvector.split_replay(cols, 1.0, {}, np.array([0]))
    local = cols.op < GLOBAL_OPS
    return int((local & ~split.rest).sum()), int((local & split.rest).sum())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, max_size=80), names=st.integers(1, 4), options=OPTIONS)
def test_generated_logs_give_the_same_frame(
    entries: list[tuple[Any, ...]], names: int, options: dict[str, Any]
) -> None:
    read_both_ways(io.StringIO(build(entries, names)), tz="UTC", **options)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=60), names=st.integers(1, 4), options=OPTIONS)
def test_simulated_logs_give_the_same_frame(
    steps: list[tuple[int, int, int, int]], names: int, options: dict[str, Any]
) -> None:
    read_both_ways(io.StringIO(simulate(steps, names)), tz="UTC", **options)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(st.one_of(ENTRY.map(lambda e: [e]), LINES), max_size=60),
    newline=st.sampled_from([b"\n", b"\r\n"]),
)
def test_generated_logs_with_junk_give_the_same_frame(entries: list[Any], newline: bytes) -> None:
    parts = [build(e, 4).rstrip("\n").encode() if isinstance(e, list) else e for e in entries]
    read_both_ways(io.BytesIO(newline.join(parts)), tz="UTC")


def text(*entries: tuple[float, str]) -> str:
    stamps = [BASE + datetime.timedelta(seconds=when) for when, _ in entries]
    return "".join(
        f"{stamp:%Y-%m-%d %H:%M:%S},{stamp.microsecond // 1000:03d} INFO {what}\n"
        for stamp, (_, what) in zip(stamps, entries, strict=True)
    )


SPAWN_A, SPAWN_B = "spawned: 'a' with pid 7", "spawned: 'b' with pid 8"
UP_A, UP_B = (f"success: {n} entered RUNNING state, process has stayed up for > than 1 seconds "
              "(startsecs)" for n in "ab")  # fmt: skip
ERROR = "spawnerr: can't find command '/no/such'"
CRASH_A = "exited: a (exit status 1; not expected)"
STOP_REQUEST = "received SIGTERM indicating exit request"


@pytest.mark.parametrize(
    "delay", [0.5, 0.989, 0.99, 0.991, 1.0, 1.48, 1.499, 1.5, 1.501, 1.51, 2.0, 2.01]
)
def test_deadlines_give_the_same_frame(delay: float) -> None:
    """Unnamed spawn errors around a due retry and the autorestart window, crashes around
    startsecs (given, or learned from a success line), an exit request after a process's
    last line left it in BACKOFF."""
    quick = text(
        (0, SPAWN_B), (delay, "exited: b (exit status 1; not expected)"), (3, SPAWN_B),
        (4.1, UP_B), (4.5, "exited: b (exit status 0; expected)"), (5, SPAWN_B),
        (5 + delay, "exited: b (exit status 1; not expected)"), (7.5, STOP_REQUEST),
    )  # fmt: skip
    retry = text(
        (0, SPAWN_A), (0.2, SPAWN_B), (0.3, CRASH_A), (0.3 + delay, ERROR), (1.5, UP_B),
        (3.4, ERROR), (3.5, SPAWN_A), (3.5 + delay, CRASH_A), (9, STOP_REQUEST),
        (9.5, "stopped: b (terminated by SIGTERM)"),
    )  # fmt: skip
    restart = text(
        (0, SPAWN_A), (0.1, SPAWN_B), (1.1, UP_A), (1.2, UP_B),
        (2, "exited: a (exit status 0; expected)"), (2 + delay, ERROR), (5, SPAWN_A),
        (5 + delay, "exited: a (exit status 0; not expected)"), (6, STOP_REQUEST),
        (7, "supervisord started with pid 1"), (7.5, SPAWN_A), (8, ERROR), (8 + delay, ERROR),
        (9, "gave up: a entered FATAL state, too many start retries too quickly"),
    )  # fmt: skip
    for log in (quick, retry, restart):
        for startsecs in (0.0, 1.0, 2.0):
            read_both_ways(io.StringIO(log), tz="UTC", startsecs=startsecs)
        read_both_ways(io.StringIO(log), tz="UTC", startsecs_by_program={"b": delay})


@pytest.mark.parametrize(
    "options",
    [
        {"tz": "UTC"},
        {"tz": "Europe/Paris", "startsecs": 0.0, "exitcodes": (0, 1)},
        {"startsecs_by_program": {"crashloop": 5, "flapping": 0.0}},
        {"startsecs_by_program": {"crashloop": None}},  # not a number: per message only
    ],
)
def test_the_real_log_gives_the_same_frame(options: dict[str, Any]) -> None:
    read_both_ways(REAL_LOG, **options)


def test_the_benchmarks_million_line_log_gives_the_same_frame(tmp_path: Path) -> None:
    """The log of benchmarks/analysis.py (``build_log``): the real one repeated verbatim
    (times go back at each copy) up to a million lines."""
    sample = REAL_LOG.read_text().splitlines(keepends=True)
    copies, rest = divmod(1_000_000, len(sample))
    log = tmp_path / "supervisord.log"
    log.write_text("".join(sample) * copies + "".join(sample[:rest]))
    frame = read_both_ways(log)
    assert len(frame) > 300_000
    columnwise, per_message = split_share(log.read_bytes())
    assert columnwise > 20 * per_message  # most of it is replayed column-wise


def test_the_shifted_million_line_log_gives_the_same_frame() -> None:
    data, _ = repeat_log(REAL_LOG.read_bytes(), 200_000)
    read_both_ways(io.BytesIO(data), tz="UTC")


def test_generated_logs_are_mostly_replayed_column_wise() -> None:
    """Guards the test above from comparing the reference with itself."""
    rng = np.random.default_rng(0)
    kinds = ["spawned", "exited", "success", "killing", "waiting", "stopped", "received"]
    entries = [
        (float(rng.choice([0.01, 1.0])), str(rng.choice(kinds)), str(rng.choice(NAMES)),
         int(rng.integers(1, 10**6)), int(rng.integers(12)), "INFO", "")
        for _ in range(3000)
    ]  # fmt: skip
    data = build(entries, 4).encode()
    columnwise, per_message = split_share(data)
    assert columnwise > 2000 and per_message == 0
    read_both_ways(io.BytesIO(data), tz="UTC")


def test_too_many_candidates_leave_everything_to_the_per_message_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, _ = repeat_log(REAL_LOG.read_bytes(), 3000)
    monkeypatch.setattr(logvector, "_PAIRS_MAX", -1)
    assert split_share(data)[0] == 0
    fast = read_supervisord_log(io.BytesIO(data), tz="UTC")
    assert_same_frame(fast, read_supervisord_log_per_message(io.BytesIO(data), tz="UTC"))
