"""Colours and CSS shared by the cards, the diagram and the dashboard."""

from __future__ import annotations

from ..core.states import ProcessState

#: One colour per supervisord state.
STATE_COLOURS: dict[ProcessState, str] = {
    ProcessState.STOPPED: "#6b7280",
    ProcessState.STARTING: "#2563eb",
    ProcessState.RUNNING: "#16a34a",
    ProcessState.BACKOFF: "#ea580c",
    ProcessState.STOPPING: "#9333ea",
    ProcessState.EXITED: "#0f766e",
    ProcessState.FATAL: "#dc2626",
    ProcessState.UNKNOWN: "#111827",
}


def badge(state: ProcessState) -> str:
    """A coloured pill with the state's name."""
    colour = STATE_COLOURS[state]
    return (
        f'<span class="nbsup-badge" data-state="{state.value}" style="background:{colour};'
        "color:white;border-radius:9px;padding:1px 8px;font-size:11px;font-weight:600;"
        f'font-family:monospace">{state.value}</span>'
    )


CSS = """
<style>
.nbsup-card{font-family:var(--jp-ui-font-family,sans-serif);font-size:12px;line-height:1.4;
  border:1px solid #d1d5db;border-radius:6px;padding:8px 10px;max-width:980px}
.nbsup-card .nbsup-head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.nbsup-card .nbsup-name{font-weight:700;font-size:14px}
.nbsup-card .nbsup-muted{color:#6b7280}
.nbsup-card .nbsup-bar{height:6px;background:#e5e7eb;border-radius:3px;overflow:hidden;margin:4px 0}
.nbsup-card .nbsup-bar>div{height:100%}
.nbsup-card .nbsup-row{display:flex;gap:12px;align-items:flex-start;flex-wrap:wrap}
.nbsup-card .nbsup-timeline{max-height:240px;overflow-y:auto;font-family:monospace;font-size:11px;
  min-width:220px;flex:1}
.nbsup-card .nbsup-reason{font-family:var(--jp-ui-font-family,sans-serif);font-style:italic;
  color:#374151;margin:0 0 3px 12px}
.nbsup-card pre.nbsup-tail{overflow-x:auto;background:#f9fafb;margin:4px 0;
  padding:4px 6px;font-size:11px;white-space:pre-wrap;word-break:break-all}
.nbsup-card pre.nbsup-tail.nbsup-stderr{background:#fef2f2}
</style>
"""
