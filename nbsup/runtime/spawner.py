"""Starting a child process with pipes for its stdin, stdout and stderr.

Each child gets what supervisord gives it: its own session (``setsid``), the three pipes as
descriptors 0, 1 and 2 and no other descriptor, no blocked signals, and SIGPIPE and SIGXFSZ
back at their defaults (Python ignores both).

Where the C library can do all of that in one call (glibc 2.34 and later), the child is
started with ``posix_spawn`` through :mod:`ctypes`. That is about 150 us faster per start
than :class:`subprocess.Popen`, whose Python side encodes the environment, makes the error
pipe and reads it back, and it lets go of the GIL while the new process is made (ctypes
releases it around every foreign call); the restart rate of a program that exits at once
and the kernel's threads both gain. ``os.posix_spawn`` is no substitute on Python 3.11: it
can neither close the inherited descriptors nor change directory, and it keeps the GIL.

A program with a ``umask`` (which ``posix_spawn`` cannot set), and every program where the C
library lacks ``posix_spawn_file_actions_addclosefrom_np``, starts with ``Popen`` instead,
with the same result.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from .environment import Environment

#: glibc's ``posix_spawnattr_setflags`` flags (``<spawn.h>``, stable since glibc 2.26).
_SETSIGDEF = 0x04
_SETSIGMASK = 0x08
_SETSID = 0x80
#: Room for glibc's ``posix_spawnattr_t`` (336 bytes on 64-bit Linux),
#: ``posix_spawn_file_actions_t`` (80) and ``sigset_t`` (128), with margin.
_ATTR_BYTES = 1024
_ACTIONS_BYTES = 512
_SIGSET_BYTES = 256
#: Most commands kept encoded (emptied when full).
ENCODED_COMMANDS = 1024
#: Signals a child gets back at their defaults (as ``Popen(restore_signals=True)``).
RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


@dataclass(eq=False)
class Child:
    """A started child: its pid and this process's ends of its pipes (raw descriptors)."""

    pid: int
    stdin: int
    stdout: int
    #: None when stderr goes to the stdout pipe.
    stderr: int | None


