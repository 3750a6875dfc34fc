"""history() and sessions(): earlier sessions found by folder name, read as event logs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from nbsup import NbsupError, history, sessions


def row(program: str, to_state: str, time: float = 1795000000.0) -> dict[str, object]:
    return {
        "time": time, "elapsed": 0.0, "program": program, "group": program,
        "from_state": "STOPPED", "to_state": to_state, "pid": 0, "tries": 0,
        "exitstatus": None, "expected": None, "signal": None, "description": "",
        "reason": "start",
    }  # fmt: skip


def make_session(root: Path, folder: str, *programs: str, torn: bool = False) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    lines = [json.dumps(row(name, "STARTING")) for name in programs]
    text = "\n".join(lines) + "\n" + ('{"time": 17' if torn else "")
    (path / "events.jsonl").write_text(text)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_session(tmp_path, "20261126-090000-111", "a")
    make_session(tmp_path, "20261126-100000-222", "b", "b2", torn=True)
    make_session(tmp_path, "20261126-100000-222-2", "c")
    make_session(tmp_path, f"20261126-110000-{os.getpid()}", "mine")
    (tmp_path / "not-a-session").mkdir()
    (tmp_path / "20261126-120000-333").mkdir()  # no event file: not a session
    return tmp_path


def test_sessions_lists_folders_oldest_first(root: Path) -> None:
    table = sessions(root)
    assert list(table.session) == [
        "20261126-090000-111", "20261126-100000-222", "20261126-100000-222-2",
        f"20261126-110000-{os.getpid()}",
    ]  # fmt: skip
    assert list(table.current) == [False, False, False, True]
    assert list(table.events) == [1, 3, 1, 1]
    assert list(table.pid)[:2] == [111, 222]
    assert str(table.started[0]) == "2026-11-26 09:00:00"


def test_history_is_the_latest_earlier_session(root: Path) -> None:
    frame = history(state_dir=root)
    assert list(frame.program) == ["c"]
    assert list(history(-2, root).program) == ["b", "b2"]
    assert history(-2, root).attrs["skipped_lines"] == 1
    assert list(history(-3, root).program) == ["a"]


def test_history_all_and_by_name(root: Path) -> None:
    frame = history("all", root)
    assert list(frame.program) == ["a", "b", "b2", "c"]
    assert frame.attrs["skipped_lines"] == 1 and len(frame.attrs["sessions"]) == 3
    assert list(history(f"20261126-110000-{os.getpid()}", root).program) == ["mine"]


@pytest.mark.parametrize(
    ("session", "message"),
    [
        (-4, "session -4 asked for, but 3 earlier session(s)"),
        (0, "expected -1, -2"),
        (1, "expected -1, -2"),
        (True, "expected -1, -2"),
        ("nope", "no session 'nope'"),
    ],
)
def test_bad_session_is_one_clear_error(root: Path, session: object, message: str) -> None:
    with pytest.raises(NbsupError, match=re.escape(message)):
        history(session, root)  # type: ignore[arg-type]


def test_no_earlier_session(tmp_path: Path) -> None:
    with pytest.raises(NbsupError, match="0 earlier session"):
        history(state_dir=tmp_path / "missing")
    with pytest.raises(NbsupError, match="no earlier session"):
        history("all", tmp_path)
    assert sessions(tmp_path / "missing").empty
