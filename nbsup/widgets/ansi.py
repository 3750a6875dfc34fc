"""Terminal output to safe HTML: decode, keep colours, drop other escapes, apply ``\\r``.

Program output is bytes that may be invalid UTF-8, contain NUL bytes, carriage returns
(progress bars) and ANSI escape sequences. :func:`to_html` turns the last lines of it into
HTML-escaped text with SGR colours rendered as spans and every other escape removed.
"""

from __future__ import annotations

import html
import re

_CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_OTHER_ESCAPE = re.compile(r"\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_COLOURS = {
    0: "#4b5563",
    1: "#dc2626",
    2: "#16a34a",
    3: "#ca8a04",
    4: "#2563eb",
    5: "#9333ea",
    6: "#0891b2",
    7: "#6b7280",
}


def decode(data: bytes) -> str:
    """UTF-8 with invalid bytes replaced (U+FFFD)."""
    return data.decode("utf-8", "replace")


def last_lines(text: str, count: int) -> list[str]:
    """The last ``count`` lines, each as a terminal would show it after ``\\r`` rewrites."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r")
            for line in lines[-count:]]  # fmt: skip


def plain(text: str) -> str:
    """Text without any escape sequence or control character (tabs and newlines kept)."""
    text = _OSC.sub("", text)
    text = _CSI.sub("", text)
    text = _OTHER_ESCAPE.sub("", text)
    return _CONTROL.sub("", text)


def line_to_html(line: str) -> str:
    """One line of terminal text as escaped HTML, SGR colours and bold rendered."""
    line = _OTHER_ESCAPE.sub("", _OSC.sub("", line))
    out: list[str] = []
    style: dict[str, str] = {}
    position = 0
    for match in _CSI.finditer(line):
        out.append(_span(line[position : match.start()], style))
        position = match.end()
        if match.group(2) == "m":
            style = _apply_sgr(style, match.group(1))
    out.append(_span(line[position:], style))
    return "".join(out)


def to_html(data: bytes, count: int = 20) -> str:
    """The last ``count`` lines of output as HTML lines joined by newlines."""
    return "\n".join(line_to_html(line) for line in last_lines(decode(data), count))


def _span(text: str, style: dict[str, str]) -> str:
    text = html.escape(_CONTROL.sub("", text))
    if not text or not style:
        return text
    css = ";".join(f"{key}:{value}" for key, value in sorted(style.items()))
    return f'<span style="{css}">{text}</span>'


def _apply_sgr(style: dict[str, str], params: str) -> dict[str, str]:
    style = dict(style)
    codes = [int(p) for p in params.split(";") if p.isdigit()] or [0]
    for code in codes:
        if code == 0:
            style = {}
        elif code == 1:
            style["font-weight"] = "bold"
        elif code == 22:
            style.pop("font-weight", None)
        elif 30 <= code <= 37:
            style["color"] = _COLOURS[code - 30]
        elif 90 <= code <= 97:
            style["color"] = _COLOURS[code - 90]
        elif code == 39:
            style.pop("color", None)
    return style