class _LibcSpawn:
    """``posix_spawn`` from the C library, with one attribute object made once."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self.libc = libc
        self.spawn = libc.posix_spawn
        self.spawn.argtypes = [
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_char_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_void_p,
        ]
        self.spawn.restype = ctypes.c_int
        self.init_actions = libc.posix_spawn_file_actions_init
        self.destroy_actions = libc.posix_spawn_file_actions_destroy
        self.dup2 = libc.posix_spawn_file_actions_adddup2
        self.close_from = libc.posix_spawn_file_actions_addclosefrom_np
        self.chdir = libc.posix_spawn_file_actions_addchdir_np
        self.chdir.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.attributes = self._attributes()
        #: Encoded filename and argv array, by (filename, *argv): the C library only reads
        #: them, and threads that spawn at once may share one.
        self._commands: dict[tuple[str, ...], tuple[bytes, ctypes.Array[ctypes.c_char_p]]] = {}

    def _attributes(self) -> ctypes.Array[ctypes.c_char]:
        libc = self.libc
        attributes = ctypes.create_string_buffer(_ATTR_BYTES)
        defaults = ctypes.create_string_buffer(_SIGSET_BYTES)
        mask = ctypes.create_string_buffer(_SIGSET_BYTES)
        _check(libc.posix_spawnattr_init(attributes))
        _check(libc.sigemptyset(defaults), errno_set=True)
        for sig in RESTORED_SIGNALS:
            _check(libc.sigaddset(defaults, int(sig)), errno_set=True)
        _check(libc.sigemptyset(mask), errno_set=True)
        _check(libc.posix_spawnattr_setsigdefault(attributes, defaults))
        _check(libc.posix_spawnattr_setsigmask(attributes, mask))
        flags = ctypes.c_short(_SETSIGDEF | _SETSIGMASK | _SETSID)
        _check(libc.posix_spawnattr_setflags(attributes, flags))
        return attributes

    def file_actions(
        self, fds: tuple[int, int, int], directory: str | None
    ) -> ctypes.Array[ctypes.c_char]:
        """File actions putting ``fds`` on 0, 1 and 2, closing the rest, then ``chdir``."""
        actions = ctypes.create_string_buffer(_ACTIONS_BYTES)
        _check(self.init_actions(actions))
        try:
            for target, fd in enumerate(fds):
                _check(self.dup2(actions, fd, target))
            _check(self.close_from(actions, 3))
            if directory is not None:
                _check(self.chdir(actions, os.fsencode(directory)))
        except BaseException:
            self.destroy_actions(actions)
            raise
        return actions

    def start(
        self,
        filename: str,
        argv: list[str],
        env: Environment,
        directory: str | None,
        pipes: ChildPipes,
    ) -> int:
        """Start ``filename`` on ``pipes``; its pid (raise OSError)."""
        key = (filename, *argv)
        encoded = self._commands.get(key)
        if encoded is None:  # a restarting program starts the same command again
            args = [os.fsencode(a) for a in argv]
            encoded = (os.fsencode(filename), (ctypes.c_char_p * (len(args) + 1))(*args))
            if len(self._commands) >= ENCODED_COMMANDS:
                self._commands.clear()
            self._commands[key] = encoded
        path, arg_array = encoded
        envp = env.envp()
        actions = pipes.take_actions() if directory is None else None
        if actions is None:
            actions = self.file_actions(pipes.theirs, directory)
        try:
            pid = ctypes.c_int()
            error = self.spawn(
                ctypes.byref(pid), path, actions, self.attributes, arg_array,
                envp.buffer_info()[0],
            )  # fmt: skip
        finally:
            self.destroy_actions(actions)
        if error:
            failed = directory if directory is not None and _unusable(directory) else filename
            raise OSError(error, os.strerror(error), failed)
        return pid.value


class ChildPipes:
    """The pipes of one child's stdin, stdout and stderr (stderr may share stdout's), and,
    once :meth:`prepare` ran, the C library's file actions for them.

    Made ahead of a start, between two starts of a restarting program, they take the
    pipes and file actions (~40 us) off the path from an exit to the next start.
    """

    __slots__ = ("_actions", "merge_stderr", "ours", "theirs")

    def __init__(self, merge_stderr: bool = False) -> None:
        self.merge_stderr = merge_stderr
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        stderr_read, stderr_write = (None, stdout_write) if merge_stderr else os.pipe()
        #: The child's ends: its 0, 1 and 2.
        self.theirs = (stdin_read, stdout_write, stderr_write)
        #: This process's ends: stdin's write end, stdout's and stderr's read ends.
        self.ours = (stdin_write, stdout_read, stderr_read)
        self._actions: ctypes.Array[ctypes.c_char] | None = None

    def prepare(self) -> ChildPipes:
        """Make the file actions now (when the C library's ``posix_spawn`` is used)."""
        if LIBC_SPAWN is not None and self._actions is None:
            self._actions = LIBC_SPAWN.file_actions(self.theirs, None)
        return self

    def take_actions(self) -> ctypes.Array[ctypes.c_char] | None:
        """The prepared file actions, now the caller's to destroy (None: none)."""
        actions, self._actions = self._actions, None
        return actions

    def close_theirs(self) -> None:
        for fd in set(self.theirs):
            os.close(fd)

    def close(self) -> None:
        """Close every end (the pipes were not used)."""
        self.close_theirs()
        for fd in self.ours:
            if fd is not None:
                os.close(fd)
        self.drop_actions()

    def drop_actions(self) -> None:
        """Destroy prepared file actions that were not used."""
        actions = self.take_actions()
        if actions is not None and LIBC_SPAWN is not None:
            LIBC_SPAWN.destroy_actions(actions)


def _check(result: int, errno_set: bool = False) -> None:
    """Raise for a failed C call (``posix_spawn*`` return the error; ``sig*`` set errno)."""
    if result:
        code = ctypes.get_errno() if errno_set else result
        raise OSError(code, os.strerror(code))


def _unusable(directory: str) -> bool:
    return not os.path.isdir(directory) or not os.access(directory, os.X_OK)


def _load() -> _LibcSpawn | None:
    """The C library's ``posix_spawn`` if it has everything needed, else None."""
    try:
        return _LibcSpawn(ctypes.CDLL(None, use_errno=True))
    except (OSError, AttributeError):
        return None


LIBC_SPAWN = _load()


def start_child(
    filename: str,
    argv: list[str],
    env: Mapping[str, str] | Environment,
    *,
    directory: str | None = None,
    umask: int | None = None,
    merge_stderr: bool = False,
    pipes: ChildPipes | None = None,
) -> Child:
    """Start ``filename`` (with ``argv``, ``env``) in a session of its own, with pipes.

    Parameters
    ----------
    filename
        The executable's path (no ``PATH`` search).
    argv
        Its arguments, ``argv[0]`` included.
    env
        Its whole environment (an :class:`~.environment.Environment` shares the encoding of
        what it has in common with other programs').
    directory
        Where it starts (None: here).
    umask
        Its umask (None: this process's).
    merge_stderr
        Send its stderr to the stdout pipe.
    pipes
        Pipes made ahead (:meth:`ChildPipes.prepare`); used, or closed if they do not
        fit ``merge_stderr``.

    Returns
    -------
    Child
        The pid and this process's (blocking, non-inheritable) ends of the pipes.

    Raises
    ------
    OSError
        It could not be started; ``filename`` is the directory when that was unusable.
    """
    if not isinstance(env, Environment):
        env = Environment(env)
    if pipes is None or pipes.merge_stderr != merge_stderr:
        if pipes is not None:
            pipes.close()
        pipes = ChildPipes(merge_stderr)
    try:
        if LIBC_SPAWN is not None and umask is None:
            pid = LIBC_SPAWN.start(filename, argv, env, directory, pipes)
        else:
            pid = _popen(filename, argv, env.variables, directory, umask, pipes.theirs)
    except BaseException:
        pipes.close()
        raise
    pipes.close_theirs()
    pipes.drop_actions()  # prepared but not used (a directory was given, or Popen started it)
    stdin, stdout, stderr = pipes.ours
    return Child(pid, stdin, stdout, stderr)


def spawn_error_message(name: str, filename: str, error: OSError) -> str:
    """supervisord's spawnerr for an ``OSError`` raised while starting program ``name``."""
    code = errno.errorcode.get(error.errno or 0, str(error.errno))
    if error.errno == errno.EMFILE:
        return f"too many open files to spawn '{name}'"
    if error.errno == errno.EAGAIN:
        return f"Too many processes in process table to spawn '{name}'"
    if isinstance(error, PermissionError | FileNotFoundError) and error.filename == filename:
        return f"couldn't exec {filename}: {code}"
    return f"unknown error during fork for '{name}': {code}"


def _popen(
    filename: str,
    argv: list[str],
    env: Mapping[str, str],
    directory: str | None,
    umask: int | None,
    fds: tuple[int, int, int],
) -> int:
    popen = subprocess.Popen(
        argv,
        executable=filename,
        stdin=fds[0],
        stdout=fds[1],
        stderr=fds[2],
        cwd=directory,
        env=env,
        start_new_session=True,
        close_fds=True,
        umask=-1 if umask is None else umask,
    )
    # The launcher waits for the child itself; marked as done, this Popen is never put on
    # subprocess's list of children to reap when the next Popen is made.
    popen.returncode = 0
    return popen.pid


__all__ = [
    "LIBC_SPAWN",
    "RESTORED_SIGNALS",
    "Child",
    "ChildPipes",
    "spawn_error_message",
    "start_child",
]
