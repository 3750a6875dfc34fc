"""The children's descriptors behind one reader of the loop (``runtime/readers.py``): the
callbacks of ready descriptors run, a removed one's never does, and one that raises does
not keep the others from running."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from nbsup.runtime.readers import Readers


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def pipes() -> Iterator[list[tuple[int, int]]]:
    made = [os.pipe() for _ in range(3)]
    yield made
    for read_end, write_end in made:
        os.close(read_end)
        os.close(write_end)


def test_ready_descriptors_callbacks_run_with_their_arguments(loop, pipes) -> None:
    readers = Readers(loop)
    calls = []
    for index, (read_end, _) in enumerate(pipes):
        readers.add(read_end, lambda *args: calls.append(args), "pipe", index)
    os.write(pipes[0][1], b"x")
    os.write(pipes[2][1], b"x")
    readers.dispatch()
    assert sorted(calls) == [("pipe", 0), ("pipe", 2)]
    calls.clear()
    readers.dispatch()  # level-triggered: still readable, called again
    assert sorted(calls) == [("pipe", 0), ("pipe", 2)]
    readers.close()


def test_the_loop_runs_them_when_a_descriptor_becomes_readable(pipes) -> None:
    read_end, write_end = pipes[0]
    received: list[bytes] = []

    def run() -> None:  # a thread of its own: no other loop may be running in it
        loop = asyncio.new_event_loop()
        readers = Readers(loop)
        done: asyncio.Future[bytes] = loop.create_future()
        readers.add(read_end, lambda: done.done() or done.set_result(os.read(read_end, 10)))
        loop.call_soon(os.write, write_end, b"hello")
        try:
            received.append(loop.run_until_complete(asyncio.wait_for(done, 10)))
        finally:
            readers.close()
            loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert received == [b"hello"]


def test_a_descriptor_removed_by_an_earlier_callback_is_not_called(loop, pipes) -> None:
    readers = Readers(loop)
    calls = []
    (first, first_w), (second, second_w), _ = pipes

    def remove_the_other(mine: int, other: int) -> None:
        calls.append(mine)
        readers.remove(other)

    readers.add(first, remove_the_other, first, second)
    readers.add(second, remove_the_other, second, first)
    os.write(first_w, b"x")
    os.write(second_w, b"x")
    readers.dispatch()
    assert len(calls) == 1  # whichever ran first removed the other
    assert len(readers) == 1 and calls[0] in readers
    readers.close()


def test_a_failing_callback_goes_to_the_loop_and_the_others_run(loop, pipes) -> None:
    readers = Readers(loop)
    reported = []
    loop.set_exception_handler(lambda loop, context: reported.append(context["exception"]))
    calls = []

    def fail() -> None:
        raise ValueError("broken reader")

    readers.add(pipes[0][0], fail)
    readers.add(pipes[1][0], calls.append, "other")
    for _, write_end in pipes[:2]:
        os.write(write_end, b"x")
    readers.dispatch()
    assert calls == ["other"]
    assert [str(error) for error in reported] == ["broken reader"]
    readers.close()


def test_adding_again_replaces_the_callback_and_remove_says_what_it_did(loop, pipes) -> None:
    readers = Readers(loop)
    calls = []
    read_end, write_end = pipes[0]
    readers.add(read_end, calls.append, "old")
    readers.add(read_end, calls.append, "new")
    os.write(write_end, b"x")
    readers.dispatch()
    assert calls == ["new"]
    assert readers.remove(read_end) is True
    assert readers.remove(read_end) is False
    calls.clear()
    readers.dispatch()
    assert calls == []
    readers.close()


def test_close_stops_every_callback_and_leaves_the_descriptors_open(loop, pipes) -> None:
    readers = Readers(loop)
    calls = []
    readers.add(pipes[0][0], calls.append, "x")
    readers.close()
    assert len(readers) == 0
    assert readers.remove(pipes[0][0]) is False
    os.write(pipes[0][1], b"x")
    assert os.read(pipes[0][0], 1) == b"x"  # still open
    assert calls == []
    readers.close()  # twice is fine
