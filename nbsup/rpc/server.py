"""The HTTP server that lets the real ``supervisorctl`` (and any XML-RPC client) in.

It serves supervisord's XML-RPC interface (``POST /RPC2``) and its log streams
(``GET /logtail/name/stdout``, ``GET /mainlogtail``) on a unix socket in the session folder
(mode 0600) or on a TCP port (127.0.0.1 unless a host is named). HTTP basic auth is on by
default: user ``nbsup`` with a random password, written with the URL to a 0600
``supervisorctl.conf`` in the session folder (``supervisorctl -c that-file status``).
A request without valid credentials gets 401 and changes nothing.

Every request runs on its own daemon thread, so a ``startProcess`` waiting for RUNNING
blocks neither other clients nor the supervisor's loop thread. :meth:`RpcServer.stop`
closes the listener and every open connection and removes the socket and config files.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import shutil
import socket
import socketserver
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..supervisor import Supervisor
from . import endpoint
from .dispatch import Dispatcher
from .handler import RequestHandler

log = logging.getLogger("nbsup.rpc")

#: The user name clients log in with.
USERNAME = "nbsup"


@dataclass(frozen=True)
class RpcInfo:
    """Where a running server listens and how to log in.

    Attributes
    ----------
    url : str
        ``unix:///path/supervisor.sock`` or ``http://127.0.0.1:9001``.
    username, password : str or None
        The basic-auth credentials (None when auth is off).
    config_path : pathlib.Path
        A supervisorctl config file (mode 0600) with the URL and the credentials.
    socket_path : pathlib.Path or None
        The unix socket (None for TCP).
    """

    url: str
    username: str | None
    password: str | None
    config_path: Path
    socket_path: Path | None = None

    def command(self, action: str = "status", program: str = "supervisorctl") -> str:
        """The shell command line running ``supervisorctl`` against this server."""
        words = [program, "-s", self.url]
        if self.username is not None and self.password is not None:
            words += ["-u", self.username, "-p", self.password]
        return shlex.join([*words, *action.split()])


class _Serving:
    """What the handler needs from its server (mixed into the socketserver classes)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    logRequests = False
    dispatcher: Dispatcher
    supervisor: Supervisor
    stopped: threading.Event
    expected_auth: bytes | None

    def setup_serving(
        self, dispatcher: Dispatcher, expected_auth: bytes | None, stopped: threading.Event
    ) -> None:
        self.dispatcher = dispatcher
        self.supervisor = dispatcher.supervisor
        self.expected_auth = expected_auth
        self.stopped = stopped
        self._open: set[socket.socket] = set()
        self._open_changed = threading.Condition()

    def handle_error(self, request: object, client_address: object) -> None:
        """Log a handler's unexpected error (socketserver would print it to stderr)."""
        log.exception("an XML-RPC connection failed")

    def authorized(self, header: str | None) -> bool:
        """True when auth is off, or ``header`` carries the right basic credentials."""
        if self.expected_auth is None:
            return True
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.expected_auth)

    def track(self, connection: socket.socket, is_open: bool) -> None:
        """Count ``connection`` as open or closed (wakes :meth:`wait_connections`)."""
        with self._open_changed:
            if is_open:
                self._open.add(connection)
            else:
                self._open.discard(connection)
            self._open_changed.notify_all()

    def connections(self) -> int:
        with self._open_changed:
            return len(self._open)

    def wait_connections(self, count: int, timeout: float | None) -> bool:
        with self._open_changed:
            return self._open_changed.wait_for(lambda: len(self._open) <= count, timeout)

    def close_connections(self) -> None:
        """Shut every open connection down: blocked reads and writes end at once."""
        with self._open_changed:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _TCPServer(_Serving, socketserver.ThreadingTCPServer):
    def __init__(self, family: socket.AddressFamily, address: tuple[str, int]) -> None:
        self.address_family = family
        super().__init__(address, RequestHandler)


class _UnixServer(_Serving, socketserver.ThreadingUnixStreamServer):
    def __init__(self, path: Path) -> None:
        super().__init__(os.fspath(path), RequestHandler, bind_and_activate=False)
        self.path = path
        try:
            self.inode = endpoint.bind_unix(self.socket, path)
            self.server_activate()
        except BaseException:
            self.server_close()
            raise


