"""Fuzzed input for the supervisord.conf reader and the XML-RPC methods.

A config file of any content is read or refused with nbsup's one-line ConfigError (never
another exception) and a refused file loads nothing. An XML-RPC call with any arguments is
answered with a result or an XML-RPC Fault carrying supervisord's codes (never a traceback,
never FAILED, the code for "unexpected error"), and a refused call changes nothing.
"""

from __future__ import annotations

import tempfile
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sim_support import simulated_supervisor

from nbsup.config import ConfigError, read_config
from nbsup.core.errors import FaultCode
from nbsup.core.options import option_names
from nbsup.rpc.dispatch import Dispatcher

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

SECTIONS = ["[program:x]", "[program:y]", "[group:g]", "[include]", "[supervisord]",
            "[eventlistener:e]", "[program:x:y]", "[program:]", "[", "[unix_http_server]"]  # fmt: skip
KEYS = [*option_names(), "numprocs", "numprocs_start", "process_name", "programs", "files",
        "user", "serverurl", "bogus", ""]  # fmt: skip
VALUES = ["", "1", "0", "-1", "true", "maybe", "%(program_name)s", "%(process_num)02d",
          "%(ENV_HOME)s", "%(nope)s", "100%", "%%", "sleep 1 ; comment", "a;b", "x,y",
          "TERM", "50MB", "*.conf", "/nonexistent/*.conf", "\\", "é", "\t", "2", "3"]  # fmt: skip

lines = st.one_of(
    st.sampled_from(SECTIONS),
    st.builds(
        lambda key, sep, value: f"{key}{sep}{value}",
        st.sampled_from(KEYS),
        st.sampled_from(["=", ":", " = ", "=="]),
        st.one_of(st.sampled_from(VALUES), st.text(max_size=10)),
    ),
    st.sampled_from(["  continued", "; comment", "# comment", "", "  "]),
    st.text(max_size=20),
)
plausible = st.builds(
    lambda options: "[program:x]\ncommand=sleep 10\n" + "\n".join(options),
    st.lists(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), st.sampled_from(VALUES)),
        max_size=5,
    ),
)
files = st.one_of(st.lists(lines, max_size=15).map("\n".join), plausible)


@SETTINGS
@given(text=files)
def test_config_reader_reads_or_refuses_in_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "supervisord.conf"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            config = read_config(path, environ={"HOME": "/home/x"})
        except ConfigError as error:
            event("refused")
            assert "\n" not in str(error) and str(path) in str(error)
        else:
            event("read")
            assert isinstance(config.warning, str | type(None))


@pytest.fixture(scope="module")
def dispatcher() -> Any:
    sup, clock, launcher = simulated_supervisor()
    sup.add_program("x", command="sleep 100", startsecs=0)
    sup.add_program("y", command="sleep 100", autostart=False, group="g")
    clock.advance(1)
    yield Dispatcher(sup), sup
    sup.shutdown()


METHODS = [
    "supervisor.getProcessInfo", "supervisor.startProcess", "supervisor.stopProcess",
    "supervisor.signalProcess", "supervisor.readProcessStdoutLog",
    "supervisor.tailProcessStdoutLog", "supervisor.readLog", "supervisor.clearProcessLogs",
    "supervisor.startProcessGroup", "supervisor.signalAllProcesses", "system.methodHelp",
    "system.methodSignature", "system.multicall", "supervisor.nosuch", "nosuch",
]  # fmt: skip
arguments = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True),
        st.text(max_size=8), st.sampled_from(["x", "y", "g:*", "g:y", "x:", "HUP", "KILL", "-1"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip


def state(sup: Any) -> list[tuple[str, str, int]]:
    return [(p.name, p.state.value, len(p.records())) for p in sup.programs]


@SETTINGS
@given(
    method=st.sampled_from(METHODS),
    params=st.one_of(
        st.lists(arguments, max_size=4),
        st.lists(
            st.sampled_from(["x", "y", "g:*", "nosuch", "HUP", "NOPE", True, 0, 100, -5]),
            min_size=1,
            max_size=3,
        ),
    ),
)
def test_rpc_methods_answer_or_fault_with_supervisords_codes(
    dispatcher: Any, method: str, params: list[Any]
) -> None:
    rpc, sup = dispatcher
    before = state(sup)
    try:
        rpc._dispatch(method, params)
    except xmlrpc.client.Fault as fault:
        event(f"fault {fault.faultCode}")
        assert fault.faultCode in {int(code) for code in FaultCode}
        assert fault.faultCode != FaultCode.FAILED, fault.faultString
        assert "Traceback" not in fault.faultString and "\n" not in fault.faultString
        assert state(sup) == before
    else:
        event("answered")
    # put the programs back for the next example
    for name in ("x", "y"):
        program = sup[name]
        if program.state.value == "STOPPING":  # a stop without waiting: let it finish
            program.wait_for("STOPPED", "EXITED", "FATAL", "BACKOFF", timeout=60)
        if name == "x" and program.state.value != "RUNNING":
            program.start(wait=True)
