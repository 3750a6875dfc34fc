"""The attempt book: positions per attempt and channel, kept compactly, the oldest forgotten."""

from __future__ import annotations

import gc

import pytest

from nbsup.core.errors import LogUnavailable
from nbsup.runtime.attempts import AttemptBook
from nbsup.runtime.output import OutputChannel


def channel() -> OutputChannel:
    return OutputChannel(None, 1 << 20, False, lambda: 0.0)


def test_each_attempt_reads_its_own_output_from_the_tail() -> None:
    out, err = channel(), channel()
    book = AttemptBook("x")
    for k in range(1, 4):
        number = book.begin(1000 + k)
        book.open_spans(number, {"stdout": out, "stderr": err})
        out.write(f"out {k}\n".encode())
        err.write(f"err {k}\n".encode())
        book.close_spans(number)
        out.write(b"==> marker\n")
    assert book.prepare(2, "stdout").read() == b"out 2\n"
    assert book.prepare(-1, "stderr").read() == b"err 3\n"
    assert book.prepare(1, "stdout", nbytes=2).read() == b"1\n"
    assert book.pid(3) == 1003
    number = book.begin(None)  # a failed spawn: no pid, empty output
    book.open_spans(number, {"stdout": out})
    book.close_spans(number)
    assert book.pid(number) is None and book.prepare(4, "stdout").read() == b""
    with pytest.raises(LogUnavailable, match="there was no stderr"):
        book.prepare(4, "stderr")  # that attempt had stdout only (redirect_stderr)


def test_a_running_attempt_reads_up_to_now() -> None:
    out = channel()
    book = AttemptBook("x")
    book.open_spans(book.begin(1), {"stdout": out})
    out.write(b"so far")
    assert book.prepare(-1, "stdout").read() == b"so far"


@pytest.mark.parametrize("k", [0, 6, -6])
def test_no_such_attempt(k: int) -> None:
    book = AttemptBook("x")
    for _ in range(5):
        book.open_spans(book.begin(1), {"stdout": channel()})
    with pytest.raises(LogUnavailable, match="x has had 5 attempts"):
        book.prepare(k, "stdout")


def test_the_oldest_attempts_are_forgotten_and_numbers_still_count() -> None:
    out = channel()
    book = AttemptBook("x", limit=10)
    for k in range(1, 101):
        number = book.begin(k)
        book.open_spans(number, {"stdout": out})
        out.write(b"%d\n" % k)
        book.close_spans(number)
    assert book.count == 100
    assert 10 <= len(book.pids) <= 20  # forgotten in batches
    assert book.prepare(100, "stdout").read() == b"100\n"
    assert book.prepare(-10, "stdout").read() == b"91\n"
    with pytest.raises(LogUnavailable, match="older than the 10 attempts indexed"):
        book.prepare(1, "stdout")


def test_thousands_of_attempts_add_no_objects_for_the_collector() -> None:
    out = channel()
    book = AttemptBook("x")
    book.open_spans(book.begin(1), {"stdout": out})
    gc.collect()
    before = len(gc.get_objects())
    for k in range(5000):
        number = book.begin(k + 2)
        book.open_spans(number, {"stdout": out})
        book.close_spans(number)
    gc.collect()
    assert len(gc.get_objects()) - before < 50
