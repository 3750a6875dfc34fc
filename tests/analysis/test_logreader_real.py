"""read_supervisord_log on logs written by the real supervisord, against its own events.

Two daemons run at once on the same programs, one with ``loglevel=debug`` and one with
``loglevel=info``. Each also runs an event listener that records supervisord's
PROCESS_STATE events: the reference. The transitions read back from each log must be
the listener's, program by program (from, to, tries, expected on EXITED, pids).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from supervisord_runs import Daemon, has, run_supervisord

from nbsup.analysis import read_supervisord_log

pytestmark = pytest.mark.differential

PROGRAMS = {
    "crash": {"command": "sh -c 'exit 1'", "startretries": "1"},
    "nosuch": {"command": "/no/such/cmd", "startretries": "1"},
    "early": {"command": "sh -c 'sleep 0.3; exit 0'", "startsecs": "1", "startretries": "1"},
    "stopme": {"command": "sleep 30"},
    "stubborn": {
        "command": "sh -c 'trap \"\" TERM; sleep 30'",
        "stopwaitsecs": "1",
        "stopasgroup": "true",
        "killasgroup": "true",
    },
    "backoffstop": {"command": "sh -c 'exit 1'", "startretries": "10"},
    "flap": {"command": "sh -c 'sleep 0.2; exit 0'", "startsecs": "0", "autorestart": "true"},
    "pool": {
        "command": "sleep 30",
        "numprocs": "2",
        "process_name": "%(program_name)s_%(process_num)d",
    },
}
NAMES = [
    "crash",
    "nosuch",
    "early",
    "stopme",
    "stubborn",
    "backoffstop",
    "flap",
    "pool_0",
    "pool_1",
]
TRIGGERS = [
    (lambda ev: has(ev, "stopme", "RUNNING"), lambda d: d.stop_ctl("stopme")),
    (lambda ev: has(ev, "stubborn", "RUNNING"), lambda d: d.stop_rpc("stubborn")),
    (lambda ev: has(ev, "backoffstop", "BACKOFF", tries="2"), lambda d: stop_soon(d)),
]


def stop_soon(daemon: Daemon) -> None:
    """Stop backoffstop while it waits in BACKOFF(2) for its next retry (2 s away)."""
    stop = threading.Timer(0.3, daemon.stop_rpc, args=("backoffstop",))
    stop.start()
    stop.join()


def done(ev: list[dict[str, Any]]) -> bool:
    flaps = sum(e["processname"] == "flap" and e["eventname"].endswith("EXITED") for e in ev)
    return flaps >= 2 and all(
        has(ev, name, state)
        for name, state in [
            ("crash", "FATAL"),
            ("nosuch", "FATAL"),
            ("early", "FATAL"),
            ("stopme", "STOPPED"),
            ("stubborn", "STOPPED"),
            ("backoffstop", "STOPPED"),
            ("pool_1", "RUNNING"),
            ("pool_0", "RUNNING"),
        ]
    )


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Daemon]:
    """One debug and one info daemon, run concurrently (~6 s)."""
    root = tmp_path_factory.mktemp("real")
    result: dict[str, Daemon] = {}

    def run(level: str) -> None:
        result[level] = run_supervisord(
            root / level, PROGRAMS, loglevel=level, triggers=TRIGGERS, done=done
        )

    threads = [threading.Thread(target=run, args=(level,)) for level in ("debug", "info")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def reference(daemon: Daemon, name: str) -> list[tuple[Any, ...]]:
    """The listener's events of ``name`` as (from, to, tries, expected, pid)."""
    return [
        (
            e["from_state"],
            e["eventname"].removeprefix("PROCESS_STATE_"),
            int(e["tries"]) if "tries" in e else None,
            e["expected"] == "1" if "expected" in e else None,
            int(e["pid"]) if "pid" in e else None,
        )
        for e in daemon.events()
        if e["processname"] == name
    ]


def replayed(frame: pd.DataFrame, name: str, pids: list[bool]) -> list[tuple[Any, ...]]:
    """The reader's rows of ``name`` in the reference's shape: ``expected`` only on
    EXITED (supervisord's BACKOFF event has none), pid only where the event has one."""
    rows = frame[frame["program"] == name]
    out = []
    for i, row in enumerate(rows.itertuples()):
        keep_pid = pids[i] if i < len(pids) else False
        out.append(
            (
                row.from_state,
                row.to_state,
                None if pd.isna(row.tries) else int(row.tries),
                bool(row.expected) if row.to_state == "EXITED" else None,
                int(row.pid) if keep_pid and not pd.isna(row.pid) else None,
            )
        )
    return out


def check_against_listener(daemon: Daemon, frame: pd.DataFrame, name: str) -> None:
    ref = reference(daemon, name)
    got = replayed(frame, name, [r[4] is not None for r in ref])
    assert got[: len(ref)] == ref, f"{name}:\n{got}\n{ref}"
    # the listener is stopped last and may miss the final shutdown events: those extra
    # rows of the reader must all come after the exit request
    exit_request = frame.attrs["exit_request"]
    extra = frame[frame["program"] == name].iloc[len(ref) :]
    assert (extra["time"] >= exit_request).all(), f"{name}: {extra}"


