"""What the driver needs from a launcher: :class:`Launcher`, its callbacks and errors.

:class:`~.launcher.LocalLauncher` runs real processes; :class:`nbsup.testing.FakeLauncher`
runs pretend ones on virtual time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..core.events import ExitStatus
from ..core.options import ProgramOptions
from .commands import CommandError

OutputCallback = Callable[[str, bytes], None]
ExitCallback = Callable[[ExitStatus, float], None]  # (status, monotonic time it was seen)


class SpawnError(Exception):
    """The process could not be started; ``message`` is supervisord's spawnerr text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProcessHandle(Protocol):
    pid: int


class Launcher(Protocol):
    """What the driver needs to run processes."""

    def check(self, options: ProgramOptions) -> CommandError | None:
        """The error a start request would meet before spawning, if any."""
        ...

    def spawn(
        self, options: ProgramOptions, on_output: OutputCallback, on_exit: ExitCallback
    ) -> ProcessHandle:
        """Start the program; call ``on_exit(status, when)`` once when it ends, ``when``
        being the monotonic time the exit was noticed (raise SpawnError)."""
        ...

    def signal(self, process: ProcessHandle, sig: int, group: bool) -> None:
        """Send ``sig`` to the process or its group (raise OSError)."""
        ...

    def reap(self, process: ProcessHandle) -> ExitStatus | None:
        """If the process has ended and ``on_exit`` was not called yet, take its status
        (then call :meth:`finish`)."""
        ...

    def finish(self, process: ProcessHandle) -> None:
        """Deliver an ended process's last output and let go of its pipes.

        ``on_exit`` is called before this, so that a program's next process can start
        first; the launcher calls it after ``on_exit`` returns when the caller did not.
        """
        ...

    def close(self) -> None: ...


__all__ = ["ExitCallback", "Launcher", "OutputCallback", "ProcessHandle", "SpawnError"]
