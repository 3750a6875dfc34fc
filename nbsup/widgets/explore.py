"""``nbsup.explore()``: sliders and menus for supervisord's options over a simulated program.

Every change re-runs :func:`nbsup.simulation.simulate` (the real state machine on virtual
time) and redraws the state-per-time chart, the headline numbers and the transitions with
their reasons. Presets express other supervisors' restart policies in supervisord's terms.
"""

from __future__ import annotations

import html
import io
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..analysis import accessor  # noqa: F401  (registers the df.nbsup accessor)
from ..core.errors import NbsupError
from ..simulation import explain, simulate

#: Other supervisors' restart policies, approximated with nbsup's options: a start that
#: fails before ``startsecs`` backs off; staying up ``startsecs`` resets the counter.
PRESETS: dict[str, dict[str, Any]] = {
    "supervisord (default)": dict(
        startsecs=1, startretries=3, autorestart="unexpected", restartpause=1,
        backoff="linear", until=30,
    ),
    "PM2 exp_backoff_restart_delay=100": dict(  # x1.5 from 100 ms, 15 s cap, reset after 30 s up
        startsecs=30, startretries=16, autorestart="true", restartpause=0,
        backoff="exponential", backoffbase=0.1, backofffactor=1.5, backoffmax=15, until=120,
    ),
    "systemd RestartSec=1 RestartSteps=5 RestartMaxDelaySec=60": dict(
        startsecs=10, startretries=20, autorestart="true", restartpause=1,
        backoff="exponential", backoffbase=1, backofffactor=round(60 ** (1 / 5), 3),
        backoffmax=60, until=300,
    ),
    "Kubernetes CrashLoopBackOff": dict(  # 10 s doubling to 5 min, reset after 10 min up
        startsecs=600, startretries=100, autorestart="true", restartpause=0,
        backoff="exponential", backoffbase=10, backofffactor=2, backoffmax=300, until=1800,
    ),
}  # fmt: skip

BEHAVIOURS = {
    "crashes at once": "crash-immediately",
    "crashes after N s": "crash-after",
    "exits 0 after N s": "exit0-after",
    "never exits": "never-exits",
    "cannot be spawned": "spawn-error",
}
OPTION_NAMES = ("startsecs", "startretries", "autorestart", "exitcodes", "restartpause",
                "backoff", "backoffbase", "backofffactor", "backoffmax")  # fmt: skip
TABLE_ROWS = 40