class RpcServer:
    """Serves a supervisor's XML-RPC interface until :meth:`stop`.

    Parameters
    ----------
    supervisor
        The supervisor to serve.
    address
        ``""`` (a unix socket in the session folder), ``unix:///path``, or ``host:port``
        (see :func:`nbsup.rpc.endpoint.parse_address`).
    auth
        Require HTTP basic auth (user ``nbsup``, a random password).

    Examples
    --------
    >>> server = RpcServer(sup)            # doctest: +SKIP
    >>> server.start().command()           # doctest: +SKIP
    'supervisorctl -s unix:///.../supervisor.sock -u nbsup -p ... status'
    """

    def __init__(self, supervisor: Supervisor, address: str = "", auth: bool = True) -> None:
        self.supervisor = supervisor
        self.address = endpoint.parse_address(address)
        self.auth = auth
        self.info: RpcInfo | None = None
        self._server: _TCPServer | _UnixServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._files: list[Path] = []
        self._folders: list[Path] = []
        self._socket: Path | None = None
        self._inode = 0
        self._at_exit: Any = None

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def start(self) -> RpcInfo:
        """Bind, write the config file and serve on a daemon thread; return where.

        Raises
        ------
        OSError
            When the address cannot be bound (in use, not permitted...).
        ValueError
            For a unix socket path that is too long.
        """
        with self._lock:
            if self.info is not None:
                return self.info
            try:
                return self._start()
            except BaseException:
                self._remove_files()
                raise

    def _start(self) -> RpcInfo:
        folder = self.supervisor.session_dir
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="nbsup-rpc-"))
            self._folders.append(folder)
        server, url, socket_file = self._bind(folder)
        try:
            password = secrets.token_urlsafe(18) if self.auth else None
            expected = f"{USERNAME}:{password}".encode() if password else None
            server.setup_serving(Dispatcher(self.supervisor), expected, self._stopped)
            config = folder / "supervisorctl.conf"
            self._files.append(config)
            endpoint.write_private(config, _client_config(url, password))
        except BaseException:
            server.server_close()
            raise
        self.info = RpcInfo(url, USERNAME if password else None, password, config, socket_file)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.name = "nbsup-rpc"
        self._thread.start()
        # at interpreter exit, remove the socket and the password file even if not stopped
        self._at_exit = weakref.finalize(
            self, _remove, self._socket, self._inode, list(self._files), list(self._folders)
        )
        log.info("serving XML-RPC on %s", url)
        return self.info

    def _bind(self, folder: Path) -> tuple[_TCPServer | _UnixServer, str, Path | None]:
        address = self.address
        if address.unix:
            path, private = endpoint.socket_path(folder, address.path)
            if private is not None:
                self._folders.append(private)
            unix = _UnixServer(path)
            self._inode = unix.inode
            self._socket = path
            return unix, f"unix://{path}", path
        family, sockaddr = endpoint.tcp_family(address.host, address.port)
        tcp = _TCPServer(family, sockaddr)
        host, port = str(tcp.server_address[0]), int(tcp.server_address[1])
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            log.warning("XML-RPC is reachable from other machines on %s:%s", host, port)
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        return tcp, f"http://{shown}:{port}", None

    def stop(self) -> None:
        """Stop serving: close the listener and open connections, remove the files.

        Requests still waiting (a ``startProcess`` waiting for RUNNING) finish on their
        own threads when their program changes state; their answers are not sent.
        """
        with self._lock:
            server, thread = self._server, self._thread
            if server is None:
                return
            self._stopped.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
            if thread is not None:
                thread.join()
            self._remove_files()
            self._server = self._thread = None
            self.info = None
            log.info("stopped serving XML-RPC")

    def _remove_files(self) -> None:
        if self._at_exit is not None:
            self._at_exit.detach()
            self._at_exit = None
        _remove(self._socket, self._inode, self._files, self._folders)
        self._socket, self._files, self._folders = None, [], []

    def connections(self) -> int:
        """Open client connections (streams from ``tail -f`` included)."""
        return 0 if self._server is None else self._server.connections()

    def wait_connections(self, count: int = 0, timeout: float | None = None) -> bool:
        """Block until at most ``count`` connections are open (False after ``timeout``)."""
        server = self._server
        return True if server is None else server.wait_connections(count, timeout)


def _remove(socket_file: Path | None, inode: int, files: list[Path], folders: list[Path]) -> None:
    if socket_file is not None:
        endpoint.remove_socket(socket_file, inode)
    for path in files:
        path.unlink(missing_ok=True)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _client_config(url: str, password: str | None) -> str:
    lines = ["[supervisorctl]", f"serverurl = {url}"]
    if password is not None:
        lines += [f"username = {USERNAME}", f"password = {password}"]
    return "\n".join(lines) + "\n"
