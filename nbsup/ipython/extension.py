"""``%load_ext nbsup`` / ``%unload_ext nbsup``."""

from __future__ import annotations

from typing import Any

from ..supervisor import _forget_default, get_supervisor
from .magics import SupervisorMagics


def load(ipython: Any) -> None:
    """Register the magics and make the kernel's supervisor (configurable with %config)."""
    supervisor = get_supervisor()
    ipython.register_magics(SupervisorMagics(ipython, supervisor))
    _warm_up()


def _warm_up() -> None:
    """Import and exercise what the first ``%%supervise`` cell needs (widgets, pandas,
    the explainer), so that cell returns in milliseconds rather than a tenth of a second."""
    from ..core.record import EventRecord
    from ..eventlog import frame_from_records
    from ..simulation import explain
    from ..widgets import render  # noqa: F401

    record = EventRecord(0.0, 0.0, "x", "x", "STOPPED", "STARTING", 1, 0, None, None, None, "")
    explain(frame_from_records([record]))


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
