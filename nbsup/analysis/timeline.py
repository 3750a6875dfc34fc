"""A state-per-time chart of supervised programs: one lane per program, one bar per spell.

matplotlib is an optional dependency: it is imported inside :func:`timeline` only, so the
rest of :mod:`nbsup.analysis` works without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._prepare import STATES, Until
from .metrics import intervals

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["STATE_COLORS", "timeline"]

#: The colour of each state's bars (supervisord's states, in code order).
STATE_COLORS: dict[str, str] = {
    "STOPPED": "#6b7280",
    "STARTING": "#2563eb",
    "RUNNING": "#16a34a",
    "BACKOFF": "#ea580c",
    "STOPPING": "#9333ea",
    "EXITED": "#0f766e",
    "FATAL": "#dc2626",
    "UNKNOWN": "#111827",
}

#: Height of a bar within its lane (lanes are 1 apart).
BAR_HEIGHT = 0.8


def timeline(
    frame: pd.DataFrame,
    programs: str | Iterable[str] | None = None,
    ax: Axes | None = None,
    *,
    x: str = "elapsed",
    until: Until = None,
    title: str | None = None,
) -> Figure:
    """Draw each program's states over time.

    Parameters
    ----------
    frame
        An event-log frame (schema of :mod:`nbsup.eventlog`); it is not modified.
    programs
        A program name or names, one lane each from top to bottom (a name without rows
        gets an empty lane); default: every program in the frame, sorted by name.
    ax
        The Axes to draw in; default: a new :class:`~matplotlib.figure.Figure` (not
        registered with pyplot, so a notebook shows it once, as the cell's value).
    x
        ``"elapsed"``: seconds on the frame's clock (``elapsed``, or seconds since the first
        row); ``"time"``: wall-clock time (UTC).
    until
        Where the last states stop (see :func:`nbsup.analysis.metrics.prepare`).
    title
        The Axes title.

    Returns
    -------
    Figure
        The figure drawn in. Lane *i* spans y in ``[i - 0.4, i + 0.4]``; each (program,
        state) is one ``broken_barh`` collection with gid ``"program:STATE"`` and that
        state's :data:`STATE_COLORS` colour (spells of zero length are not drawn); the legend
        lists the states drawn.
    """
    try:
        import matplotlib.dates as mdates
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("timeline() needs matplotlib: pip install matplotlib") from error
    if x not in ("elapsed", "time"):
        raise ValueError(f"x={x!r}: expected 'elapsed' or 'time'")
    spells = intervals(frame, until)
    if programs is None:
        names = sorted(spells["program"].dropna().unique())
    else:
        names = [programs] if isinstance(programs, str) else list(programs)
    if ax is None:
        fig: Any = Figure(figsize=(10, 1.3 + 0.5 * max(len(names), 1)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    if x == "time":
        spells = spells[spells["start"].notna() & spells["end"].notna()]
        start = mdates.date2num(spells["start"].dt.tz_localize(None).to_numpy())
        width = spells["duration"].to_numpy() / 86400.0
    else:
        spells = spells[spells["start_s"].notna() & spells["duration"].notna()]
        start, width = spells["start_s"].to_numpy(), spells["duration"].to_numpy()
    lanes = {name: i for i, name in enumerate(names)}
    lane = spells["program"].map(lanes).to_numpy()
    state = spells["state"].astype(object).to_numpy()
    drawn: set[str] = set()
    for i, name in enumerate(names):
        for name_state in STATES:
            picked = (lane == i) & (state == name_state) & (width > 0)
            if not picked.any():
                continue
            ax.broken_barh(
                list(zip(start[picked], width[picked], strict=True)),
                (i - BAR_HEIGHT / 2, BAR_HEIGHT),
                facecolors=STATE_COLORS[name_state],
                edgecolor="none",
                gid=f"{name}:{name_state}",
            )
            drawn.add(name_state)
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_ylim(max(len(names), 1) - 0.5, -0.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    if x == "time":
        ax.xaxis_date(tz="UTC")
        ax.set_xlabel("time (UTC)")
    else:
        ax.set_xlabel("elapsed (s)")
    handles = [Patch(facecolor=STATE_COLORS[s], label=s) for s in STATES if s in drawn]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center")
    if title:
        ax.set_title(title)
    return fig