class Explorer(widgets.VBox):
    """The interactive what-if view. Use :func:`nbsup.explore` to make one."""

    def __init__(self, preset: str = "supervisord (default)", behaviour: str = "crashes at once",
                 run_seconds: float = 0.5) -> None:  # fmt: skip
        style = {"description_width": "110px"}
        wide = widgets.Layout(width="360px")

        def slider(kind: type, description: str, **kwargs: Any) -> Any:
            return kind(description=description, style=style, layout=wide,
                        continuous_update=False, **kwargs)  # fmt: skip

        self.preset = widgets.Dropdown(
            options=list(PRESETS), value=preset, description="policy", style=style,
            layout=widgets.Layout(width="560px"),
        )  # fmt: skip
        self.behaviour = widgets.Dropdown(
            options=list(BEHAVIOURS), value=behaviour, description="program", style=style,
            layout=wide,
        )  # fmt: skip
        self.run_seconds = slider(widgets.FloatSlider, "N (seconds)", min=0.05, max=60, step=0.05,
                                  value=run_seconds)  # fmt: skip
        self.controls: dict[str, Any] = {
            "startsecs": slider(widgets.FloatSlider, "startsecs", min=0, max=600, step=0.5),
            "startretries": slider(widgets.IntSlider, "startretries", min=0, max=100),
            "autorestart": widgets.Dropdown(options=["false", "unexpected", "true"],
                                            description="autorestart", style=style, layout=wide),
            "exitcodes": widgets.Text(description="exitcodes", value="0", style=style,
                                      layout=wide, continuous_update=False),
            "restartpause": slider(widgets.FloatSlider, "restartpause", min=0, max=10, step=0.1),
            "backoff": widgets.Dropdown(options=["linear", "exponential"], description="backoff",
                                        style=style, layout=wide),
            "backoffbase": slider(widgets.FloatSlider, "backoffbase", min=0.1, max=60, step=0.1),
            "backofffactor": slider(widgets.FloatSlider, "backofffactor", min=1, max=4, step=0.05),
            "backoffmax": slider(widgets.FloatSlider, "backoffmax", min=1, max=600, step=1),
        }  # fmt: skip
        self.until = slider(widgets.FloatSlider, "run for (s)", min=5, max=3600, step=5)
        self.numbers = widgets.HTML()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="820px"))
        self.table = widgets.HTML()
        self.frame: pd.DataFrame | None = None
        self._quiet = False
        left = widgets.VBox([self.behaviour, self.run_seconds,
                             *list(self.controls.values())[:5]])  # fmt: skip
        right = widgets.VBox([*list(self.controls.values())[5:], self.until])
        super().__init__(
            [self.preset, widgets.HBox([left, right]), self.numbers, self.chart, self.table]
        )
        self.preset.observe(self._on_preset, "value")
        for control in [self.behaviour, self.run_seconds, self.until, *self.controls.values()]:
            control.observe(self._on_change, "value")
        self.apply_preset(preset)

    # ------------------------------------------------------------------ inputs

    def apply_preset(self, name: str) -> None:
        """Set every option from a preset, then redraw once."""
        values = PRESETS[name]
        self._quiet = True
        try:
            for option, control in self.controls.items():
                if option in values:
                    control.value = values[option]
            self.until.value = values.get("until", 60)
        finally:
            self._quiet = False
        self.redraw()

    def options(self) -> dict[str, Any]:
        """The program options currently selected."""
        return {name: control.value for name, control in self.controls.items()}

    def behaviour_spec(self) -> str:
        spec = BEHAVIOURS[self.behaviour.value]
        if spec in ("crash-after", "exit0-after"):
            spec = f"{spec}:{self.run_seconds.value:g}"
        return spec

    def _on_preset(self, change: Any) -> None:
        self.apply_preset(change.new)

    def _on_change(self, change: Any) -> None:
        if not self._quiet:
            self.redraw()

    # ------------------------------------------------------------------ output

    def redraw(self) -> None:
        """Simulate with the current inputs and redraw the numbers, chart and table."""
        try:
            frame = simulate(self.behaviour_spec(), until=self.until.value, **self.options())
            frame = explain(frame, **self.options())
        except NbsupError as error:
            self.numbers.value = f'<b style="color:#dc2626">{html.escape(str(error))}</b>'
            return
        self.frame = frame
        self.numbers.value = headline_html(frame, self.until.value)
        self.chart.value = chart_png(frame, self.until.value)
        self.table.value = table_html(frame)


def headline_html(frame: pd.DataFrame, until: float) -> str:
    """Spawns, time to FATAL and downtime of a simulated run."""
    spawns = int((frame["to_state"] == "STARTING").sum())
    fatal = frame.loc[frame["to_state"] == "FATAL", "elapsed"]
    to_fatal = f"{fatal.iloc[0]:.2f} s" if len(fatal) else f"never (within {until:g} s)"
    summary = frame.nbsup.summary(until=until)
    downtime = float(summary["downtime"].iloc[0]) if len(summary) else until
    return (
        f'<div class="nbsup-headline" data-spawns="{spawns}">'
        f"<b>{spawns}</b> spawns · FATAL: <b>{to_fatal}</b> · "
        f"downtime <b>{downtime:.1f} s</b> of {until:g} s · {len(frame)} transitions</div>"
    )


def chart_png(frame: pd.DataFrame, until: float) -> bytes:
    """The state-per-time chart as PNG bytes."""
    figure = frame.nbsup.timeline(until=until, title="simulated states over time")
    figure.set_size_inches(9, 1.8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def table_html(frame: pd.DataFrame) -> str:
    """The first transitions with their reasons."""
    rows = frame[["elapsed", "from_state", "to_state", "tries", "reason"]].head(TABLE_ROWS)
    table = rows.to_html(index=False, float_format=lambda x: f"{x:.2f}", na_rep="")
    more = f"<p>… {len(frame) - TABLE_ROWS} more</p>" if len(frame) > TABLE_ROWS else ""
    return (
        f'<div class="nbsup-explain" style="max-height:320px;overflow-y:auto">{table}{more}</div>'
    )
