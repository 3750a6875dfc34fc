"""``Dashboard``: one live table of programs, with the same badges and per-row controls."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..supervisor import Supervisor
from . import parts, render
from .live import LiveProgram
from .parts import close_with_parts
from .style import CSS


class DashboardRow(widgets.HBox):
    """One program: a live HTML line and its controls."""

    def __init__(self, supervisor: Supervisor, name: str) -> None:
        self.program = supervisor[name]
        self.live = LiveProgram(self.program, render.row_html, compact=True)
        self.html = self.live.html
        self.controls = self.live.controls
        super().__init__([self.html, self.controls], layout=parts.layout(width="100%"))

    @property
    def presenter(self) -> Any:
        return self.live.presenter

    def close(self) -> None:
        self.live.close()
        super().close()


class Dashboard(widgets.VBox):
    """All programs of a supervisor (or the named ones), updating live.

    Without ``names`` it follows the supervisor: rows appear and disappear with programs.
    """

    def __init__(self, supervisor: Supervisor, names: list[str] | None = None) -> None:
        self.supervisor = supervisor
        self.follow = names is None
        self.rows: dict[str, DashboardRow] = {}
        # the stylesheet is sent once; row updates carry only their line
        self.style = parts.html(CSS)
        super().__init__([], layout=parts.layout())
        previous = getattr(supervisor, "_nbsup_dashboard", None)
        if previous is not None:  # one live dashboard per supervisor: re-runs leak nothing
            previous.close()
        supervisor._nbsup_dashboard = self
        self._sync(names if names is not None else list(supervisor.program_names))
        if self.follow:
            supervisor.observe(self._on_names, "program_names")

    def _on_names(self, change: Any) -> None:
        self._sync(list(change.new))

    def _sync(self, names: list[str]) -> None:
        for name in [n for n in self.rows if n not in names]:
            self.rows.pop(name).close()
        for name in names:
            if name not in self.rows and name in self.supervisor:
                self.rows[name] = DashboardRow(self.supervisor, name)
        self.children = [self.style, *(self.rows[n] for n in sorted(self.rows))]

    def close(self) -> None:
        if self.follow:  # close() may run twice (explicitly, then from __del__)
            self.follow = False
            self.supervisor.unobserve(self._on_names, "program_names")
        for row in self.rows.values():
            row.close()
        self.rows.clear()
        close_with_parts(self.style)
        if getattr(self.supervisor, "_nbsup_dashboard", None) is self:
            self.supervisor._nbsup_dashboard = None
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        snapshots = [s for row in self.rows.values() if (s := row.live.snapshot()) is not None]
        names = sorted(self.rows)
        bundle["text/plain"] = self.supervisor.status(*names) if names else "(no programs)"
        bundle["text/html"] = render.table_html(snapshots)
        return bundle
