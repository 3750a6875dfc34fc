"""Finding a program's executable: supervisord's PATH search and its messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbsup.core.errors import FaultCode
from nbsup.runtime.commands import CommandError, resolve


def _tool(folder: Path, name: str = "tool", mode: int = 0o755) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_bare_name_is_searched_on_the_programs_path(tmp_path: Path) -> None:
    tool = _tool(tmp_path / "b")
    path = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    found = resolve("tool --flag 'two words'", {"PATH": path})
    assert found.filename == str(tool)
    assert found.argv == ["tool", "--flag", "two words"]


def test_a_program_that_disappears_is_searched_for_again(tmp_path: Path) -> None:
    first = _tool(tmp_path / "a")
    second = _tool(tmp_path / "b")
    env = {"PATH": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])}
    assert resolve("tool", env).filename == str(first)
    first.unlink()
    assert resolve("tool", env).filename == str(second)
    second.unlink()
    with pytest.raises(CommandError) as caught:
        resolve("tool", env)
    assert caught.value.message == "can't find command 'tool'"
    assert caught.value.code is FaultCode.NO_FILE


def test_a_changed_path_is_searched_afresh(tmp_path: Path) -> None:
    _tool(tmp_path / "a")
    second = _tool(tmp_path / "b")
    assert resolve("tool", {"PATH": str(tmp_path / "a")}).filename == str(tmp_path / "a/tool")
    assert resolve("tool", {"PATH": str(tmp_path / "b")}).filename == str(second)


def test_a_known_program_that_lost_its_exec_bit_is_refused(tmp_path: Path) -> None:
    tool = _tool(tmp_path / "a")
    env = {"PATH": str(tmp_path / "a")}
    resolve("tool", env)
    tool.chmod(0o644)
    with pytest.raises(CommandError) as caught:
        resolve("tool", env)
    assert caught.value.message == f"command at '{tool}' is not executable"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / "tool").mkdir(parents=True)
    with pytest.raises(CommandError) as caught:
        resolve("tool", {"PATH": str(tmp_path / "a")})
    assert "is a directory" in caught.value.message
