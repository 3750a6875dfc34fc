"""The magics in a real (in-process) IPython shell, with real programs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

import nbsup
from nbsup.supervisor import Supervisor


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.chdir(tmp_path)
    ip = start_ipython() or get_ipython()
    ip.run_line_magic("load_ext", "nbsup")
    yield ip
    ip.run_line_magic("unload_ext", "nbsup")


def supervisor() -> Supervisor:
    return nbsup.get_supervisor()


def run(shell: object, code: str) -> object:
    return shell.run_cell(code)  # type: ignore[attr-defined]


@pytest.mark.realprocess
def test_supervise_cell_runs_the_body_and_ctl_reports(shell, capsys):
    run(shell, "%%supervise hello startsecs=0.2\necho hello from bash; sleep 30\n")
    program = supervisor()["hello"]
    assert program.wait_for("RUNNING", timeout=5).value == "RUNNING"
    capsys.readouterr()
    run(shell, "%supervisorctl status hello")
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("hello" + " " * 28 + "RUNNING   pid ")
    run(shell, "%supervisorctl tail hello")
    assert "hello from bash" in capsys.readouterr().out
    run(shell, "%supervisorctl stop hello")
    assert capsys.readouterr().out.strip() == "hello: stopped"
    run(shell, "%supervisorctl stop hello")
    assert capsys.readouterr().out.strip() == "hello: ERROR (not running)"
    run(shell, "%supervisorctl start nosuch")
    assert capsys.readouterr().out.strip() == "nosuch: ERROR (no such process)"


@pytest.mark.realprocess
def test_python_interpreter_and_unnamed_program(shell, capsys):
    run(shell, "%%supervise interpreter=python startsecs=0\nimport sys; print(sys.executable)\n")
    out = capsys.readouterr().out
    assert "no name given, this program is called 'program-1'" in out
    program = supervisor()["program-1"]
    program.wait_for("EXITED", timeout=10)
    import sys

    assert program.tail().strip() == sys.executable


@pytest.mark.parametrize(
    "line, message",
    [
        ("x startsecs=abc", "startsecs=abc: expected a number of seconds >= 0"),
        ("x autorestart=maybe", "autorestart=maybe: expected false, unexpected or true"),
        ("x exitcodes=300", "exitcodes=300: expected exit codes from 0 to 255"),
        ("x stopsignal=NOPE", "stopsignal=NOPE: expected a signal name or number"),
        ("x stopasgroup=true killasgroup=false", "killasgroup=false: killasgroup must be true"),
        ("x startsec=1", "unknown option 'startsec': did you mean 'startsecs'?"),
        ("x command=true", "give either command= or a cell body, not both"),
        ("bad/name", "a program name uses letters"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(shell, capsys, line, message):
    run(shell, "%%supervise x startsecs=0.2\nsleep 30\n")
    program = supervisor()["x"]
    program.wait_for("RUNNING", timeout=5)
    pid = program.pid
    capsys.readouterr()
    result = run(shell, f"%%supervise {line}\necho replaced\n")
    captured = capsys.readouterr()
    assert result.error_in_exec is not None
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec)
    assert "Traceback" not in captured.out + captured.err
    assert program.pid == pid and program.state.value == "RUNNING"
    assert len(supervisor()) == 1


@pytest.mark.realprocess
def test_classic_traps_are_warned_about_and_the_program_still_starts(shell, capsys):
    run(shell, "%%supervise loop startsecs=0 autorestart=true\ntrue\n")
    run(shell, "%%supervise bg\nsleep 100 &\n")
    run(shell, "%%supervise fine\nsleep 100\n")
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("nbsup: warning: ")]
    assert len(warnings) == 2, err
    assert "restarts it every 1 s forever" in warnings[0]
    assert "'&' at the end backgrounds the program" in warnings[1]
    assert {"loop", "bg", "fine"} <= set(supervisor().program_names)
