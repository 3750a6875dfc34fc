"""The parts every program view shares: its controls, and an HTML widget kept current by a
:class:`~nbsup.widgets.presenter.Presenter` on the supervisor's thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..core.errors import NbsupError
from ..program import Program
from . import parts
from .parts import close_with_parts
from .presenter import Presenter
from .snapshot import CardSnapshot

SIGNALS = ["HUP", "INT", "TERM", "KILL", "USR1", "USR2", "QUIT", "CONT", "STOP"]


class Controls(widgets.HBox):
    """Start, Stop, Restart, a signal menu and Clear log for one program.

    ``compact`` buttons show only their icon (the name is their tooltip), for table rows.
    """

    def __init__(self, program: Program, report: Any, compact: bool = False) -> None:
        self.program = program
        self.report = report
        # every view's buttons share one layout and one style (widgets/parts.py)
        layout = parts.layout(width="36px" if compact else "auto", flex="0 0 auto")
        style = parts.button_style()

        def button(description: str, icon: str) -> widgets.Button:
            return widgets.Button(
                description="" if compact else description, tooltip=description, icon=icon,
                layout=layout, style=style,
            )  # fmt: skip

        start = button("Start", "play")
        stop = button("Stop", "stop")
        restart = button("Restart", "refresh")
        self.signal_menu = widgets.Dropdown(
            options=SIGNALS,
            value="HUP",
            layout=parts.layout(width="80px", flex="0 0 auto"),
            style=parts.description_style(),
        )
        send = button("Signal", "bolt")
        clear = button("Clear log", "eraser")
        start.on_click(lambda _: self._act("start", lambda: program.start()))
        stop.on_click(lambda _: self._act("stop", lambda: program.stop(wait=False)))
        restart.on_click(lambda _: self._in_background("restart", program.restart))
        send.on_click(lambda _: self._act("signal", lambda: program.signal(self.signal_menu.value)))
        clear.on_click(lambda _: self._act("clear", program.clear_log))
        self.buttons = {"start": start, "stop": stop, "restart": restart, "signal": send,
                        "clear": clear}  # fmt: skip
        super().__init__(
            [start, stop, restart, self.signal_menu, send, clear],
            layout=parts.layout(flex="0 0 auto"),
        )

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
            close_with_parts(child)
        super().close()


class LiveProgram:
    """An HTML widget showing ``render(snapshot)`` of a program, kept current, and its controls.

    Create it on the kernel's main thread; the presenter is made (and closed) on the
    supervisor's thread, which is the only one writing the HTML widget.
    """

    def __init__(
        self, program: Program, render: Callable[[CardSnapshot], str], compact: bool = False
    ) -> None:
        self.program = program
        self.presenter: Presenter | None = None
        self.html = parts.html(flex="1 1 auto", min_width="0")
        self.controls = Controls(program, self.report, compact)
        self.presenter = self._runner.call(Presenter, program, render, self.write)

    @property
    def _runner(self) -> Any:
        return self.program._supervisor._runner

    def write(self, value: str) -> None:
        self.html.value = value

    def report(self, note: str) -> None:
        """Show a short note (e.g. a refused button click) in the view."""
        presenter = self.presenter
        if presenter is not None:
            self._runner.call(presenter.set_note, note)

    def snapshot(self) -> CardSnapshot | None:
        presenter = self.presenter
        return None if presenter is None else self._runner.call(presenter.snapshot)

    def close(self) -> None:
        """Stop updating (no listener or timer left) and close the widgets (idempotent)."""
        presenter, self.presenter = self.presenter, None
        if presenter is not None:
            if getattr(self._runner, "_closed", False):
                presenter.close()
            else:
                self._runner.call(presenter.close)
        close_with_parts(self.html)
        self.controls.close()
