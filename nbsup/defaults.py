"""``ProgramDefaults``: the configurable defaults of new programs' options.

Every option of :class:`~nbsup.core.options.ProgramOptions` that a notebook may want to set
once for all its programs is a trait here, with nbsup's default and supervisord's name:
``%config Supervisor.startsecs = 2`` or ``c.Supervisor.startsecs = 2`` in
``ipython_config.py`` applies to the programs added afterwards.
:class:`~nbsup.supervisor.Supervisor` inherits them.
"""

from __future__ import annotations

from typing import Any

from traitlets import (
    Bool,
    CaselessStrEnum,
    Float,
    Int,
    List,
    TraitError,
    TraitType,
    Unicode,
    Union,
    validate,
)
from traitlets.config import Configurable

from .core.errors import OptionError
from .core.options import CONVERTERS
from .core.values import byte_size

__all__ = ["DEFAULT_OPTIONS", "ProgramDefaults"]

#: The traits that are defaults of program options.
DEFAULT_OPTIONS = (
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "restartpause",
    "backoff",
    "backoffbase",
    "backofffactor",
    "backoffmax",
    "backoffjitter",
    "backoffreset",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_timestamps",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_timestamps",
)


def _log_traits(channel: str) -> tuple[TraitType[Any, Any], ...]:
    """The configurable log-file defaults of one channel (``stdout`` or ``stderr``):
    ``*_logfile``, ``*_logfile_maxbytes``, ``*_logfile_backups``, ``*_timestamps``."""
    return (
        CaselessStrEnum(
            ["AUTO", "NONE"],
            "AUTO",
            help=f"AUTO: logs/<name>-{channel}.log in the session folder; NONE: no file (a "
            "path is set per program).",
        ).tag(config=True),
        Union(
            [Int(), Unicode()],
            default_value=50 * 1024 * 1024,
            help=f"Rotate a {channel} log at this size (bytes, or 10KB, 50MB, 1GB); 0: never.",
        ).tag(config=True),
        Int(
            10,
            min=0,
            help=f"Rotated {channel} logs kept (x.log.1 ... x.log.N); 0: truncate instead.",
        ).tag(config=True),
        Bool(
            False, help=f"Start each line of a {channel} log with the local time it was read."
        ).tag(config=True),
    )


class ProgramDefaults(Configurable):
    """The defaults of new programs' options (see :class:`nbsup.Supervisor`)."""

    autostart = Bool(True, help="Start a program as soon as it is added.").tag(config=True)
    startsecs = Float(
        1.0, help="Seconds a program must stay up to count as started (STARTING -> RUNNING)."
    ).tag(config=True)
    startretries = Int(3, help="Failed starts retried before giving up (FATAL).").tag(config=True)
    autorestart = Unicode(
        "unexpected", help="Restart a program that exited from RUNNING: false, unexpected, true."
    ).tag(config=True)
    exitcodes = List(Int(), default_value=[0], help="Expected exit codes.").tag(config=True)
    stopsignal = Unicode("TERM", help="The signal that asks a program to stop.").tag(config=True)
    stopwaitsecs = Float(10.0, help="Seconds to wait after stopsignal before SIGKILL.").tag(
        config=True
    )
    stopasgroup = Bool(True, help="Send stopsignal to the whole process group.").tag(config=True)
    killasgroup = Bool(True, help="Send SIGKILL to the whole process group.").tag(config=True)
    restartpause = Float(1.0, help="Seconds before an autorestart from EXITED.").tag(config=True)
    backoff = Unicode("linear", help="Backoff policy: linear (supervisord) or exponential.").tag(
        config=True
    )
    backoffbase = Float(1.0, help="First exponential backoff, in seconds.").tag(config=True)
    backofffactor = Float(2.0, help="Growth of each exponential backoff (2: doubling).").tag(
        config=True
    )
    backoffmax = Float(60.0, help="Longest exponential backoff, in seconds.").tag(config=True)
    backoffjitter = Float(0.0, help="Jitter fraction of exponential backoff (0..1).").tag(
        config=True
    )
    backoffreset = Float(
        0.0, help="Seconds of RUNNING after which the failure counter resets (0: at RUNNING)."
    ).tag(config=True)
    redirect_stderr = Bool(False, help="Send programs' stderr to their stdout log.").tag(
        config=True
    )
    stdout_logfile, stdout_logfile_maxbytes, stdout_logfile_backups, stdout_timestamps = (
        _log_traits("stdout")
    )
    stderr_logfile, stderr_logfile_maxbytes, stderr_logfile_backups, stderr_timestamps = (
        _log_traits("stderr")
    )
    attempt_markers = Bool(
        True,
        help="Write a '==> nbsup: attempt N ...' line into the log files at each spawn and exit.",
    ).tag(config=True)

    def option_defaults(self) -> dict[str, object]:
        """The program option defaults this supervisor is configured with."""
        return {name: getattr(self, name) for name in DEFAULT_OPTIONS if name in CONVERTERS}

    @validate("stdout_logfile_maxbytes", "stderr_logfile_maxbytes")
    def _valid_maxbytes(self, proposal: Any) -> int:
        try:
            return byte_size(proposal.trait.name, proposal.value)
        except OptionError as error:
            raise TraitError(str(error)) from None
