"""``%supervise --conf path [names...]``: the magic on a simulated supervisor, and once
through a real IPython shell with the extension loaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython import get_ipython
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

import nbsup
from nbsup.ipython.magics import SupervisorMagics

SOURCE = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def conf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSUP_CONF_PORT", "8123")
    monkeypatch.setenv("NBSUP_CONF_TAG", "blue")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A copy of the fixture files: loaded programs write their log files beside them."""
    copy = tmp_path / "files"
    shutil.copytree(SOURCE, copy)
    return copy


@pytest.fixture
def magics(sim) -> SupervisorMagics:
    shell = start_ipython() or get_ipython()
    return SupervisorMagics(shell, supervisor=sim[0])


def test_conf_loads_every_program_and_warns_once(files: Path, magics, capsys) -> None:
    magics.supervise(f"--conf {files / 'full.conf'}")
    out, err = capsys.readouterr()
    added = [line for line in out.splitlines() if ": added (" in line]
    assert added[:3] == [
        "cache: added (STARTING)",
        "db: added (STARTING)",
        "worker-01: added (STARTING)",
    ]
    assert "cron: added (STOPPED)" in added and len(added) == 8
    lines = err.splitlines()
    assert (
        lines[0]
        == f"nbsup: warning: {files / 'full.conf'}: nbsup ignores what it does not support and accepts a few nbsup-only settings:"
    )
    assert "  [program:web] user: ignored: programs run as the kernel's user" in lines
    assert sum(line.startswith("nbsup: warning:") for line in lines) == 1
    magics.supervise(f"--conf={files / 'full.conf'} web")
    assert "web: replaced (STOPPING)" in capsys.readouterr().out  # the old one stops first


def test_conf_with_names(files: Path, magics, capsys) -> None:
    magics.supervise(f"--conf '{files / 'full.conf'}' jobs db")
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines() if ": added" in line] == [
        "db",
        "cron",
        "tick",
    ]
    assert magics.supervisor.program_names == ["db", "cron", "tick"]


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        (f"--conf {SOURCE / 'broken' / 'bad_value.conf'}", None,
         f"%supervise: {SOURCE / 'broken' / 'bad_value.conf'}:3: [program:web] startsecs=abc: expected a number of seconds >= 0"),
        (f"--conf {SOURCE / 'broken' / 'missing_include.conf'}", None, "[include] files=conf.d/*.conf missing.conf: the included file"),
        (f"--conf {SOURCE / 'full.conf'} web nosuch", None, "no program or group named 'nosuch'"),
        ("--conf", None, "%supervise: expected %supervise --conf path/to/supervisord.conf [name ...]"),
        ("--conf=", None, "%supervise: expected %supervise --conf"),
        ("--config x.conf", None, "%supervise: expected %supervise --conf"),
        ("--conf 'unclosed", None, "%supervise: cannot split the line into words"),
        (f"--conf {SOURCE / 'full.conf'}", "echo body\n", "%%supervise: --conf takes no cell body"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_loads_nothing(magics, capsys, line, cell, message) -> None:
    with pytest.raises(UsageError) as caught:
        magics.supervise(line, cell)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(magics.supervisor) == 0
    assert capsys.readouterr().out == ""


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)
    ip = start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "nbsup")
    yield ip
    ip.run_line_magic("unload_ext", "nbsup")


def test_the_line_magic_in_a_real_shell(shell, tmp_path: Path, capsys) -> None:
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        "[program:idle]\ncommand=sleep 60\nautostart=false\n\n"
        "[program:later]\ncommand=sleep 60\nautostart=false\nuser=nobody\n"
    )
    result = shell.run_cell(f"%supervise --conf {conf}")  # type: ignore[attr-defined]
    assert result.error_in_exec is None
    captured = capsys.readouterr()
    assert "idle: added (STOPPED)" in captured.out and "later: added (STOPPED)" in captured.out
    assert "nbsup: warning:" in captured.err and "[program:later] user: ignored" in captured.err
    assert nbsup.get_supervisor().program_names == ["idle", "later"]
    assert nbsup.get_supervisor()["idle"].options.stopasgroup is False
    result = shell.run_cell(f"%supervise --conf {conf}.missing")  # type: ignore[attr-defined]
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "could not find config file" in str(result.error_in_exec)
