"""nbsup: supervisord's process supervision inside a Jupyter/IPython kernel.

>>> import nbsup                                   # doctest: +SKIP
>>> sup = nbsup.get_supervisor()                   # doctest: +SKIP
>>> p = sup.add_program("x", command="sleep 60")   # doctest: +SKIP

In IPython: ``%load_ext nbsup``, then ``%%supervise name [options]`` cells and
``%supervisorctl`` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.backoff import BackoffPolicy, ExponentialBackoff, LinearBackoff
from .core.errors import Fault, FaultCode, LogUnavailable, NbsupError, OptionError
from .core.states import ProcessState

if TYPE_CHECKING:
    from .program import Program
    from .supervisor import Supervisor, get_supervisor

__version__ = "0.1.0"

__all__ = [
    "BackoffPolicy",
    "ConfigError",
    "ExponentialBackoff",
    "Fault",
    "FaultCode",
    "LinearBackoff",
    "LintWarning",
    "LogUnavailable",
    "NbsupError",
    "OptionError",
    "ProcessState",
    "Program",
    "ProgramCard",
    "Supervisor",
    "__version__",
    "dashboard",
    "explain",
    "explore",
    "get_supervisor",
    "history",
    "lint",
    "load_ipython_extension",
    "read_events",
    "read_supervisord_log",
    "sessions",
    "simulate",
    "unload_ipython_extension",
]

_LAZY = {
    "Supervisor": "supervisor",
    "get_supervisor": "supervisor",
    "Program": "program",
    "dashboard": "widgets",
    "explore": "widgets",
    "simulate": "simulation",
    "explain": "simulation",
    "lint": "simulation",
    "LintWarning": "simulation",
    "read_supervisord_log": "analysis",
    "read_events": "analysis",
    "history": "analysis",
    "sessions": "analysis",
    "ProgramCard": "widgets",
    "ConfigError": "config",
}


def __getattr__(name: str) -> Any:
    """Import the model lazily, so ``import nbsup`` stays cheap (no pandas until needed)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbsup' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbsup``: register ``%%supervise`` and ``%supervisorctl``."""
    from .ipython.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbsup``: stop every program by its stop rules, remove the magics."""
    from .ipython.extension import unload

    unload(ipython)
