"""Security defaults and robustness: auth (401, nothing changes), file modes, loopback only,
and bad requests answered with supervisord's faults (or HTTP errors) without crashing."""

from __future__ import annotations

import base64
import os
import stat
import xmlrpc.client

import pytest
from rpc_support import call_body, connection, proxy, raw_request

pytestmark = pytest.mark.realprocess


def fault(call, *args) -> tuple[int, str]:
    with pytest.raises(xmlrpc.client.Fault) as info:
        call(*args)
    return info.value.faultCode, info.value.faultString


def test_requests_without_valid_credentials_get_401_and_change_nothing(served):
    idle = served.sup.add_program("idle", command="sleep 30", autostart=False)
    start = call_body("supervisor.startProcess", "idle")
    for auth in (False, ("nbsup", "wrong"), ("root", served.info.password), ("nbsup", "")):
        status, headers, _ = raw_request(served.info, body=start, auth=auth)
        assert status == 401, auth
        assert headers["WWW-Authenticate"] == 'Basic realm="nbsup"'
    status, _, _ = raw_request(served.info, "GET", "/logtail/idle/stdout", auth=False)
    assert status == 401
    status, _, _ = raw_request(served.info, "GET", "/mainlogtail", auth=("nbsup", "x"))
    assert status == 401
    with pytest.raises(xmlrpc.client.ProtocolError) as refused:
        proxy(served.info, password="wrong").supervisor.startProcess("idle")
    assert refused.value.errcode == 401
    assert idle.state == "STOPPED" and not idle.records()
    status, _, body = raw_request(served.info, body=start)  # the right credentials work
    assert status == 200 and b"<boolean>1</boolean>" in body
    assert idle.state == "RUNNING"


def test_socket_and_credentials_are_private(served):
    info = served.info
    assert info.socket_path == served.sup.session_dir / "supervisor.sock"
    assert info.url == f"unix://{info.socket_path}"
    mode = os.stat(info.socket_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE(os.stat(info.config_path).st_mode) == 0o600
    assert info.config_path.read_text() == (
        f"[supervisorctl]\nserverurl = {info.url}\nusername = nbsup\npassword = {info.password}\n"
    )
    assert info.username == "nbsup" and len(info.password) >= 20
    # no leftovers of the private bind
    assert sorted(p.name for p in info.socket_path.parent.glob(".rpc-*")) == []


def test_tcp_binds_loopback_only(served_tcp):
    server = served_tcp.server()._server
    host, port = server.socket.getsockname()[:2]
    assert host == "127.0.0.1" and port > 0
    assert served_tcp.info.url == f"http://127.0.0.1:{port}"
    assert served_tcp.info.socket_path is None
    assert stat.S_IMODE(os.stat(served_tcp.info.config_path).st_mode) == 0o600
    assert served_tcp.proxy().supervisor.getState()["statename"] == "RUNNING"


def test_bad_arguments_are_faults_and_the_server_keeps_serving(served):
    served.sup.add_program("web", command="sleep 30", startsecs=0.1).wait_for("RUNNING", timeout=5)
    rpc = served.proxy()
    s = rpc.supervisor
    cases = [
        (s.startProcess, (), (2, "INCORRECT_PARAMETERS")),
        (s.startProcess, ("web", True, 1), (2, "INCORRECT_PARAMETERS")),
        (s.startProcess, (1,), (2, "INCORRECT_PARAMETERS: name must be a string")),
        (s.startProcess, ("web", "yes"), (2, "INCORRECT_PARAMETERS: wait must be a boolean")),
        (s.stopProcess, ([],), (2, "INCORRECT_PARAMETERS: name must be a string")),
        (s.getProcessInfo, ({"a": 1},), (2, "INCORRECT_PARAMETERS: name must be a string")),
        (
            s.readProcessStdoutLog,
            ("web", "x", 0),
            (2, "INCORRECT_PARAMETERS: offset must be an integer"),
        ),
        (
            s.readProcessStdoutLog,
            ("web", 0, 1.5),
            (2, "INCORRECT_PARAMETERS: length must be an integer"),
        ),
        (
            s.tailProcessStdoutLog,
            ("web", "end", 0),
            (2, "INCORRECT_PARAMETERS: offset must be an integer"),
        ),
        (s.readLog, (-10, 5), (3, "BAD_ARGUMENTS")),
        (s.readProcessStdoutLog, ("web", 0, -5), (3, "BAD_ARGUMENTS")),
        (s.signalProcess, ("web", "SIGNOPE"), (11, "BAD_SIGNAL: SIGNOPE")),
        (s.signalProcess, ("web", 999), (11, "BAD_SIGNAL: 999")),
        (s.signalProcess, ("web", [1]), (11, "BAD_SIGNAL: [1]")),
        (s.signalAllProcesses, (), (2, "INCORRECT_PARAMETERS")),
        (s.getProcessInfo, ("",), (10, "BAD_NAME")),
        (s.getProcessInfo, (":",), (10, "BAD_NAME: :")),
        (s.startProcessGroup, ("web:",), (10, "BAD_NAME: web:")),
        (s.nope, (), (1, "UNKNOWN_METHOD")),
        (s._dispatch, ("x", ()), (1, "UNKNOWN_METHOD")),
        (s.getState, (1,), (2, "INCORRECT_PARAMETERS")),
        (
            rpc.system.multicall,
            ("not a list",),
            (2, "INCORRECT_PARAMETERS: calls must be an array"),
        ),
        (getattr(rpc, "supervisor.getState.__class__"), (), (1, "UNKNOWN_METHOD")),
        (rpc.nope, (), (1, "UNKNOWN_METHOD")),
    ]
    for call, args, expected in cases:
        got = fault(call, *args)
        assert got == expected, (args, got)
    assert s.getProcessInfo("web")["statename"] == "RUNNING"


def test_bad_http_requests(served):
    info = served.info
    status, _, body = raw_request(info, body=b"<not xml")
    assert status == 400 and b"Traceback" not in body
    status, _, _ = raw_request(info, body=b"<?xml version='1.0'?><methodCall></methodCall>")
    assert status == 400
    status, _, _ = raw_request(info, path="/elsewhere", body=call_body("supervisor.getPID"))
    assert status == 404
    for path in ("/", "/logtail/nosuch/stdout", "/logtail/", "/logtail/web/stdin", "/x"):
        status, _, _ = raw_request(info, "GET", path)
        assert status == 404, path
    conn = connection(info)
    try:  # a body too large to accept is refused before it is read
        conn.putrequest("POST", "/RPC2")
        conn.putheader("Authorization", raw_auth(info))
        conn.putheader("Content-Length", str(10**9))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    assert served.proxy().supervisor.getState()["statecode"] == 1


def raw_auth(info) -> str:
    return "Basic " + base64.b64encode(f"{info.username}:{info.password}".encode()).decode()
