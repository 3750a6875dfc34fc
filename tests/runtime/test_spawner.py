"""What a started child gets, the same on both ways of starting it (the C library's
``posix_spawn`` and ``subprocess.Popen``): only descriptors 0-2, a session of its own,
SIGPIPE and SIGXFSZ at their defaults, its directory, environment and umask; and the
errors supervisord reports when it cannot be started."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbsup.runtime import spawner
from nbsup.runtime.environment import EncodedVariables, Environment
from nbsup.runtime.spawner import Child, ChildPipes, spawn_error_message, start_child

PROBE = r"""
import json, os, sys
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
open_fds = []
for fd in range(64):
    try:
        os.fstat(fd)
    except OSError:
        continue
    open_fds.append(fd)
sys.stderr.write("to stderr\n")
print(json.dumps({
    "fds": open_fds,
    "own_session": os.getsid(0) == os.getpid() == os.getpgrp(),
    "cwd": os.getcwd(),
    "probe": os.environ.get("PROBE"),
    "umask": os.umask(0),
}))
"""


@pytest.fixture(params=["posix_spawn", "popen"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "popen":
        monkeypatch.setattr(spawner, "LIBC_SPAWN", None)
    elif spawner.LIBC_SPAWN is None:
        pytest.skip("this C library has no posix_spawn_file_actions_addclosefrom_np")
    return str(request.param)


@pytest.fixture
def leaked_fd() -> Iterator[int]:
    """An inheritable descriptor in this process, as a careless library might leave."""
    read, write = os.pipe()
    os.set_inheritable(write, True)
    yield write
    os.close(read)
    os.close(write)


def _finish(child: Child) -> tuple[bytes, bytes, int]:
    """Everything the child wrote on stdout and stderr, and its wait status."""
    os.close(child.stdin)
    out = _read_all(child.stdout)
    err = b"" if child.stderr is None else _read_all(child.stderr)
    _, status = os.waitpid(child.pid, 0)
    return out, err, status


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _probe(**options: object) -> tuple[dict[str, object], bytes]:
    env = dict(os.environ, PROBE="seen")
    child = start_child(sys.executable, [sys.executable, "-S", "-c", PROBE], env, **options)  # type: ignore[arg-type]
    out, err, status = _finish(child)
    assert os.waitstatus_to_exitcode(status) == 0, err
    return json.loads(out.decode().splitlines()[-1]), err


def _signal_status() -> dict[str, int]:
    """SigIgn and SigBlk of a child that is not Python (which ignores SIGPIPE itself)."""
    cat = "/bin/cat"
    child = start_child(cat, [cat, "/proc/self/status"], dict(os.environ))
    out, _, status = _finish(child)
    assert status == 0
    fields = dict(line.split(":", 1) for line in out.decode().splitlines())
    return {key: int(fields[key], 16) for key in ("SigIgn", "SigBlk")}


def test_sigpipe_and_sigxfsz_are_back_at_their_defaults(way: str) -> None:
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # Python ignores it here
    status = _signal_status()
    for sig in spawner.RESTORED_SIGNALS:
        assert not status["SigIgn"] & (1 << (sig - 1)), signal.Signals(sig).name
    assert status["SigBlk"] == 0


def test_the_child_gets_three_descriptors_its_own_session_and_its_folder(
    way: str, leaked_fd: int, tmp_path: Path
) -> None:
    seen, err = _probe(directory=str(tmp_path))
    assert seen["fds"] == [0, 1, 2]  # not the inheritable pipe end
    assert seen["own_session"] is True
    assert seen["cwd"] == str(tmp_path)
    assert seen["probe"] == "seen"
    assert err == b"to stderr\n"


def test_merged_stderr_comes_on_the_stdout_pipe(way: str) -> None:
    env = dict(os.environ)
    code = "import sys; sys.stderr.write('e\\n'); sys.stderr.flush(); print('o')"
    child = start_child(sys.executable, [sys.executable, "-S", "-c", code], env, merge_stderr=True)
    assert child.stderr is None
    out, _, status = _finish(child)
    assert out == b"e\no\n" and status == 0


def test_a_umask_is_set_by_popen(leaked_fd: int) -> None:
    seen, _ = _probe(umask=0o027)
    assert seen["umask"] == 0o027
    assert seen["fds"] == [0, 1, 2]


def test_a_blocked_signal_of_the_calling_thread_is_unblocked_by_posix_spawn() -> None:
    # (Popen gives the child the calling thread's mask; the loop thread blocks nothing)
    assert spawner.LIBC_SPAWN is not None
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        status = _signal_status()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert status["SigBlk"] == 0


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_missing_executable_is_supervisords_couldnt_exec(way: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    before = _open_fds()
    with pytest.raises(FileNotFoundError) as raised:
        start_child(missing, [missing], dict(os.environ))
    assert raised.value.filename == missing
    assert spawn_error_message("p", missing, raised.value) == f"couldn't exec {missing}: ENOENT"
    assert _open_fds() == before  # no pipe end left open


def test_a_file_without_permission_is_eacces(way: str, tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    with pytest.raises(PermissionError) as raised:
        start_child(str(script), [str(script)], dict(os.environ))
    assert spawn_error_message("p", str(script), raised.value).endswith(": EACCES")


def test_an_unusable_directory_is_named_in_the_error(way: str, tmp_path: Path) -> None:
    gone = str(tmp_path / "gone")
    with pytest.raises(OSError) as raised:
        start_child(sys.executable, [sys.executable], dict(os.environ), directory=gone)
    assert raised.value.filename == gone


def test_an_environment_over_a_shared_base(way: str) -> None:
    base = EncodedVariables(dict(os.environ, HOME="/base", DROPPED="yes"))
    environment = Environment({"PROBE": "own", "HOME": "/own"}, base, frozenset({"DROPPED"}))
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    child = start_child(sys.executable, [sys.executable, "-S", "-c", code], environment)
    out, _, _ = _finish(child)
    seen = json.loads(out)
    assert seen == environment.variables
    assert seen["PROBE"] == "own" and seen["HOME"] == "/own" and "DROPPED" not in seen
    assert seen["PATH"] == os.environ["PATH"]


def test_pipes_made_ahead_are_the_childs(way: str, tmp_path: Path) -> None:
    before = _open_fds()
    for directory in (None, str(tmp_path)):  # with a folder, the prepared actions are not used
        pipes = ChildPipes().prepare()
        code = "import os; print(os.getcwd())"
        argv = [sys.executable, "-S", "-c", code]
        child = start_child(
            sys.executable, argv, dict(os.environ), directory=directory, pipes=pipes
        )
        assert (child.stdin, child.stdout, child.stderr) == pipes.ours
        out, _, status = _finish(child)
        assert status == 0 and out.decode().strip() == (directory or os.getcwd())
    assert _open_fds() == before


def test_pipes_made_ahead_that_do_not_fit_are_closed(way: str) -> None:
    before = _open_fds()
    pipes = ChildPipes(merge_stderr=False).prepare()
    child = start_child("/bin/true", ["true"], dict(os.environ), merge_stderr=True, pipes=pipes)
    assert child.stderr is None  # new pipes (the numbers may be the same, reused)
    _finish(child)
    assert _open_fds() == before
    unused = ChildPipes().prepare()
    unused.close()
    assert _open_fds() == before
