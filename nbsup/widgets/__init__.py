"""Live views: a card per program and a dashboard of all programs (stock ipywidgets 8)."""

from __future__ import annotations

from ..supervisor import Supervisor, get_supervisor
from .card import ProgramCard
from .dashboard import Dashboard

__all__ = ["Dashboard", "ProgramCard", "dashboard"]


def dashboard(supervisor: Supervisor | None = None) -> Dashboard:
    """A live table of every program of ``supervisor`` (the kernel's one by default)."""
    return Dashboard(supervisor if supervisor is not None else get_supervisor())
