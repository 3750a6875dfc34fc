"""Live views: a card per program and a dashboard of all programs (stock ipywidgets 8)."""

from __future__ import annotations

from ..supervisor import Supervisor, get_supervisor
from .card import ProgramCard
from .dashboard import Dashboard
from .explore import Explorer

__all__ = ["Dashboard", "Explorer", "ProgramCard", "dashboard", "explore"]


def dashboard(supervisor: Supervisor | None = None) -> Dashboard:
    """A live table of every program of ``supervisor`` (the kernel's one by default)."""
    return Dashboard(supervisor if supervisor is not None else get_supervisor())


def explore(**kwargs: object) -> Explorer:
    """Sliders and menus for supervisord's options over a simulated program (what-if).

    Keyword arguments: ``preset`` (a name of :data:`nbsup.widgets.explore.PRESETS`),
    ``behaviour`` (a name of :data:`nbsup.widgets.explore.BEHAVIOURS`), ``run_seconds``.
    """
    return Explorer(**kwargs)  # type: ignore[arg-type]
