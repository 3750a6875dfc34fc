"""read_events: nbsup's events.jsonl read back, from a real Supervisor's session folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import nbsup
from nbsup.analysis import read_events, read_supervisord_log
from nbsup.eventlog import empty_frame

pytestmark = pytest.mark.realprocess


def run_session(root: Path, name: str) -> tuple[pd.DataFrame, Path]:
    """A private supervisor in ``root``: one fast-failing program to FATAL, then shutdown."""
    sup = nbsup.Supervisor(state_dir=str(root))
    try:
        program = sup.add_program(name, command="sh -c 'exit 1'", startretries=1)
        program.wait_for("FATAL", timeout=20)
    finally:
        sup.shutdown(timeout=20)
    assert sup.session_dir is not None
    return sup.events, sup.session_dir


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Any]]]:
    root = tmp_path_factory.mktemp("state")
    yield root, [run_session(root, "first"), run_session(root, "second")]


def test_round_trip_of_a_session_folder(sessions: tuple[Path, list[Any]]) -> None:
    _, [(events, folder), _] = sessions
    assert list(events["to_state"])[-1] == "FATAL"
    frame = read_events(folder)
    pd.testing.assert_frame_equal(frame, events)
    assert frame.attrs["skipped_lines"] == 0 and frame.attrs["lines"] == len(events)
    pd.testing.assert_frame_equal(read_events(folder / "events.jsonl"), events)
    pd.testing.assert_frame_equal(read_events(str(folder)), events)


def test_the_root_reads_every_session_in_time_order(sessions: tuple[Path, list[Any]]) -> None:
    root, [(first, one), (second, two)] = sessions
    frame = read_events(root)
    expected = pd.concat([first, second], ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.attrs["sessions"] == [str(one / "events.jsonl"), str(two / "events.jsonl")]


def test_a_torn_last_line_is_skipped_and_counted(
    sessions: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    _, [(events, folder), _] = sessions
    text = (folder / "events.jsonl").read_text()
    torn = tmp_path / "events.jsonl"
    torn.write_text(text + text.splitlines()[0][:37])  # killed in the middle of a write
    frame = read_events(torn)
    pd.testing.assert_frame_equal(frame, events)
    assert frame.attrs["skipped_lines"] == 1
    assert frame.attrs["lines"] == len(events) + 1
    [(file, number, line)] = frame.attrs["skipped_examples"]
    assert (file, number, line) == (str(torn), len(events) + 1, text.splitlines()[0][:37])


def test_invalid_records_are_skipped_never_fatal(tmp_path: Path) -> None:
    good = {
        "time": 1700000000.5, "elapsed": 0.5, "program": "p", "group": "p",
        "from_state": "STOPPED", "to_state": "STARTING", "pid": 12, "tries": 0,
        "exitstatus": None, "signal": None, "expected": None, "message": "spawned: 'p' with pid 12",
    }  # fmt: skip
    bad = [
        "not json",
        "[1, 2]",
        json.dumps({**good, "to_state": "SLEEPING"}),
        json.dumps({**good, "pid": "12"}),
        json.dumps({**good, "pid": 2**70}),
        json.dumps({**good, "time": None}),
        json.dumps({**good, "expected": 1}),
        json.dumps({k: v for k, v in good.items() if k != "program"}),
        '{"time": NaN}',
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        "\n".join([json.dumps(good), *bad, "", json.dumps(good)]).encode() + b"\n\xff\xfe\n"
    )
    frame = read_events(path)
    assert len(frame) == 2 and (frame.dtypes == empty_frame().dtypes).all()
    assert frame["time"].iloc[0] == pd.Timestamp(1700000000.5, unit="s", tz="UTC")
    assert frame["message"].iloc[0] == good["message"]
    assert frame.attrs["skipped_lines"] == len(bad) + 1
    assert len(frame.attrs["skipped_examples"]) == 5


def test_empty_and_missing(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("")
    frame = read_events(tmp_path)
    assert len(frame) == 0 and (frame.dtypes == empty_frame().dtypes).all()
    empty_root = tmp_path / "root"
    empty_root.mkdir()
    assert len(read_events(empty_root)) == 0 and read_events(empty_root).attrs["sessions"] == []
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "nope")


def test_nbsups_own_supervisord_log_reads_like_its_events(
    sessions: tuple[Path, list[Any]],
) -> None:
    """The session's supervisord.log (supervisord's format) gives the same transitions."""
    _, [(events, folder), _] = sessions
    frame = read_supervisord_log(folder / "supervisord.log")
    columns = ["program", "from_state", "to_state", "pid", "tries", "exitstatus", "expected"]
    pd.testing.assert_frame_equal(frame[columns], events[columns])
    gap = (frame["time"] - events["time"]).abs().max()
    assert gap < pd.Timedelta(milliseconds=5)