@pytest.fixture(scope="module")
def frames(daemons: dict[str, Daemon]) -> dict[str, pd.DataFrame]:
    out = {}
    for level, daemon in daemons.items():
        frame = read_supervisord_log(daemon.log)
        text = daemon.log.read_text()
        line = next(ln for ln in text.splitlines() if "indicating exit request" in ln)
        local = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
        epoch = local + int(line[20:23]) / 1000
        frame.attrs["exit_request"] = pd.Timestamp(epoch, unit="s", tz="UTC").round("ms")
        out[level] = frame
    return out


def test_the_runs_went_as_planned(daemons: dict[str, Daemon]) -> None:
    for daemon in daemons.values():
        assert daemon.errors == []
        assert done(daemon.events())
        st = lambda t: ("STARTING", t)  # noqa: E731
        seq = {n: [(r[1], r[2]) for r in reference(daemon, n)] for n in NAMES}
        fatal = [st(0), ("BACKOFF", 1), st(1), ("BACKOFF", 2), ("FATAL", None)]
        assert seq["nosuch"] == fatal  # startretries=1: two attempts, then FATAL
        for name in ("crash", "early"):  # (a reap race would add RUNNING/EXITED rows)
            assert seq[name][-2:] == fatal[-2:]
        assert seq["backoffstop"] == [*fatal[:4], ("STOPPED", None)]
        for name in ("stopme", "stubborn", "pool_0", "pool_1"):
            assert seq[name][:2] == [st(0), ("RUNNING", None)]


@pytest.mark.parametrize("name", NAMES)
def test_debug_log_gives_supervisords_transitions(
    daemons: dict[str, Daemon], frames: dict[str, pd.DataFrame], name: str
) -> None:
    check_against_listener(daemons["debug"], frames["debug"], name)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "backoffstop"])
def test_info_log_gives_supervisords_transitions(
    daemons: dict[str, Daemon], frames: dict[str, pd.DataFrame], name: str
) -> None:
    check_against_listener(daemons["info"], frames["info"], name)


def test_info_log_cannot_see_a_stop_in_backoff(
    daemons: dict[str, Daemon], frames: dict[str, pd.DataFrame]
) -> None:
    """BACKOFF -> STOPPED is logged at DEBG only: at INFO the reader keeps the process in
    BACKOFF and turns it FATAL at the exit request, as supervisord would have."""
    ref = reference(daemons["info"], "backoffstop")
    got = replayed(frames["info"], "backoffstop", [r[4] is not None for r in ref])
    assert got[:4] == ref[:4]
    assert ref[4][:2] == ("BACKOFF", "STOPPED")
    assert got[4][:2] == ("BACKOFF", "FATAL")


def test_details_of_the_debug_log(frames: dict[str, pd.DataFrame], event_schema: Any) -> None:
    frame = frames["debug"]
    assert (frame.dtypes == event_schema).all()
    assert frame["program"].equals(frame["group"])
    rows = frame.set_index(["program", "to_state"], drop=False)
    stopping = rows.loc[("stopme", "STOPPING")]
    assert stopping["signal"] == "SIGTERM" and stopping["message"].startswith("killing stopme")
    killed = rows.loc[("stubborn", "STOPPED")]
    assert (killed["exitstatus"], killed["signal"]) == (-1, "SIGKILL")
    assert rows.loc[("backoffstop", "STOPPED")]["pid"] == 0
    nosuch = frame[frame["program"] == "nosuch"]
    assert nosuch["message"].iloc[1] == "spawnerr: can't find command '/no/such/cmd'"
    assert frame.attrs["unattributed_spawnerr"] == 0
    assert frame.attrs["skipped_lines"] > 0  # fd/SIGCHLD/listener chatter at debug
    assert frame["time"].is_monotonic_increasing
    assert frame["elapsed"].min() >= 0


def test_details_of_the_info_log(frames: dict[str, pd.DataFrame]) -> None:
    frame = frames["info"]
    stopping = frame[(frame["program"] == "stubborn") & (frame["to_state"] == "STOPPING")]
    message = stopping["message"].iloc[0]  # the first sign of the stop at INFO
    assert message in ("waiting for stubborn to stop", "") or message.startswith("killing")
    stopped = frame[(frame["program"] == "stubborn") & (frame["to_state"] == "STOPPED")]
    assert stopped["signal"].iloc[0] == "SIGKILL"


def test_log_given_as_open_file(
    daemons: dict[str, Daemon], frames: dict[str, pd.DataFrame]
) -> None:
    path: Path = daemons["debug"].log
    with open(path, "rb") as binary:
        from_binary = read_supervisord_log(binary)
    with open(path) as text:
        from_text = read_supervisord_log(text)
    expected = frames["debug"]
    pd.testing.assert_frame_equal(from_binary, expected)
    pd.testing.assert_frame_equal(from_text, expected)
