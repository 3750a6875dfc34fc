"""Turning XML-RPC on and off: ``Supervisor.rpc_*`` traits, ``%supervisorctl serve``, the
files and threads it leaves (none), fallbacks, and calls during shutdown."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from rpc_support import ENV, SUPERVISORCTL, proxy
from traitlets.config import Config

import nbsup
from nbsup.ctl import Supervisorctl
from nbsup.rpc import RpcServer

pytestmark = pytest.mark.realprocess


@pytest.fixture
def short_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="nbs-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def sup(short_dir: Path) -> Iterator[nbsup.Supervisor]:
    supervisor = nbsup.Supervisor(state_dir=str(short_dir / "s"))
    try:
        yield supervisor
    finally:
        assert supervisor.shutdown(15)
        assert supervisor.rpc_info is None


def rpc_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nbsup-rpc"]


def refused(url: str) -> bool:
    family = socket.AF_UNIX if url.startswith("unix://") else socket.AF_INET
    with socket.socket(family) as probe:
        try:
            if family == socket.AF_UNIX:
                probe.connect(url[len("unix://") :])
            else:
                host, port = url[len("http://") :].rsplit(":", 1)
                probe.connect((host, int(port)))
        except OSError:
            return True
    return False


def test_rpc_enabled_starts_and_stops_the_server(sup):
    threads = len(rpc_threads())
    assert sup.rpc_info is None and not sup.rpc_enabled and sup.rpc_auth
    sup.rpc_enabled = True
    info = sup.rpc_info
    assert info.socket_path.exists() and info.config_path.exists()
    assert proxy(info).supervisor.getState()["statename"] == "RUNNING"
    assert len(rpc_threads()) == threads + 1

    sup.rpc_address = "127.0.0.1:0"  # moves, with new credentials
    moved = sup.rpc_info
    assert moved.url.startswith("http://127.0.0.1:") and moved.password != info.password
    assert not info.socket_path.exists() and refused(info.url)
    assert proxy(moved).supervisor.getPID() == os.getpid()

    sup.rpc_enabled = False
    assert sup.rpc_info is None and refused(moved.url) and not moved.config_path.exists()
    assert len(rpc_threads()) == threads


def test_shutdown_stops_serving(short_dir):
    sup = nbsup.Supervisor(state_dir=str(short_dir / "s"), rpc_enabled=True)
    info = sup.rpc_info
    sup.add_program("web", command="sleep 30", startsecs=0.1).wait_for("RUNNING", timeout=5)
    assert sup.shutdown(15)
    assert not sup.rpc_enabled and sup.rpc_info is None
    assert refused(info.url) and not info.socket_path.exists() and not info.config_path.exists()


def test_configured_from_traitlets_config(short_dir):
    config = Config({"Supervisor": {"rpc_enabled": True, "rpc_address": ":0", "rpc_auth": False}})
    sup = nbsup.Supervisor(state_dir=str(short_dir / "s"), config=config)
    try:
        info = sup.rpc_info
        assert info.url.startswith("http://127.0.0.1:")  # no host named: loopback
        assert info.username is None and info.password is None
        assert info.command() == f"supervisorctl -s {info.url} status"
        assert proxy(info).supervisor.getState()["statecode"] == 1  # no auth asked
    finally:
        assert sup.shutdown(15)


def test_a_bad_address_leaves_rpc_off(sup):
    with pytest.raises(ValueError, match="expected host:port"):
        sup.rpc_address = "not-an-address"
        sup.rpc_enabled = True
    assert not sup.rpc_enabled and sup.rpc_info is None
    sup.rpc_address = "127.0.0.1:0"
    sup.rpc_enabled = True
    taken = sup.rpc_info.url.rsplit(":", 1)[1]
    other = nbsup.Supervisor(state_dir=sup.state_dir)
    try:
        with pytest.raises(OSError):
            other.rpc_address = f"127.0.0.1:{taken}"
            other.rpc_enabled = True
        assert not other.rpc_enabled and other.rpc_info is None
        assert not (other.session_dir / "supervisorctl.conf").exists()
    finally:
        other.shutdown(15)


def test_ctl_serve_prints_a_working_command(sup):
    sup.add_program("web", command="sleep 30", startsecs=0.1).wait_for("RUNNING", timeout=5)
    out: list[str] = []
    ctl = Supervisorctl(sup)
    ctl.run("serve", out.append)
    info = sup.rpc_info
    assert out == [
        f"serving supervisord's XML-RPC interface on {info.url}",
        "connect with:",
        f"  supervisorctl -s {info.url} -u nbsup -p {info.password} status",
        f"  supervisorctl -c {info.config_path} status",
    ]
    for line in out[2:]:
        argv = shlex.split(line)
        argv[0] = str(SUPERVISORCTL)
        done = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=30)
        assert done.stdout.startswith("web                              RUNNING   pid ")

    out.clear()
    ctl.run("serve", out.append)  # again: the same server, the same command
    assert out[2] == f"  {info.command()}"
    out.clear()
    ctl.run("serve stop", out.append)
    assert out == ["stopped serving XML-RPC"] and sup.rpc_info is None
    out.clear()
    ctl.run("serve stop", out.append)
    assert out == ["Error: not serving XML-RPC"]
    out.clear()
    ctl.run("serve 127.0.0.1:0", out.append)
    assert out[0].startswith("serving supervisord's XML-RPC interface on http://127.0.0.1:")
    out.clear()
    ctl.run("serve bogus", out.append)
    assert out[0].startswith("Error: cannot serve XML-RPC: 'bogus': expected host:port")
    assert sup.rpc_address == "127.0.0.1:0" and not sup.rpc_enabled
    out.clear()
    ctl.run("serve a b", out.append)
    assert out == ["Error: serve takes one address (unix:///path, host:port) or stop"]
    assert "serve [address]" in "\n".join(_help(ctl))


def _help(ctl: Supervisorctl) -> list[str]:
    out: list[str] = []
    ctl.run("help", out.append)
    return out


def test_explicit_socket_path_and_stale_sockets(sup, short_dir):
    path = short_dir / "ctl.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # a socket file nobody listens on any more
    sup.rpc_address = f"unix://{path}"
    sup.rpc_enabled = True
    assert sup.rpc_info.url == f"unix://{path}"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    other = nbsup.Supervisor(state_dir=sup.state_dir)
    try:
        with pytest.raises(OSError, match="another server is listening"):
            other.rpc_address = str(path)
            other.rpc_enabled = True
    finally:
        other.shutdown(15)
    assert proxy(sup.rpc_info).supervisor.getState()["statecode"] == 1  # still ours
    sup.rpc_enabled = False
    assert not path.exists()

    regular = short_dir / "file"
    regular.write_text("keep me")
    with pytest.raises(OSError, match="not a socket"):
        sup.rpc_address = str(regular)
        sup.rpc_enabled = True
    assert regular.read_text() == "keep me"


def test_a_session_folder_too_deep_for_a_socket_falls_back_to_a_private_tmp_dir(short_dir):
    deep = short_dir / ("d" * 60) / ("e" * 40)
    sup = nbsup.Supervisor(state_dir=str(deep), rpc_enabled=True)
    try:
        info = sup.rpc_info
        assert not str(info.socket_path).startswith(str(deep))
        folder = info.socket_path.parent
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(info.socket_path).st_mode) == 0o600
        assert info.config_path.parent == sup.session_dir
        assert proxy(info).supervisor.getState()["statecode"] == 1
    finally:
        assert sup.shutdown(15)
    assert not folder.exists()


def test_calls_during_shutdown_get_shutdown_state(short_dir):
    sup = nbsup.Supervisor(state_dir=str(short_dir / "s"))
    server = RpcServer(sup, "127.0.0.1:0")  # served on its own: it outlives the shutdown
    info = server.start()
    try:
        stubborn = sup.add_program(
            "stubborn", command="sh -c 'trap \"\" TERM; echo up; while :; do sleep 0.05; done'",
            startsecs=0.1, stopwaitsecs=1,
        )  # fmt: skip
        stubborn.wait_for("RUNNING", timeout=5)
        entered = threading.Event()
        stubborn.observe(lambda change: change.new == "STOPPING" and entered.set(), "state")
        stopping = threading.Thread(target=sup.shutdown, args=(15,))
        stopping.start()
        assert entered.wait(5)  # (wait_for is refused once the shutdown has begun)
        rpc = proxy(info)
        with pytest.raises(xmlrpc.client.Fault) as fault:
            rpc.supervisor.getState()
        assert (fault.value.faultCode, fault.value.faultString) == (6, "SHUTDOWN_STATE")
        assert "supervisor.getState" in rpc.system.listMethods()  # system.* still answers
        stopping.join(15)
        with pytest.raises(xmlrpc.client.Fault) as fault:
            rpc.supervisor.startProcess("stubborn")
        assert fault.value.faultCode == 6
    finally:
        server.stop()
        sup.shutdown(15)
    assert refused(info.url) and not info.config_path.exists()
