"""``ProgramCard``: a live ipywidget for one program (stock ipywidgets 8, no build step).

The card is an HTML widget written only by the supervisor's thread (through a
:class:`~nbsup.widgets.presenter.Presenter`), plus buttons whose clicks arrive on the
kernel's main thread and are handed to the supervisor. One card per program is live at a
time: showing a new one closes the previous one, so re-running a cell leaks nothing.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..program import Program
from . import parts, render
from .live import LiveProgram
from .parts import close_with_parts
from .style import CSS


class ProgramCard(widgets.VBox):
    """A live view of one program: state, countdowns, diagram, timeline, output, controls.

    Parameters
    ----------
    program
        The program to show.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        previous = program._nbsup_card
        if previous is not None:
            previous.close()
        self.live = LiveProgram(program, render.card_html)
        self.html = self.live.html
        self.controls = self.live.controls
        # the stylesheet is sent once; the updates carry only the card
        self.style = parts.html(CSS)
        super().__init__([self.style, self.html, self.controls], layout=parts.layout())
        program._nbsup_card = self

    @property
    def presenter(self) -> Any:
        return self.live.presenter

    def close(self) -> None:
        """Stop updating and close the widget (and its children)."""
        self.live.close()
        close_with_parts(self.style)
        if self.program._nbsup_card is self:
            self.program._nbsup_card = None
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        snapshot = self.live.snapshot()
        if snapshot is not None:
            bundle["text/plain"] = render.card_text(snapshot)
            bundle["text/html"] = CSS + render.card_html(snapshot)
        return bundle
