"""The journal's lines: records written as json.dumps would write them, one write per file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from nbsup.core.record import COLUMNS, EventRecord
from nbsup.runtime.journal import Journal, format_record_line

maybe_int = st.none() | st.integers(-(2**63), 2**63)
text = st.text()  # quotes, backslashes, control characters, non-ASCII

records = st.builds(
    EventRecord,
    time=st.floats(allow_nan=True, allow_infinity=True),
    elapsed=st.floats(min_value=0, max_value=1e9),
    program=text,
    group=text,
    from_state=text,
    to_state=text,
    pid=maybe_int,
    tries=maybe_int,
    exitstatus=maybe_int,
    signal=st.none() | text,
    expected=st.none() | st.booleans(),
    message=text,
)


@given(records)
def test_a_record_line_is_the_json_dumps_of_its_columns(record: EventRecord) -> None:
    expected = json.dumps(dict(zip(COLUMNS, record.as_tuple(), strict=True))) + "\n"
    assert format_record_line(record) == expected


def test_one_append_is_one_write_per_file(tmp_path: Path, monkeypatch) -> None:
    journal = Journal(tmp_path)
    writes: list[int] = []
    real_write = os.write

    def counting(fd: int, data: bytes) -> int:
        writes.append(fd)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting)
    record = EventRecord(1.5, 0.5, "x", "x", "RUNNING", "STOPPING", 7, 0, None, None, None, "")
    journal.append([format_record_line(record)] * 3, ["a\n", "b\n"])
    assert len(writes) == 2 and len(set(writes)) == 2
    rows = [json.loads(line) for line in journal.events_path.read_text().splitlines()]
    assert rows == [dict(zip(COLUMNS, record.as_tuple(), strict=True))] * 3
    assert journal.log_path.read_text() == "a\nb\n"
