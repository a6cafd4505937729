"""Server-side SVG bar charts that need no JavaScript and fit a 390 px phone: a viewBox scaled to 100% width.

Each row puts its label above its bars, so long Chinese or English labels never squeeze the bars. Colours
come from classes styled in static/analytics.css; every text is escaped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 360
LABEL_HEIGHT = 18
BAR_HEIGHT = 14
ROW_GAP = 10
VALUE_ROOM = 44  # room right of the longest bar for its number
FONT_SIZE = 13  # matches static/analytics.css


@dataclass(frozen=True)
class Series:
    """One set of bars: its name in the legend, a value per label, and the class that colours it."""

    name: str
    values: list[int]
    css: str


def bar_chart(title: str, labels: list[str], series: list[Series]) -> Markup:
    """Return a horizontal bar chart as an accessible SVG image: role img, a title and an aria-label."""
    top = max((v for s in series for v in s.values), default=0) or 1
    scale = (WIDTH - VALUE_ROOM) / top
    parts, y = _legend(series)
    for row, label in enumerate(labels):
        parts.append(_text(0, y + LABEL_HEIGHT - 4, _short(label), "chart-label"))
        y += LABEL_HEIGHT
        for s in series:
            length = s.values[row] * scale
            parts.append(f'<rect class="{s.css}" x="0" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}"/>')
            parts.append(_text(length + 4, y + BAR_HEIGHT - 2, str(s.values[row]), "chart-value"))
            y += BAR_HEIGHT + 2
        y += ROW_GAP
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {max(y, 1)}" width="100%" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _legend(series: list[Series]) -> tuple[list[str], int]:
    """Return the legend's shapes, one line per series when there are several, and the height it takes."""
    if len(series) < 2:
        return [], 0
    parts, y = [], 0
    for s in series:
        parts.append(f'<rect class="{s.css}" x="0" y="{y + 3}" width="10" height="10"/>')
        parts.append(_text(14, y + 12, s.name, "chart-legend"))
        y += LABEL_HEIGHT
    return parts, y + ROW_GAP


def _text(x: float, y: float, text: str, css: str) -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y}">{escape(text)}</text>'


def _short(label: str) -> str:
    """Return a label cut to what fits on one line of the chart; the table below it keeps it whole."""
    room, kept = WIDTH - FONT_SIZE, []
    for char in label:
        room -= _width(char)
        if room < 0:
            return "".join(kept) + "…"
        kept.append(char)
    return label


def _width(char: str) -> float:
    """Return about how wide a character is drawn: Chinese and full-width ones take a whole em."""
    return FONT_SIZE if unicodedata.east_asian_width(char) in ("W", "F") else FONT_SIZE * 0.6
