"""Layout and style models shared by every view, and closing a widget with its own parts.

Each ipywidgets ``DOMWidget`` makes a ``Layout`` model of its own, and each ``HTML``,
``Button`` or ``Dropdown`` a style model too, unless it is given one. A card would then be
20 models and a dashboard row 17, each opened with a message of its own: 200 cards and a
dashboard took 13 s to show. The views' layouts and styles never change after they are
made, so they share one model per kind (one model, many views, as ipywidgets allows); a
card is then 10 models and a row 9.

Shared parts live as long as the kernel: a handful of models, never closed by a view. One
closed from elsewhere (``Widget.close_all()``) is replaced by a new one on next use.
Everything else a view owns is closed with it: ``Widget.close`` leaves a widget's own
layout and style open, so :func:`close_with_parts` closes them too.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_description import DescriptionStyle
from ipywidgets.widgets.widget_string import HTMLStyle

_shared: dict[tuple[str, tuple[tuple[str, Any], ...]], widgets.Widget] = {}


def _get(kind: type[widgets.Widget], traits: dict[str, Any]) -> Any:
    key = (kind.__name__, tuple(sorted(traits.items())))
    part = _shared.get(key)
    if part is None or part.comm is None:  # never made, or closed from elsewhere
        part = kind(**traits)
        part._nbsup_shared = True
        _shared[key] = part
    return part


def layout(**traits: Any) -> widgets.Layout:
    """The shared ``Layout`` with these traits (``flex="0 0 auto"``...)."""
    return _get(widgets.Layout, traits)


def html_style() -> HTMLStyle:
    """The shared style of ``HTML`` widgets (the default one)."""
    return _get(HTMLStyle, {})


def button_style() -> widgets.ButtonStyle:
    """The shared style of buttons (the default one)."""
    return _get(widgets.ButtonStyle, {})


def description_style() -> DescriptionStyle:
    """The shared style of described widgets such as ``Dropdown`` (the default one)."""
    return _get(DescriptionStyle, {})


def html(value: str = "", **layout_traits: Any) -> widgets.HTML:
    """An ``HTML`` widget on the shared style and the shared layout with these traits."""
    return widgets.HTML(value, layout=layout(**layout_traits), style=html_style())


def is_shared(part: object) -> bool:
    return getattr(part, "_nbsup_shared", False) is True


def close_with_parts(widget: widgets.Widget) -> None:
    """``widget.close()``, and its own (not shared) ``layout`` and ``style`` models too:
    ipywidgets leaves those open, and each would stay registered in the kernel and in the
    frontend."""
    for name in ("layout", "style"):
        if widget.has_trait(name) and widget.trait_has_value(name):
            part = getattr(widget, name)
            if isinstance(part, widgets.Widget) and not is_shared(part):
                part.close()
    widget.close()
