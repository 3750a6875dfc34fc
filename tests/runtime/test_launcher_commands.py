"""A command that started before is not checked again before each start (a ``stat`` and an
``access`` less per restart) but as soon as a start fails: the user gets supervisord's
message, and a program now found elsewhere on PATH starts from there."""

from __future__ import annotations

import os
import select
import stat
from pathlib import Path

import pytest

from nbsup.core.options import build_options
from nbsup.runtime.launcher import LocalLauncher, LocalProcess
from nbsup.runtime.launcher_interface import SpawnError


def _script(path: Path, text: str = "exit 0") -> Path:
    path.write_text(f"#!/bin/sh\n{text}\n")
    path.chmod(0o755)
    return path


def _run_to_exit(launcher: LocalLauncher, options) -> tuple[LocalProcess, list[bytes]]:
    output: list[bytes] = []
    process = launcher.spawn(options, lambda channel, data: output.append(data), lambda *a: None)
    assert select.select([process.pidfd], [], [], 10)[0]
    assert launcher.reap(process) is not None
    launcher.finish(process)
    return process, output


def test_a_command_gone_since_its_last_start_gives_supervisords_message(launcher, tmp_path):
    launcher, _ = launcher
    program = _script(tmp_path / "job")
    options = build_options("job", {"command": str(program)})
    _run_to_exit(launcher, options)
    program.unlink()
    with pytest.raises(SpawnError) as caught:
        launcher.spawn(options, lambda *a: None, lambda *a: None)
    assert caught.value.message == f"can't find command '{program}'"


def test_a_command_no_longer_executable_is_said_so(launcher, tmp_path):
    launcher, _ = launcher
    program = _script(tmp_path / "job")
    options = build_options("job", {"command": str(program)})
    _run_to_exit(launcher, options)
    program.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(SpawnError) as caught:
        launcher.spawn(options, lambda *a: None, lambda *a: None)
    assert caught.value.message == f"command at '{program}' is not executable"


def test_a_program_gone_from_its_path_folder_starts_from_the_next_one(launcher, tmp_path):
    launcher, _ = launcher
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _script(first / "job", "echo first")
    options = build_options("job", {"command": "job", "environment": f"PATH={first}:{second}"})
    assert _run_to_exit(launcher, options)[1] == [b"first\n"]
    (first / "job").unlink()
    _script(second / "job", "echo second")
    assert _run_to_exit(launcher, options)[1] == [b"second\n"]


def test_a_failed_start_closes_every_descriptor_it_made(launcher, tmp_path):
    launcher, _ = launcher
    program = _script(tmp_path / "job")
    options = build_options("job", {"command": str(program)})
    _run_to_exit(launcher, options)
    before = len(os.listdir("/proc/self/fd"))
    program.unlink()
    for _ in range(3):
        with pytest.raises(SpawnError):
            launcher.spawn(options, lambda *a: None, lambda *a: None)
    assert len(os.listdir("/proc/self/fd")) <= before


def test_a_restart_does_not_resolve_the_command_again(launcher, tmp_path, monkeypatch):
    launcher, _ = launcher
    from nbsup.runtime import launcher as launcher_module

    resolved = []
    real = launcher_module.resolve
    monkeypatch.setattr(launcher_module, "resolve", lambda *a: resolved.append(a) or real(*a))
    options = build_options("job", {"command": str(_script(tmp_path / "job"))})
    for _ in range(3):
        _run_to_exit(launcher, options)
    assert len(resolved) == 1
