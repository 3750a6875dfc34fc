"""Fuzzing read_supervisord_log: random mixes of real message kinds and junk never raise
and always give the exact event schema with consistent line accounting."""

from __future__ import annotations

import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbsup.analysis import read_supervisord_log
from nbsup.eventlog import empty_frame

LEVELS = ["CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT"]
NAMES = st.sampled_from(["a", "b", "web_0", "x y", "é", "'q'", ""]) | st.text(max_size=8)
NUMBERS = st.integers(min_value=0, max_value=10**25).map(str) | st.sampled_from(["-1", "x", ""])
HOW = st.one_of(
    NUMBERS.map(lambda n: f"exit status {n}"),
    st.sampled_from(["SIGTERM", "SIGKILL", "signal 99", "SIGSEGV (core dumped)", "sig"]).map(
        lambda s: f"terminated by {s}"
    ),
    st.just("unknown termination cause 0x007f"),
)
MESSAGES = st.one_of(
    st.tuples(NAMES, NUMBERS).map(lambda t: f"spawned: '{t[0]}' with pid {t[1]}"),
    st.sampled_from(
        ["can't find command '/no/such'", "too many open files to spawn 'a'", "", "x"]
    ).map(lambda e: f"spawnerr: {e}"),
    st.tuples(NAMES, NUMBERS).map(
        lambda t: (
            f"success: {t[0]} entered RUNNING state, process has stayed up for > than "
            f"{t[1]} seconds (startsecs)"
        )
    ),
    st.tuples(NAMES, HOW, st.sampled_from(["expected", "not expected", "maybe"])).map(
        lambda t: f"exited: {t[0]} ({t[1]}; {t[2]})"
    ),
    NAMES.map(lambda n: f"gave up: {n} entered FATAL state, too many start retries too quickly"),
    st.tuples(NAMES, NUMBERS).map(lambda t: f"killing {t[0]} (pid {t[1]}) with signal SIGTERM"),
    st.tuples(NAMES, NUMBERS).map(lambda t: f"killing '{t[0]}' ({t[1]}) with SIGKILL"),
    NAMES.map(lambda n: f"waiting for {n} to stop"),
    st.tuples(NAMES, HOW).map(lambda t: f"stopped: {t[0]} ({t[1]})"),
    NAMES.map(lambda n: f"Attempted to kill {n}, which is in BACKOFF state."),
    st.tuples(NAMES, NUMBERS).map(lambda t: f"unknown problem killing {t[0]} ({t[1]}):boom"),
    st.sampled_from(["SIGTERM", "SIGHUP", "SIGINT"]).map(
        lambda s: f"received {s} indicating exit request"
    ),
    NUMBERS.map(lambda n: f"supervisord started with pid {n}"),
    st.text(max_size=40),
)
STAMPS = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1999-12-31").to_pydatetime(),
        max_value=pd.Timestamp("2031-01-01").to_pydatetime(),
    ).map(lambda d: f"{d:%Y-%m-%d %H:%M:%S},{d.microsecond // 1000:03d}"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}\Z"),
)
LINES = st.one_of(
    st.tuples(STAMPS, st.sampled_from(LEVELS) | st.text(max_size=4), MESSAGES).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}".encode("utf-8", "surrogatepass")
    ),
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(LINES, max_size=30),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    startsecs=st.sampled_from([0.0, 1.0, 2.5]),
)
def test_random_logs_never_raise_and_keep_the_schema(
    lines: list[bytes], newline: bytes, startsecs: float
) -> None:
    data = newline.join(lines)
    frame = read_supervisord_log(io.BytesIO(data), startsecs=startsecs, tz="UTC")
    assert list(frame.columns) == list(empty_frame().columns)
    assert (frame.dtypes == empty_frame().dtypes).all()
    assert frame["from_state"].notna().all() and frame["to_state"].notna().all()
    assert frame["program"].notna().all() and frame["time"].notna().all()
    attrs = frame.attrs
    assert 0 <= attrs["skipped_lines"] <= attrs["lines"]
    assert attrs["continuation_lines"] + attrs["skipped_lines"] <= attrs["lines"]
    assert len(attrs["skipped_examples"]) == min(5, attrs["skipped_lines"])
    assert all(0 < n <= attrs["lines"] for n, _ in attrs["skipped_examples"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(STAMPS, MESSAGES), max_size=30))
def test_text_and_bytes_give_the_same_frame(entries: list[tuple[str, str]]) -> None:
    text = "".join(f"{stamp} INFO {message}\n" for stamp, message in entries)
    from_text = read_supervisord_log(io.StringIO(text), tz="UTC")
    from_bytes = read_supervisord_log(io.BytesIO(text.encode("utf-8", "surrogatepass")), tz="UTC")
    pd.testing.assert_frame_equal(from_text, from_bytes)
