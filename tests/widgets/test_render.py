"""The pure rendering functions: ANSI, the diagram, the card and the text fallback."""

from __future__ import annotations

import re

from nbsup.core.record import EventRecord
from nbsup.core.states import ProcessState as S
from nbsup.widgets import ansi, diagram, render
from nbsup.widgets.snapshot import CardModel, CardSnapshot, Countdown, LastExit


def test_ansi_colours_escapes_and_bad_bytes():
    data = (
        b"plain \x1b[31mred\x1b[0m <b>&\n\x1b[2Kprogress 10%\rprogress 90%\n\xff\xfe bad\x00nul\n"
    )
    out = ansi.to_html(data, 10).split("\n")
    assert out[0] == 'plain <span style="color:#dc2626">red</span> &lt;b&gt;&amp;'
    assert out[1] == "progress 90%"
    assert out[2] == "\ufffd\ufffd badnul"
    assert ansi.plain("\x1b]0;title\x07a\x1b[1;32mb\x1b[0m") == "ab"


def test_last_lines_keeps_the_end():
    text = "".join(f"line {i}\n" for i in range(100))
    assert ansi.last_lines(text, 3) == ["line 97", "line 98", "line 99"]


def test_diagram_highlights_current_state_last_edge_and_counts():
    svg = diagram.render(S.BACKOFF, {(S.STARTING, S.BACKOFF): 3, (S.STOPPED, S.STARTING): 1},
                         (S.STARTING, S.BACKOFF))  # fmt: skip
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert re.search(r'class="nbsup-node nbsup-current" data-state="BACKOFF"', svg)
    assert svg.count("nbsup-current") == 1
    assert 'class="nbsup-edge nbsup-last" data-edge="STARTING-BACKOFF"' in svg
    assert re.search(r'data-edge="STARTING-BACKOFF"[^>]*>3</text>', svg)
    assert re.search(r'data-edge="STOPPED-STARTING"[^>]*>1</text>', svg)
    assert 'data-state="UNKNOWN"' not in svg  # drawn only when reached
    every_edge = {f"{a.value}-{b.value}" for a, b in diagram.DRAWN_EDGES if S.UNKNOWN not in (a, b)}
    assert every_edge <= set(
        re.findall(r'<path class="nbsup-edge[^"]*" data-edge="([A-Z-]+)"', svg)
    )


def record(t: float, frm: str, to: str, **extra: object) -> EventRecord:
    fields = dict(pid=None, tries=None, exitstatus=None, signal=None, expected=None, message="")
    fields.update(extra)
    return EventRecord(time=1e9 + t, elapsed=t, program="x", group="x", from_state=frm,
                       to_state=to, **fields)  # type: ignore[arg-type]  # fmt: skip


def test_card_model_counts_from_records():
    model = CardModel(
        [
            record(0, "STOPPED", "STARTING", tries=0),
            record(0.1, "STARTING", "BACKOFF", tries=1, exitstatus=1, expected=False),
            record(1.1, "BACKOFF", "STARTING", tries=1),
            record(2.2, "STARTING", "RUNNING"),
            record(3.0, "RUNNING", "EXITED", exitstatus=-1, signal="SIGHUP", expected=False),
        ]
    )
    assert model.counts[(S.STARTING, S.BACKOFF)] == 1
    assert model.restarts == 1 and model.failures == 2
    assert model.last_edge == (S.RUNNING, S.EXITED)
    assert model.last_exit == LastExit(-1, "SIGHUP", False, S.EXITED)
    assert model.entered_elapsed == 3.0


def test_card_html_and_text():
    snapshot = CardSnapshot(
        name="train<1>", state=S.BACKOFF, pid=0,
        description="Exited too quickly (process log may have details)", tries=2, startretries=3,
        countdown=Countdown("attempt 2 of 4 failed; next start in 1.5 s", 1.5, 2.0),
        last_exit=LastExit(1, None, False, S.BACKOFF), counts={(S.STARTING, S.BACKOFF): 2},
        last_edge=(S.STARTING, S.BACKOFF),
        timeline=[record(0, "STOPPED", "STARTING", message="spawned: 'x' with pid 7")],
        restarts=1, failures=2, stdout=b"hello\n", stderr=b"\x1b[31moops\x1b[0m\n",
    )  # fmt: skip
    page = render.card_html(snapshot)
    assert 'data-program="train&lt;1&gt;"' in page
    assert 'data-state="BACKOFF"' in page
    assert "attempt 2 of 4 failed; next start in 1.5 s" in page
    assert "width:25.0%" in page
    assert "last exit: exit status 1 (too quickly: a failed start)" in page
    assert "restarts 1 · failures 2" in page
    assert "spawned: &#x27;x&#x27; with pid 7" in page
    assert (
        '<pre class="nbsup-tail nbsup-stderr" data-channel="stderr"><span style="color:#dc2626">oops</span></pre>'
        in page
    )
    text = render.card_text(snapshot)
    assert (
        text.splitlines()[0]
        == "train<1>  BACKOFF  Exited too quickly (process log may have details)"
    )
    assert "  | hello" in text
