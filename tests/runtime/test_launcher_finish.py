"""Finishing an ended process (its last output, its pipes, its group) never touches a new
child that got the same pid: the kernel reuses a pid only once its group is empty."""

from __future__ import annotations

import os
import select

from nbsup.core.events import ExitStatus
from nbsup.runtime.launcher import LocalProcess


def _ended(pid: int) -> LocalProcess:
    process = LocalProcess(pid, lambda channel, data: None, lambda status, seen: None)
    process.status = ExitStatus(code=0)
    return process


def test_an_ended_process_is_forgotten_once_its_group_is_empty(launcher) -> None:
    local, watchdog = launcher
    pid = os.posix_spawn("/bin/true", ["true"], os.environ, setsid=True)
    os.waitpid(pid, 0)
    local.finish(_ended(pid))
    assert watchdog.told == [("forget", pid)]


def test_a_pid_reused_by_a_new_child_is_left_to_it(launcher) -> None:
    local, watchdog = launcher
    pid = os.posix_spawn("/bin/sleep", ["sleep", "30"], os.environ, setsid=True)
    try:
        local.children[pid] = _ended(pid)  # stands for the new child with that pid
        old = _ended(pid)
        local.finish(old)
        assert old.finished
        assert watchdog.told == []  # neither forgotten nor swept: it is the new one's
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_a_start_stands_when_the_next_starts_pipes_cannot_be_made(launcher, monkeypatch):
    from nbsup.core.options import build_options
    from nbsup.runtime import launcher as launcher_module

    local, _ = launcher
    made = []

    class NoDescriptorLeft(launcher_module.ChildPipes):
        def __init__(self, merge_stderr: bool = False) -> None:
            if made:  # the start's own pipes, then none for the next start
                raise OSError(24, "Too many open files")
            made.append(merge_stderr)
            super().__init__(merge_stderr)

    monkeypatch.setattr(launcher_module, "ChildPipes", NoDescriptorLeft)
    monkeypatch.setattr("nbsup.runtime.spawner.ChildPipes", NoDescriptorLeft)
    options = build_options("p", {"command": "sleep 30"})
    process = local.spawn(options, lambda channel, data: None, lambda status, seen: None)
    try:
        assert process.pid > 0 and local._next_pipes is None
    finally:
        os.kill(process.pid, 9)
        assert select.select([process.pidfd], [], [], 10)[0]
        assert local.reap(process) is not None
        local.finish(process)


def test_a_pipe_is_widened_once_output_comes_through_it(launcher) -> None:
    import fcntl

    from nbsup.core.options import build_options
    from nbsup.runtime.launcher import PIPE_SIZE

    local, _ = launcher
    options = build_options("p", {"command": "cat"})
    output = []
    process = local.spawn(options, lambda channel, data: output.append(data), lambda s, t: None)
    try:
        size = {fd: fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) for fd in process.pipes}
        assert all(capacity < PIPE_SIZE for capacity in size.values())  # quiet: not widened
        os.write(process.stdin, b"hello\n")
        stdout = next(fd for fd, channel in process.pipes.items() if channel == "stdout")
        stderr = next(fd for fd, channel in process.pipes.items() if channel == "stderr")
        while not output:
            assert select.select([stdout], [], [], 10)[0]
            local.readers.dispatch()
        assert b"".join(output) == b"hello\n"
        assert fcntl.fcntl(stdout, fcntl.F_GETPIPE_SZ) == PIPE_SIZE
        assert fcntl.fcntl(stderr, fcntl.F_GETPIPE_SZ) == size[stderr]  # nothing came
    finally:
        os.kill(process.pid, 9)
        assert select.select([process.pidfd], [], [], 10)[0]
        assert local.reap(process) is not None
        local.finish(process)
