"""Fuzzed user input: the ``%%supervise`` line, option values and ``%supervisorctl`` commands.

Whatever is typed, the user sees either the program added or nbsup's own one-line error,
never a traceback; and an input that was refused starts, stops and changes nothing.
Runs on virtual time (the real driver and machines, a fake clock and launcher).
"""

from __future__ import annotations

import contextlib
import io
import keyword
import signal
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython
from sim_support import simulated_supervisor

from nbsup.core.errors import Fault, NbsupError, OptionError
from nbsup.core.options import build_options, option_names
from nbsup.ctl import Supervisorctl
from nbsup.ipython.magics import SupervisorMagics
from nbsup.supervisor import Supervisor

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NASTY_VALUES = [
    "", "0", "-1", "1", "3", "0.5", "1e309", "nan", "inf", "-inf", "1_000", "0x10", "٣",
    "true", "TRUE", "no", "unexpected", "maybe", "TERM", "SIGKILL", "sigusr1", "RTMIN", "64",
    "0,1,2", "0,,1", "256", "-0", "50MB", "1GB", "5TB", "022", "999", "AUTO", "NONE",
    "/nonexistent/dir", "~", "$HOME", "%(ENV_HOME)s", "'quoted'", '"a b"', "a=b", "K=V,L=W",
    'K="x,y"', "=", ";", "\\", "\x00", "é", "🙂", "x" * 300, "exponential", "linear",
]  # fmt: skip
NAMES = ["x", "y", "new", "-bad", ".bad", "bad/name", "bad name", "é", "a" * 200, "if"]
KEYS = [*option_names(), "interpreter", "startsec", "autorestarts", "", "=", "user", "numprocs"]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'" if text else "''"


words = st.one_of(
    st.builds(
        lambda key, value, quoted: f"{key}={_quote(value) if quoted else value}",
        st.sampled_from(KEYS),
        st.one_of(st.sampled_from(NASTY_VALUES), st.text(max_size=12)),
        st.booleans(),
    ),
    st.text(max_size=15),
    st.sampled_from(["'", '"', "\\", "=x", "x=", "==", "--conf", "-h"]),
)
lines = st.builds(
    lambda name, rest: " ".join([name, *rest]) if name is not None else " ".join(rest),
    st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=10)),
    st.lists(words, max_size=6),
)
GOOD_WORDS = ["startsecs=0", "startsecs=1.5", "autorestart=true", "exitcodes=0,2",
              "stopsignal=INT", "startretries=0", "backoff=exponential", "stdout_logfile=NONE",
              "umask=022", "priority=5", "environment=A=1", "redirect_stderr=true",
              "autostart=false", "interpreter=python", "stopwaitsecs=0.5"]  # fmt: skip
plausible_lines = st.builds(
    lambda name, rest: " ".join([name, *rest]),
    st.sampled_from(["x", "new", "other"]),
    st.lists(st.sampled_from(GOOD_WORDS), max_size=4, unique_by=lambda w: w.split("=")[0]),
)
lines = st.one_of(lines, plausible_lines)
bodies = st.one_of(st.just(""), st.just("sleep 30\n"), st.text(max_size=40))


def snapshot(sup: Supervisor) -> list[tuple[Any, ...]]:
    """Everything a refused input must leave as it was."""
    return [
        (p.name, p.state, p.pid, p.tries, sup.options(p.name), len(p.records()))
        for p in sup.programs
    ]


def forget_new_programs(sup: Supervisor, clock: Any) -> None:
    """Remove what an accepted line added, so that examples stay independent."""
    for name in list(sup.program_names):
        if name not in ("x", "y"):
            with contextlib.suppress(Fault):
                sup[name].stop(wait=False)
            clock.advance(30)
            sup.remove_program(name)


@pytest.fixture(scope="module")
def magics(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SupervisorMagics, Supervisor, Any]]:
    # a fuzzed stdout_logfile=<relative name> is written relative to the working directory:
    # never the repository's
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path_factory.mktemp("fuzz-magics"))
        yield from _magics()


def _magics() -> Iterator[tuple[SupervisorMagics, Supervisor, Any]]:
    shell = start_ipython()
    sup, clock, launcher = simulated_supervisor()
    sup.add_program("x", command="sleep 30", startsecs=0)
    sup.add_program("y", command="sleep 30", startsecs=0, autostart=False)
    clock.advance(1)
    with mock.patch("nbsup.widgets.ProgramCard", lambda program: None):
        yield SupervisorMagics(shell, supervisor=sup), sup, launcher, clock
    sup.shutdown()


@SETTINGS
@given(line=lines, body=bodies, cell=st.booleans())
def test_supervise_never_shows_a_traceback(magics, line: str, body: str, cell: bool) -> None:
    shell_magics, sup, launcher, clock = magics
    before, spawned = snapshot(sup), len(launcher.processes)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            shell_magics.supervise(line, body if cell else None)
    except UsageError as error:
        event("refused")
        message = str(error)
        assert message.startswith(("%%supervise: ", "%supervise: ")), message
        assert "Traceback" not in message and len(message) < 2000
        assert snapshot(sup) == before, line
        assert len(launcher.processes) == spawned
        assert not out.getvalue() and not err.getvalue()
    else:
        event("accepted")
        assert "Traceback" not in out.getvalue() + err.getvalue()
        # an accepted line added (or replaced) exactly the program it named
        assert len(sup.programs) >= len(before)
        forget_new_programs(sup, clock)


CTL_WORDS = ["status", "start", "stop", "restart", "signal", "tail", "-f", "-5", "clear", "pid",
             "remove", "help", "all", "x", "y", "nosuch", "HUP", "KILL", "NOPE", "stderr", "'",
             "-999999999999", "x:y", "*"]  # fmt: skip


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(CTL_WORDS), st.text(max_size=8)), max_size=4))
def test_supervisorctl_answers_every_line(magics, words_: list[str]) -> None:
    _, sup, _, _ = magics
    written: list[str] = []
    line = " ".join(words_)
    command = words_[0].lower() if words_ else ""
    if command == "tail" and "-f" in words_:
        ctl = Supervisorctl(sup, follow_timeout=0.0)
    else:
        ctl = Supervisorctl(sup)
    try:
        ctl.run(line, write=written.append)
    except NbsupError as error:
        assert "\n" not in str(error)
    for text in written:
        assert "Traceback" not in text
    # keep the two programs around for the next example
    for name in ("x", "y"):
        if name not in sup:
            sup.add_program(name, command="sleep 30", startsecs=0, autostart=False)


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(option_names()),
        st.one_of(
            st.sampled_from(NASTY_VALUES),
            st.text(max_size=10),
            st.integers(),
            st.floats(),
            st.booleans(),
            st.none(),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
            st.sampled_from([signal.SIGTERM, object(), b"bytes", 1j]),
        ),
        max_size=5,
    )
)
def test_build_options_refuses_with_option_error_only(raw: dict[str, object]) -> None:
    raw.setdefault("command", "sleep 1")
    try:
        options = build_options("p", raw)
    except OptionError as error:
        assert error.option and "\n" not in str(error)
    else:
        assert options.name == "p" and options.startsecs >= 0


@pytest.mark.parametrize("name", sorted(keyword.kwlist)[:3])
def test_python_keywords_are_fine_program_names(magics, name: str) -> None:
    shell_magics, sup, _, _ = magics
    with redirect_stdout(io.StringIO()):
        shell_magics.supervise(f"{name} command='sleep 30' autostart=false")
    assert name in sup
    sup.remove_program(name)
