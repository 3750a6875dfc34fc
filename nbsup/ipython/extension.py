"""``%load_ext nbsup`` / ``%unload_ext nbsup``."""

from __future__ import annotations

from typing import Any

from ..supervisor import _forget_default, get_supervisor
from .magics import SupervisorMagics


def load(ipython: Any) -> None:
    """Register the magics and make the kernel's supervisor (configurable with %config)."""
    supervisor = get_supervisor()
    ipython.register_magics(SupervisorMagics(ipython, supervisor))
    from .. import widgets  # noqa: F401  (imported now, so the first %%supervise cell is fast)


def unload(ipython: Any) -> None:
    """Stop every program by its stop rules and remove the magics."""
    supervisor = _forget_default()
    if supervisor is not None:
        if supervisor in getattr(ipython, "configurables", []):
            ipython.configurables.remove(supervisor)
        supervisor.shutdown()
    magics = ipython.magics_manager.magics
    magics["cell"].pop("supervise", None)
    magics["line"].pop("supervise", None)
    magics["line"].pop("supervisorctl", None)
