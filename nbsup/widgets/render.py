"""HTML and text for cards and the dashboard, from snapshots (pure functions)."""

from __future__ import annotations

import html
import time

from ..core.states import ProcessState
from . import ansi, diagram
from .snapshot import CardSnapshot, Countdown, LastExit
from .style import STATE_COLOURS, badge

OUTPUT_LINES = 10


def countdown_html(countdown: Countdown | None, state: ProcessState) -> str:
    if countdown is None:
        return ""
    colour = STATE_COLOURS[state]
    percent = round(100 * countdown.fraction, 1)
    return (
        f'<div class="nbsup-countdown" data-remaining="{countdown.remaining:.2f}">'
        f"{html.escape(countdown.label)}"
        f'<div class="nbsup-bar"><div style="width:{percent}%;background:{colour}"></div></div>'
        "</div>"
    )


def exit_text(last: LastExit | None) -> str:
    if last is None:
        return "no exit yet"
    how = (
        f"terminated by {last.signal}"
        if last.exitstatus == -1 and last.signal
        else (f"exit status {last.exitstatus}")
    )
    if last.to_state is ProcessState.STOPPED:
        return f"last exit: {how} (stopped)"
    if last.to_state is ProcessState.BACKOFF:
        return f"last exit: {how} (too quickly: a failed start)"
    word = "expected" if last.expected else "not expected"
    return f"last exit: {how} ({word})"


def timeline_html(snapshot: CardSnapshot) -> str:
    rows = []
    reasons = snapshot.reasons or [""] * len(snapshot.timeline)
    for record, reason in zip(reversed(snapshot.timeline), reversed(reasons), strict=True):
        stamp = time.strftime("%H:%M:%S", time.localtime(record.time))
        millis = int((record.time % 1) * 1000)
        colour = STATE_COLOURS[ProcessState(record.to_state)]
        rows.append(
            f'<div class="nbsup-event" data-to="{record.to_state}">'
            f'<span class="nbsup-muted">{stamp}.{millis:03d}</span> '
            f'{record.from_state}→<b style="color:{colour}">{record.to_state}</b> '
            f'<span class="nbsup-muted">{html.escape(record.message)}</span>'
            + (f'<div class="nbsup-reason">{html.escape(reason)}</div>' if reason else "")
            + "</div>"
        )
    return f'<div class="nbsup-timeline">{"".join(rows) or "no transitions yet"}</div>'


def output_html(data: bytes, channel: str) -> str:
    if not data:
        return ""
    body = ansi.to_html(data, OUTPUT_LINES)
    return f'<pre class="nbsup-tail nbsup-{channel}" data-channel="{channel}">{body}</pre>'


def card_html(snapshot: CardSnapshot) -> str:
    """The whole card (everything but the buttons) as one HTML string, without the
    stylesheet (:data:`~nbsup.widgets.style.CSS`: the live card sends it once, in a widget
    of its own, not with every update)."""
    s = snapshot
    # RUNNING's description already says "pid N, uptime ..."
    pid = "" if s.state is ProcessState.RUNNING else (f"pid {s.pid}" if s.pid else "no process")
    note = f'<div class="nbsup-note">{html.escape(s.note)}</div>' if s.note else ""
    if s.log_error:
        note += (
            '<div class="nbsup-log-error" style="color:#b45309">'
            f"⚠ log file: {html.escape(s.log_error)} (output kept in memory)</div>"
        )
    return (
        f'<div class="nbsup-card" data-program="{html.escape(s.name)}" '
        f'data-state="{s.state.value}">'
        f'<div class="nbsup-head"><span class="nbsup-name">{html.escape(s.name)}</span>'
        f"{badge(s.state)}"
        f'<span class="nbsup-muted">{pid}</span>'
        f'<span class="nbsup-description">{html.escape(s.description)}</span></div>'
        f"{countdown_html(s.countdown, s.state)}"
        f'<div class="nbsup-muted"><span class="nbsup-exit">{html.escape(exit_text(s.last_exit))}'
        f"</span> · restarts {s.restarts} · failures {s.failures}</div>{note}"
        f'<div class="nbsup-row">{diagram.render(s.state, s.counts, s.last_edge)}'
        f"{timeline_html(s)}</div>"
        f"{output_html(s.stdout, 'stdout')}{output_html(s.stderr, 'stderr')}</div>"
    )


def card_text(snapshot: CardSnapshot) -> str:
    """The card for frontends without widgets: a few plain lines."""
    s = snapshot
    lines = [f"{s.name}  {s.state.value}  {s.description}".rstrip()]
    if s.countdown is not None:
        lines.append(f"  {s.countdown.label}")
    lines.append(f"  {exit_text(s.last_exit)}; restarts {s.restarts}, failures {s.failures}")
    if s.log_error:
        lines.append(f"  log file: {s.log_error}")
    tail = ansi.last_lines(ansi.plain(ansi.decode(s.stdout)), 5)
    lines += [f"  | {line}" for line in tail]
    return "\n".join(lines)


def row_html(snapshot: CardSnapshot) -> str:
    """One dashboard row (everything but its buttons), without the stylesheet."""
    s = snapshot
    extra = (
        f' <span class="nbsup-muted">· {html.escape(s.countdown.label)}</span>'
        if s.countdown
        else ""
    )
    return (
        f'<div class="nbsup-row-line" data-program="{html.escape(s.name)}" '
        f'data-state="{s.state.value}" style="display:flex;gap:10px;align-items:baseline;'
        f'font-size:12px;flex:1;min-width:0">'
        f'<span style="width:160px;font-weight:600;overflow:hidden;text-overflow:ellipsis" '
        f'title="{html.escape(s.name)}">{html.escape(s.name)}</span>'
        f'<span style="width:80px">{badge(s.state)}</span>'
        f'<span style="flex:1">{html.escape(s.description)}{extra}</span>'
        f'<span class="nbsup-counts" data-restarts="{s.restarts}" data-failures="{s.failures}">'
        f"restarts {s.restarts} · failures {s.failures}</span></div>"
    )


def table_html(snapshots: list[CardSnapshot]) -> str:
    """A static table of programs, for frontends without widgets."""
    rows = "".join(
        f"<tr><td><b>{html.escape(s.name)}</b></td><td>{badge(s.state)}</td>"
        f"<td>{html.escape(s.description)}</td><td>{s.restarts}</td><td>{s.failures}</td></tr>"
        for s in snapshots
    )
    return (
        '<table class="nbsup-table"><thead><tr><th>program</th><th>state</th>'
        "<th>description</th><th>restarts</th><th>failures</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
