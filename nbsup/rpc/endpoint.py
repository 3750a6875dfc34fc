"""Where the XML-RPC server listens, and the files it leaves for clients.

* ``parse_address``: ``""`` is a unix socket in the session folder; ``unix:///path`` or
  ``/path`` a unix socket there; ``host:port``, ``[v6]:port``, ``:port`` or ``port`` TCP
  (without a host, 127.0.0.1: nothing beyond loopback unless a host is named).
* ``bind_unix``: binds the socket with mode 0600 from the start (bound inside a private
  0700 folder, chmod-ed, then renamed into place), so no other user can ever connect.
* ``write_private``: a file only its owner can read (the supervisorctl config file holding
  the password).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Longest unix socket path the kernel accepts (``sun_path`` is 108 bytes with its NUL).
MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class Address:
    """A parsed ``rpc_address``: a unix socket (``path``, None = the default) or TCP."""

    unix: bool
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0


def parse_address(text: str) -> Address:
    """Parse an ``rpc_address`` (see the module docstring).

    Raises
    ------
    ValueError
        With a message saying what is accepted.
    """
    text = text.strip()
    if not text:
        return Address(unix=True)
    if text.startswith("unix://"):
        text = text[len("unix://") :]
        if not text.startswith("/"):
            raise ValueError(f"{text!r}: a unix socket needs an absolute path (unix:///path)")
    if text.startswith("/"):
        return Address(unix=True, path=Path(text))
    if text.startswith("http://"):
        text = text[len("http://") :].rstrip("/")
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = "", text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ValueError(
            f"{text!r}: expected host:port (127.0.0.1:9001), :port, or unix:///path/to.sock"
        )
    return Address(unix=False, host=host or "127.0.0.1", port=number)


def tcp_family(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """The address family and socket address to bind ``host:port`` to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def socket_path(folder: Path | None, requested: Path | None) -> tuple[Path, Path | None]:
    """Where to bind the unix socket, and a private folder made for it (to remove later).

    The default is ``supervisor.sock`` in ``folder``; when that path is too long for a unix
    socket (or there is no folder), a private 0700 folder under the temp dir is used.
    """
    if requested is not None:
        if len(os.fsencode(requested)) > MAX_SOCKET_PATH:
            raise ValueError(f"{requested}: too long for a unix socket ({MAX_SOCKET_PATH} max)")
        return requested, None
    if folder is not None:
        path = folder / "supervisor.sock"
        if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
            return path, None
    private = Path(tempfile.mkdtemp(prefix="nbsup-"))
    return private / "supervisor.sock", private


def bind_unix(sock: socket.socket, path: Path) -> int:
    """Bind ``sock`` at ``path`` with mode 0600 from the start; return the socket's inode.

    A stale socket file at ``path`` (nobody listening) is replaced; a live one, or any other
    kind of file, is left alone (OSError EADDRINUSE / EEXIST).
    """
    _check_free(path)
    private = Path(tempfile.mkdtemp(prefix=".rpc-", dir=path.parent))
    temporary = private / "s"
    try:
        sock.bind(os.fspath(temporary))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
        with contextlib.suppress(OSError):
            private.rmdir()
    return os.stat(path).st_ino


def _check_free(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(os.fspath(path))
    except OSError:
        return  # stale: nobody listens there
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{path}: another server is listening there")


def remove_socket(path: Path, inode: int) -> None:
    """Remove the socket file at ``path`` if it is still the one bound (same inode)."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            path.unlink()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 (never readable by others, even briefly)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(temporary, path)
