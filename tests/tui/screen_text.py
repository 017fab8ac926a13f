"""What a person sees: the app's composited screen as plain text lines, through Textual's public screenshot API.

Widget state can say "5 rows" while nothing is painted, or a status line can exist under the Footer;
tests that read the rendered screen catch both.
"""

from __future__ import annotations

import html
import re

from textual.app import App

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
                   r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)</text>')
_CELL = 12.2  # the width of one terminal cell in Textual's SVG export


def screen_lines(app: App) -> list[str]:
    """The screen as it would be drawn now, one string per terminal row."""
    width, height = app.size
    rows = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        column, row = round(float(x) / _CELL), int(line)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ")):
            if 0 <= row < height and 0 <= column + offset < width:
                rows[row][column + offset] = char
    return ["".join(r).rstrip() for r in rows]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


def region_lines(app: App, selector: str) -> list[str]:
    """The part of the screen a widget really occupies (its region), as text lines."""
    region = app.screen.query_one(selector).region
    return [line[region.x:region.right].rstrip() for line in screen_lines(app)[region.y:region.bottom]]


def toasts(app: App) -> str:
    """The text of every notification on screen, each unwrapped into one line (toasts wrap long messages)."""
    lines = screen_lines(app)
    shown = []
    for toast in app.screen.query("Toast"):
        r = toast.region
        shown.append(" ".join(" ".join(line[r.x:r.right].strip(" ▌▐▊▎") for line in lines[r.y:r.bottom]).split()))
    return "\n".join(shown)
