"""One HTTP connection to the XML-RPC server: auth, ``POST /RPC2``, and the log streams.

Built on the stdlib's :class:`xmlrpc.server.SimpleXMLRPCRequestHandler` (HTTP/1.1,
keep-alive, gzip request bodies). It adds basic auth on every request (401 and the
connection closed, before anything is read or done), answers 400 to a body that is not
an XML-RPC call (as supervisord), and serves ``GET /logtail/<name>[/<channel>]`` and
``GET /mainlogtail`` as chunked streams for ``tail -f`` and ``maintail -f``. Nothing is
written to stderr: request logs go to the ``nbsup.rpc`` logger at DEBUG level.
"""

from __future__ import annotations

import logging
import select
import socket
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xmlrpc.server import SimpleXMLRPCRequestHandler

from ..core.errors import Fault
from . import names
from .follow import Wakeup, follow
from .logmethods import main_log

if TYPE_CHECKING:
    from .server import _Serving

log = logging.getLogger("nbsup.rpc")

#: Largest request body accepted (supervisord has no limit; a call is a few hundred bytes).
MAX_BODY = 16 * 1024 * 1024
#: Largest body read (and dropped) before a 401, so the client sees the answer.
MAX_DRAIN = 64 * 1024


class RequestHandler(SimpleXMLRPCRequestHandler):
    """Handles the requests of one client connection (on its own thread)."""

    protocol_version = "HTTP/1.1"
    rpc_paths = ("/RPC2", "/")
    disable_nagle_algorithm = False  # set in setup, for TCP connections only
    server: _Serving  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        if self.connection.family != socket.AF_UNIX:  # no Nagle delay (TCP only)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        self.server.track(self.connection, True)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError as error:  # the client went away mid-response
            log.debug("XML-RPC client went away: %s", error)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:  # unsent bytes to a client that went away
            pass
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("XML-RPC %s", format % args)

    def address_string(self) -> str:
        address = self.client_address
        return str(address[0]) if isinstance(address, tuple) and address else "unix"

    # ------------------------------------------------------------------ auth

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.server.authorized(self.headers.get("Authorization")):
            return True
        self.close_connection = True
        self._drain()  # a client still sending its body would see a broken pipe, not the 401
        self._plain(401, "401 Unauthorized", {"WWW-Authenticate": 'Basic realm="nbsup"'})
        return False

    def _drain(self) -> None:
        """Read and drop a small request body (an XML-RPC call is a few hundred bytes)."""
        try:
            size = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return
        if 0 < size <= MAX_DRAIN:
            self.rfile.read(size)

    def _plain(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        body = text.encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    # ------------------------------------------------------------------ XML-RPC

    def do_POST(self) -> None:
        if not self.is_rpc_path_valid():
            self.close_connection = True
            self._drain()
            self._plain(404, "404 Not Found")
            return
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._plain(411, "411 Length Required")
            return
        if not 0 <= size <= MAX_BODY:
            self.close_connection = True
            self._plain(413, "413 Request Entity Too Large")
            return
        data = self.decode_request_content(self.rfile.read(size))
        if data is None:  # an unsupported encoding: the response has been sent
            return
        body = self.server.dispatcher.respond(data)
        if body is None:
            self._plain(400, "400 Bad Request: not an XML-RPC call")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # ------------------------------------------------------------------ tail -f

    def do_GET(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        kind, _, rest = path.partition("/")
        if kind == "mainlogtail":
            self._stream(main_log(self.server.supervisor), Wakeup(self.server.stopped))
        elif kind == "logtail" and rest:
            spec, _, channel = rest.partition("/")
            self._stream_program(spec, channel or "stdout")
        else:
            self.close_connection = True
            self._plain(404, "404 Not Found")

    def _stream_program(self, spec: str, channel: str) -> None:
        try:
            program = names.find_program(self.server.supervisor, spec)
            output = program.output_channel(channel)
        except (Fault, KeyError, ValueError):
            output = None
        logfile = getattr(output, "path", None)
        wakeup = Wakeup(self.server.stopped, output)
        self._stream(None if logfile is None else Path(logfile), wakeup)

    def _stream(self, logfile: Path | None, wakeup: Wakeup) -> None:
        """Stream ``logfile`` as supervisord does (404 when there is none)."""
        self.close_connection = True
        if logfile is None or not logfile.exists():
            self._plain(404, "404 Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain;charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        follow(logfile, self._chunk, wakeup, self._client_gone)
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """True once the client closed its end. Nothing more is expected after a GET, so
        stray bytes (supervisorctl sends an extra CRLF) are read and dropped."""
        try:
            while select.select([self.connection], [], [], 0)[0]:
                if not self.connection.recv(4096):
                    return True
        except OSError:
            return True
        return False
