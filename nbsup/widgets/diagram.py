"""supervisord's state diagram as SVG: current state, last edge and per-edge counts.

The states and edges are those of semantics.md §5 (:data:`nbsup.core.states.EDGES`);
UNKNOWN, reachable only when a kill fails, is drawn only when the program is in it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from ..core.states import ProcessState
from .style import STATE_COLOURS

S = ProcessState
Edge = tuple[ProcessState, ProcessState]

WIDTH, HEIGHT = 560, 250
#: The colour of the edge just taken (dark, so its arrowhead stands out from the node).
LAST_EDGE = "#111827"
NODE_W, NODE_H = 86, 26

POSITIONS: dict[ProcessState, tuple[float, float]] = {
    S.STOPPED: (60, 125),
    S.STARTING: (200, 125),
    S.RUNNING: (350, 125),
    S.EXITED: (495, 125),
    S.BACKOFF: (200, 215),
    S.FATAL: (350, 215),
    S.STOPPING: (350, 35),
    S.UNKNOWN: (495, 35),
}

#: How each edge is drawn: the bend of its curve (0: straight), perpendicular to it.
DRAWN_EDGES: dict[Edge, float] = {
    (S.STOPPED, S.STARTING): 0,
    (S.STARTING, S.RUNNING): 0,
    (S.RUNNING, S.EXITED): 0,
    (S.EXITED, S.STARTING): -95,
    (S.STARTING, S.BACKOFF): -26,
    (S.BACKOFF, S.STARTING): -26,
    (S.BACKOFF, S.FATAL): 0,
    (S.FATAL, S.STARTING): -22,
    (S.STARTING, S.STOPPING): 0,
    (S.RUNNING, S.STOPPING): 0,
    (S.STOPPING, S.STOPPED): 40,
    (S.BACKOFF, S.STOPPED): -40,
    (S.STARTING, S.UNKNOWN): 0,
    (S.RUNNING, S.UNKNOWN): 0,
    (S.STOPPING, S.UNKNOWN): 0,
    (S.UNKNOWN, S.EXITED): 0,
}


def _anchor(state: ProcessState, towards: tuple[float, float]) -> tuple[float, float]:
    """Where a line from the node's centre towards ``towards`` leaves its box."""
    x, y = POSITIONS[state]
    dx, dy = towards[0] - x, towards[1] - y
    if dx == 0 and dy == 0:
        return x, y
    scale = min(
        (NODE_W / 2) / abs(dx) if dx else float("inf"),
        (NODE_H / 2) / abs(dy) if dy else float("inf"),
    )
    return x + dx * scale, y + dy * scale


def _path(edge: Edge, bend: float) -> tuple[str, tuple[float, float]]:
    (x1, y1), (x2, y2) = POSITIONS[edge[0]], POSITIONS[edge[1]]
    length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
    nx, ny = -(y2 - y1) / length, (x2 - x1) / length
    control = ((x1 + x2) / 2 + nx * bend, (y1 + y2) / 2 + ny * bend)
    start = _anchor(edge[0], control)
    end = _anchor(edge[1], control)
    middle = (
        0.25 * start[0] + 0.5 * control[0] + 0.25 * end[0],
        0.25 * start[1] + 0.5 * control[1] + 0.25 * end[1],
    )
    d = (
        f"M{start[0]:.1f},{start[1]:.1f} "
        f"Q{control[0]:.1f},{control[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
    )
    return d, middle


def render(
    current: ProcessState,
    counts: Mapping[Edge, int] | None = None,
    last_edge: Edge | None = None,
) -> str:
    """The diagram as an ``<svg>`` element.

    Parameters
    ----------
    current
        The state to highlight.
    counts
        How many times each edge was taken (shown on the edge when > 0).
    last_edge
        The edge just taken, highlighted.
    """
    counts = counts or {}
    show_unknown = current is S.UNKNOWN or any(S.UNKNOWN in e for e, n in counts.items() if n)
    parts = [
        f'<svg class="nbsup-diagram" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="supervisord state diagram, current state {current.value}">',
        '<defs><marker id="nbsup-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
    ]
    for edge, bend in DRAWN_EDGES.items():
        if S.UNKNOWN in edge and not show_unknown:
            continue
        d, (mx, my) = _path(edge, bend)
        taken = counts.get(edge, 0)
        is_last = edge == last_edge
        colour = LAST_EDGE if is_last else ("#6b7280" if taken else "#d1d5db")
        width = 2.5 if is_last else 1.2
        name = f"{edge[0].value}-{edge[1].value}"
        parts.append(
            f'<path class="nbsup-edge{" nbsup-last" if is_last else ""}" data-edge="{name}" '
            f'd="{d}" fill="none" stroke="{colour}" stroke-width="{width}" '
            'marker-end="url(#nbsup-arrow)"/>'
        )
        if taken:
            parts.append(
                f'<text class="nbsup-count" data-edge="{name}" x="{mx:.1f}" y="{my + 3.5:.1f}" '
                'font-size="10" font-weight="600" text-anchor="middle" fill="#111827" '
                f'stroke="white" stroke-width="3" paint-order="stroke">{taken}</text>'
            )
    for state, (x, y) in POSITIONS.items():
        if state is S.UNKNOWN and not show_unknown:
            continue
        active = state is current
        fill = STATE_COLOURS[state] if active else "white"
        text = "white" if active else "#374151"
        parts.append(
            f'<g class="nbsup-node{" nbsup-current" if active else ""}" '
            f'data-state="{state.value}"><rect x="{x - NODE_W / 2}" y="{y - NODE_H / 2}" '
            f'width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
            f'stroke="{STATE_COLOURS[state]}" stroke-width="{2 if active else 1}"/>'
            f'<text x="{x}" y="{y + 4}" font-size="11" font-family="monospace" '
            f'text-anchor="middle" fill="{text}">{html.escape(state.value)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
