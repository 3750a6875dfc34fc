"""Helpers for the XML-RPC tests: the real supervisorctl, plain xmlrpc.client, raw HTTP.

* ``Served``: a real supervisor (state folder under a short temp path, so its unix socket
  path stays short) serving XML-RPC, shut down and checked for leftover processes by
  ``close()``;
* ``ctl(...)``: runs the real ``supervisorctl`` binary against it (``-s -u -p``);
* ``proxy(info)``: an ``xmlrpc.client.ServerProxy`` over the unix socket or TCP;
* ``raw_post(info, body, auth)``: one HTTP request, for status codes (401, 400, 404).
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import xmlrpc.client
from pathlib import Path
from typing import Any

from process_waits import wait_exited

import nbsup

SUPERVISORCTL = Path(sys.executable).with_name("supervisorctl")
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (``host`` is only sent in the Host header)."""

    def __init__(self, path: str, timeout: float = 30.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class UnixTransport(xmlrpc.client.Transport):
    """xmlrpc.client over a unix socket, with basic auth."""

    def __init__(self, path: str, auth: tuple[str, str] | None) -> None:
        super().__init__()
        self.socket_path = path
        self.auth = auth

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixHTTPConnection(self.socket_path)
        return self._connection[1]

    def send_headers(self, connection: http.client.HTTPConnection, headers: Any) -> None:
        if self.auth is not None:
            token = base64.b64encode(":".join(self.auth).encode()).decode()
            connection.putheader("Authorization", f"Basic {token}")
        super().send_headers(connection, headers)


def proxy(info: Any, password: str | None = None) -> xmlrpc.client.ServerProxy:
    """A ServerProxy logged in as the server says (or with ``password``)."""
    secret = password if password is not None else info.password
    auth = (info.username, secret) if info.username is not None else None
    if info.url.startswith("unix://"):
        transport = UnixTransport(info.url[len("unix://") :], auth)
        return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=transport)
    host = info.url[len("http://") :]
    userinfo = f"{auth[0]}:{auth[1]}@" if auth else ""
    return xmlrpc.client.ServerProxy(f"http://{userinfo}{host}/RPC2")


def connection(info: Any) -> http.client.HTTPConnection:
    if info.url.startswith("unix://"):
        return UnixHTTPConnection(info.url[len("unix://") :])
    host, port = info.url[len("http://") :].rsplit(":", 1)
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=30)


def raw_request(
    info: Any,
    method: str = "POST",
    path: str = "/RPC2",
    body: bytes = b"",
    auth: tuple[str, str] | bool | None = True,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; ``auth=True`` logs in as the server says, a tuple as given."""
    headers = {"Content-Type": "text/xml"}
    credentials = (info.username, info.password) if auth is True else auth
    if credentials:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    conn = connection(info)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def call_body(method: str, *params: Any) -> bytes:
    return xmlrpc.client.dumps(params, method).encode()


class Served:
    """A real supervisor serving XML-RPC (``address`` as ``Supervisor.rpc_address``)."""

    def __init__(self, address: str = "", **options: Any) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="nbr-", dir="/tmp"))
        self.sup = nbsup.Supervisor(
            state_dir=str(self.root / "s"), rpc_address=address, rpc_enabled=True, **options
        )
        self.info: Any = self.sup.rpc_info
        assert self.info is not None

    def ctl(
        self, *args: str, password: str | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """Run ``supervisorctl -s URL -u nbsup -p PASSWORD args...``."""
        return subprocess.run(
            self.ctl_argv(*args, password=password),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=ENV,
        )

    def ctl_argv(self, *args: str, password: str | None = None) -> list[str]:
        info = self.info
        argv = [str(SUPERVISORCTL), "-s", info.url]
        if info.username is not None:
            argv += ["-u", info.username, "-p", password or info.password]
        return [*argv, *args]

    def lines(self, *args: str) -> list[str]:
        """supervisorctl's output lines (it must not have crashed)."""
        done = self.ctl(*args)
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        assert not done.stdout.startswith("error:"), done.stdout
        return done.stdout.splitlines()

    def proxy(self) -> xmlrpc.client.ServerProxy:
        return proxy(self.info)

    def server(self) -> Any:
        return self.sup._rpc_server

    def pids(self) -> set[int]:
        store = self.sup._store
        with store._lock:
            column = list(store._columns["pid"])
        return {int(p) for p in column if p}

    def close(self) -> None:
        """Shut down; the server must be gone and every process this test started too."""
        socket_path = self.info.socket_path
        finished = self.sup.shutdown(15)
        left = wait_exited(self.pids(), 5.0)
        shutil.rmtree(self.root, ignore_errors=True)
        assert finished, "shutdown did not finish in time"
        assert not left, f"processes left running: {left}"
        assert self.sup.rpc_info is None
        if socket_path is not None:
            assert not socket_path.exists()
