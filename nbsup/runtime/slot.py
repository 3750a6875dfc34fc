"""What the driver keeps for one program: its machine, process, logs and timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.events import ExitStatus
from ..core.machine import Machine
from ..core.options import ProgramOptions
from .clock import TimerHandle
from .launcher_interface import ProcessHandle
from .output import OutputChannel
from .programlogs import ProgramLogs


@dataclass(eq=False)
class Slot:
    """Everything the driver keeps for one program."""

    machine: Machine
    logs: ProgramLogs
    process: ProcessHandle | None = None
    timer: TimerHandle | None = None
    armed_at: float | None = None
    on_deadline: Callable[[], None] | None = None
    replacement: ProgramOptions | None = None
    removed: bool = False
    #: When its last event was handled: a later one is never dated before it.
    fed_at: float = float("-inf")
    #: A process that ended and whose attempt is not closed yet: (process, how it
    #: ended, monotonic time, seconds it ran). Closed after the next one starts, if one
    #: does (its wording and wall time are made then, off the path to that start).
    ended: tuple[ProcessHandle, ExitStatus, float, float | None] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def options(self) -> ProgramOptions:
        return self.machine.options

    @property
    def channels(self) -> dict[str, OutputChannel]:
        return self.logs.channels


__all__ = ["Slot"]
