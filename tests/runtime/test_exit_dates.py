"""Exits are dated when they became known: when the selector that reported them returned,
or when a look after a spawn found them, whichever came first; never after the callback."""

from __future__ import annotations

import os
import select
import shutil
import threading
from collections.abc import Iterator

import pytest

from nbsup.runtime.exitdates import ExitDates


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def exited_pidfd() -> Iterator[int]:
    """The pidfd of a child that has exited (not reaped yet: it stays readable)."""
    true = shutil.which("true") or "/bin/true"
    pid = os.posix_spawn(true, [true], os.environ)
    pidfd = os.pidfd_open(pid)
    assert select.select([pidfd], [], [], 10)[0] == [pidfd]
    yield pidfd
    os.waitpid(pid, 0)
    os.close(pidfd)


def test_an_exit_is_dated_when_its_callback_runs_without_anything_earlier(exited_pidfd):
    clock = _Clock()
    dates = ExitDates(clock)
    dates.watch(exited_pidfd)
    clock.now = 101.0
    assert dates.date(exited_pidfd) == 101.0
    dates.close()


def test_an_exit_is_dated_when_the_selector_reported_it(exited_pidfd):
    clock = _Clock()
    dates = ExitDates(clock, reported_at=lambda: 100.5)
    dates.watch(exited_pidfd)
    clock.now = 103.0  # the loop restarted other programs first
    assert dates.date(exited_pidfd) == 100.5
    dates.close()


def test_a_look_after_a_spawn_dates_an_exit_once_and_the_first_look_wins(exited_pidfd):
    clock = _Clock()
    dates = ExitDates(clock, reported_at=lambda: 104.0)  # reported after a run of spawns
    dates.watch(exited_pidfd)
    clock.now = 101.0
    dates.look()  # after the spawn during which it exited
    clock.now = 102.0
    dates.look()  # reported once: the first date stays
    clock.now = 105.0
    assert dates.date(exited_pidfd) == 101.0
    assert dates.date(exited_pidfd) == 104.0  # the note is used once
    dates.close()


def test_a_running_child_is_not_noted_and_a_forgotten_pidfd_is_not_looked_at(exited_pidfd):
    clock = _Clock()
    dates = ExitDates(clock)
    sleep = shutil.which("sleep") or "/bin/sleep"
    pid = os.posix_spawn(sleep, [sleep, "100"], os.environ)
    running = os.pidfd_open(pid)
    try:
        dates.watch(running)
        dates.watch(exited_pidfd)
        dates.forget(exited_pidfd)
        dates.forget(exited_pidfd)  # twice: nothing happens
        dates.look()
        clock.now = 107.0
        assert dates.date(running) == 107.0
        assert dates.date(exited_pidfd) == 107.0
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(running)
        dates.close()


def _sleeper(seconds: str) -> tuple[int, int]:
    sleep = shutil.which("sleep") or "/bin/sleep"
    pid = os.posix_spawn(sleep, [sleep, seconds], os.environ)
    return pid, os.pidfd_open(pid)


def test_an_exit_during_a_spawn_is_dated_by_the_watcher_thread():
    clock = _Clock()
    dates = ExitDates(clock)
    noted = threading.Event()
    look = dates.look

    def look_and_tell() -> None:  # the watcher thread's look, made observable
        look()
        noted.set()

    dates.look = look_and_tell  # type: ignore[method-assign]
    pid, pidfd = _sleeper("0")
    try:
        dates.watch(pidfd)
        with dates.during_spawn():  # a spawn lets go of the interpreter lock, as wait does
            assert noted.wait(10)  # the exit happened at 100.0, during the spawn
            clock.now = 200.0  # the spawn returns much later
        assert dates.date(pidfd) == 100.0  # dated when the watcher saw it
    finally:
        os.waitpid(pid, 0)
        dates.forget(pidfd)
        os.close(pidfd)
        dates.close()


def test_the_watcher_is_disarmed_outside_spawns():
    clock = _Clock()
    dates = ExitDates(clock)
    with dates.during_spawn():  # the watcher thread exists from the first spawn on
        pass
    watcher = dates._watcher
    assert watcher is not None
    pid, pidfd = _sleeper("0")
    try:
        dates.watch(pidfd)
        assert select.select([pidfd], [], [], 10)[0] == [pidfd]
        assert watcher._outer.poll(0) == []  # the pidfds' epoll is disabled in the watcher's
        clock.now = 105.0
        assert dates.date(pidfd) == 105.0  # nothing noted: dated by the caller's clock
    finally:
        os.waitpid(pid, 0)
        os.close(pidfd)
        dates.close()
