"""``ProgramCard``: a live ipywidget for one program (stock ipywidgets 8, no build step).

The card is an HTML widget written only by the supervisor's thread (through a
:class:`~nbsup.widgets.presenter.Presenter`), plus buttons whose clicks arrive on the
kernel's main thread and are handed to the supervisor. One card per program is live at a
time: showing a new one closes the previous one, so re-running a cell leaks nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from ..core.errors import NbsupError
from ..program import Program
from . import render
from .presenter import Presenter

SIGNALS = ["HUP", "INT", "TERM", "KILL", "USR1", "USR2", "QUIT", "CONT", "STOP"]


class Controls(widgets.HBox):
    """Start, Stop, Restart, a signal menu and Clear log for one program."""

    def __init__(self, program: Program, report: Any) -> None:
        self.program = program
        self.report = report
        # the buttons share one layout and one style: fewer widget models per card
        layout = widgets.Layout(width="auto")
        style = widgets.ButtonStyle()

        def button(description: str, icon: str) -> widgets.Button:
            return widgets.Button(description=description, icon=icon, layout=layout, style=style)

        start = button("Start", "play")
        stop = button("Stop", "stop")
        restart = button("Restart", "refresh")
        self.signal_menu = widgets.Dropdown(options=SIGNALS, value="HUP", layout={"width": "90px"})
        send = button("Signal", "bolt")
        clear = button("Clear log", "eraser")
        start.on_click(lambda _: self._act("start", lambda: program.start()))
        stop.on_click(lambda _: self._act("stop", lambda: program.stop(wait=False)))
        restart.on_click(lambda _: self._in_background("restart", program.restart))
        send.on_click(lambda _: self._act("signal", lambda: program.signal(self.signal_menu.value)))
        clear.on_click(lambda _: self._act("clear", program.clear_log))
        self.buttons = {"start": start, "stop": stop, "restart": restart, "signal": send,
                        "clear": clear}  # fmt: skip
        super().__init__([start, stop, restart, self.signal_menu, send, clear])

    def _act(self, what: str, action: Any) -> None:
        try:
            action()
        except NbsupError as error:
            self.report(f"{what}: {error}")
        else:
            self.report("")

    def _in_background(self, what: str, action: Any) -> None:
        # restart waits for the stop: never block the kernel's main thread on it
        thread = threading.Thread(target=self._act, args=(what, action), daemon=True)
        thread.start()

    def close(self) -> None:
        for child in self.children:
            child.close()
        super().close()


class ProgramCard(widgets.VBox):
    """A live view of one program: state, countdowns, diagram, timeline, output, controls.

    Parameters
    ----------
    program
        The program to show.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.presenter: Presenter | None = None
        self.html = widgets.HTML()
        runner = program._supervisor._runner
        self.controls = Controls(program, self._report)
        super().__init__([self.html, self.controls])
        previous = getattr(program, "_nbsup_card", None)
        if previous is not None:
            previous.close()
        self.presenter = runner.call(Presenter, program, render.card_html, self._write)
        program._nbsup_card = self  # type: ignore[attr-defined]

    def _write(self, value: str) -> None:
        self.html.value = value

    def _report(self, note: str) -> None:
        presenter = self.presenter
        if presenter is not None:
            self.program._supervisor._runner.call(presenter.set_note, note)

    def close(self) -> None:
        """Stop updating and close the widget (and its children)."""
        presenter, self.presenter = self.presenter, None
        if presenter is not None:
            runner = self.program._supervisor._runner
            if not getattr(runner, "_closed", False):
                runner.call(presenter.close)
            else:
                presenter.close()
        if getattr(self.program, "_nbsup_card", None) is self:
            self.program._nbsup_card = None
        self.html.close()
        self.controls.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        presenter = self.presenter
        if presenter is not None:
            snapshot = self.program._supervisor._runner.call(presenter.snapshot)
            bundle["text/plain"] = render.card_text(snapshot)
            bundle["text/html"] = render.card_html(snapshot)
        return bundle
