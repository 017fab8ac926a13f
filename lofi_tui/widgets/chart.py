"""A line chart drawn in braille with numpy, so a 100,000-step run redraws in a few milliseconds.

A terminal cell holds 2x4 braille dots. Each series is scaled onto that dot grid, consecutive points are joined
by straight runs of dots, and every row of cells becomes a few segments (one per colour run). The rendered lines
are kept until the data or the size change, so Textual's repaints (focus, scrolling, other widgets) cost nothing.
Axes carry tick labels for the left and, where a series uses it, the right scale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

BRAILLE_BLANK = 0x2800
# the bit number of each dot, indexed by (row within the cell, column within the cell), as Unicode lays braille out
DOT_BIT = np.array([[0, 3], [1, 4], [2, 5], [6, 7]])


@dataclass(frozen=True)
class Series:
    """One curve. ``marker`` draws each point as that character instead of joining points with braille dots
    (a handful of scored checkpoints reads better as marks than as one-dot specks)."""

    x: np.ndarray
    y: np.ndarray
    color: str
    axis: Literal["left", "right"] = "left"
    marker: str | None = None


@dataclass(frozen=True)
class Scale:
    """A data range and the number of positions (dots or cells) it maps onto, first position at ``low``."""

    low: float
    high: float
    positions: int

    @classmethod
    def of(cls, values: Sequence[np.ndarray], positions: int) -> Scale | None:
        finite = [v[np.isfinite(v)] for v in values]
        finite = [v for v in finite if v.size]
        if not finite:
            return None
        low, high = min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)
        if high == low:  # a flat series sits mid-chart between readable ticks
            pad = abs(low) * 0.1 or 1.0
            low, high = low - pad, high + pad
        return cls(low, high, positions)

    def position(self, values: np.ndarray) -> np.ndarray:
        fraction = (values - self.low) / (self.high - self.low)
        return np.rint(np.clip(fraction, 0.0, 1.0) * (self.positions - 1)).astype(np.int64)

    def from_top(self, values: np.ndarray) -> np.ndarray:
        """Positions counted from the top, as rows are drawn (the scale's ``high`` at 0)."""
        return (self.positions - 1) - self.position(values)


def nice_ticks(low: float, high: float, most: int) -> tuple[list[float], float]:
    """Round values inside [low, high], 1, 2 or 5 times a power of ten apart, at most ``most`` of them (at least
    one), and their spacing."""
    span = high - low
    power = 10.0 ** math.floor(math.log10(span / max(1, most - 1)))
    for step in (power, 2 * power, 5 * power, 10 * power, 20 * power):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        if last - first + 1 <= most:
            break
    return [k * step for k in range(first, last + 1)], step


def tick_label(value: float, spacing: float) -> str:
    """The decimals the spacing between round ticks has; tiny or huge values in scientific form."""
    if abs(value) < spacing * 1e-6:  # zero, give or take floating point
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e7:
        return f"{value:.2e}"
    return f"{value:.{max(0, min(6, -math.floor(math.log10(spacing) + 1e-9)))}f}"


def joined_dots(columns: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dots of straight runs from each point to the next (one dot per step along the longer side)."""
    if columns.size < 2:
        return columns, rows
    d_col, d_row = np.diff(columns), np.diff(rows)
    steps = np.maximum(np.abs(d_col), np.abs(d_row)).clip(min=1)
    segment = np.repeat(np.arange(steps.size), steps)
    fraction = (np.arange(segment.size) - np.repeat(np.cumsum(steps) - steps, steps)) / steps[segment]
    return (np.append(np.rint(columns[segment] + d_col[segment] * fraction).astype(np.int64), columns[-1]),
            np.append(np.rint(rows[segment] + d_row[segment] * fraction).astype(np.int64), rows[-1]))


@dataclass
class Canvas:
    """Cells of braille (or marker characters) and, per cell, which series drew it last (-1: none)."""

    width: int
    height: int
    codes: np.ndarray = field(init=False)
    owner: np.ndarray = field(init=False)
    marks: dict[tuple[int, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.codes = np.zeros((self.height, self.width), dtype=np.uint8)
        self.owner = np.full((self.height, self.width), -1, dtype=np.int64)

    def draw(self, index: int, series: Series, x: Scale, y: Scale) -> None:
        """``series`` on scales that count dots (two across and four down per cell)."""
        keep = np.isfinite(series.x) & np.isfinite(series.y)
        columns, rows = x.position(series.x[keep]), y.from_top(series.y[keep])  # in dots
        if series.marker is not None:  # in the cell of its dot, as the axis labels are
            for column, row in zip((columns // 2).tolist(), (rows // 4).tolist()):
                self.marks[(row, column)] = series.marker
                self.owner[row, column] = index
            return
        columns, rows = joined_dots(columns, rows)
        dots = np.zeros((self.height * self.width, 8), dtype=bool)
        dots[(rows // 4) * self.width + columns // 2, DOT_BIT[rows % 4, columns % 2]] = True
        codes = np.packbits(dots, axis=1, bitorder="little").reshape(self.height, self.width)
        self.codes |= codes
        self.owner[codes > 0] = index

    def lines(self, styles: Sequence[Style]) -> list[list[Segment]]:
        chars = np.where(self.codes > 0, self.codes.astype(np.uint32) + BRAILLE_BLANK, ord(" ")).astype("<u4")
        for (row, column), mark in self.marks.items():
            chars[row, column] = ord(mark)
        text = chars.tobytes().decode("utf-32-le")
        lines = []
        for row in range(self.height):
            line = text[row * self.width:(row + 1) * self.width]
            owner = self.owner[row]
            starts = [0, *(np.flatnonzero(np.diff(owner)) + 1).tolist(), self.width]
            lines.append([Segment(line[a:b], styles[owner[a]] if owner[a] >= 0 else None)
                          for a, b in zip(starts, starts[1:])])
        return lines


class BrailleChart(Widget, can_focus=True):
    """A titled chart of series against one x axis; clicking it takes focus (so a click leaves a form field)."""

    COMPONENT_CLASSES = {"braille-chart--axis", "braille-chart--title"}
    DEFAULT_CSS = """
    BrailleChart { width: 1fr; height: 1fr; padding: 0 1; }  /* neighbouring charts do not touch */
    BrailleChart > .braille-chart--axis { color: $text-muted; }
    BrailleChart > .braille-chart--title { text-style: bold; }
    BrailleChart:focus > .braille-chart--title { color: $accent; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = ""
        self.series: list[Series] = []
        self._lines: list[Strip] | None = None

    def plot(self, title: str, series: Sequence[Series] = ()) -> None:
        """Replace what the chart shows; it is drawn again at the next repaint."""
        self.title, self.series = title, list(series)
        self._forget_lines()

    def on_resize(self) -> None:
        self._forget_lines()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._forget_lines, init=False)

    def on_focus(self) -> None:  # the title's colour shows focus
        self._forget_lines()

    def on_blur(self) -> None:
        self._forget_lines()

    def _forget_lines(self) -> None:
        self._lines = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            self._lines = self.draw(self.size.width, self.size.height)
        return self._lines[y] if y < len(self._lines) else Strip.blank(self.size.width)

    def draw(self, width: int, height: int) -> list[Strip]:
        """Every line of the chart at this size: title, plot rows with y ticks, the x axis and its labels (left
        out below six lines, where the rows are worth more than the axis)."""
        axis = self.get_component_rich_style("braille-chart--axis", partial=True)
        title = set_cell_size(self.title, min(width, cell_len(self.title)))
        lines = [Strip([Segment(" " * ((width - cell_len(title)) // 2)),
                        Segment(title, self.get_component_rich_style("braille-chart--title", partial=True))],
                       ).crop_extend(0, width, None)]
        x_axis = height >= 6
        rows = height - 1 - (2 if x_axis else 0)
        blank = lines + [Strip.blank(width)] * max(0, height - 1)
        scales = {side: Scale.of([s.y for s in self.series if s.axis == side], rows * 4) for side in ("left", "right")}
        y_labels = {side: self._y_labels(scale, rows) for side, scale in scales.items()}
        left_width = max(map(len, y_labels["left"].values()), default=0)
        right_width = max(map(len, y_labels["right"].values()), default=0)
        columns = width - left_width - 1 - (right_width + 1 if scales["right"] else 0)
        x_scale = Scale.of([s.x for s in self.series], columns * 2)
        if rows < 1 or columns < 2 or x_scale is None:
            return blank

        canvas = Canvas(columns, rows)
        for index, series in enumerate(self.series):
            scale = scales[series.axis]
            assert scale is not None  # a series' own axis has a scale: it holds that series' values
            canvas.draw(index, series, x_scale, scale)
        for row, segments in enumerate(canvas.lines([Style(color=s.color) for s in self.series])):
            tick = y_labels["left"].get(row)
            parts = [Segment((tick or "").rjust(left_width) + ("┤" if tick else "│"), axis), *segments]
            if scales["right"]:
                tick = y_labels["right"].get(row)
                parts.append(Segment(("├" if tick else "│") + (tick or "").ljust(right_width), axis))
            lines.append(Strip(parts).crop_extend(0, width, None))
        if x_axis:
            lines.extend(self._x_axis(replace(x_scale, positions=columns), left_width, width, axis))
        return lines

    @staticmethod
    def _y_labels(scale: Scale | None, rows: int) -> dict[int, str]:
        """Tick labels by row (row 0 at the top), at round values; ``scale`` counts dots (four per row)."""
        if scale is None:
            return {}
        values, spacing = nice_ticks(scale.low, scale.high, max(2, min(5, rows // 3 + 1)))
        labels: dict[int, str] = {}
        for value, row in zip(values, scale.from_top(np.array(values)) // 4):  # the row its dots would be drawn in
            labels.setdefault(int(row), tick_label(value, spacing))
        return labels

    @staticmethod
    def _x_axis(cells: Scale, left_width: int, width: int, style: Style) -> list[Strip]:
        """The axis line with a mark at each round value, and the values centred under their marks."""
        columns = cells.positions
        values, spacing = nice_ticks(cells.low, cells.high, 5 if columns >= 60 else 3 if columns >= 20 else 2)
        axis_line, label_line, placed_end = ["─"] * columns, [" "] * width, -2
        for value, column in zip(values, cells.position(np.array(values)).tolist()):
            axis_line[column] = "┴"
            label = tick_label(value, spacing)
            start = min(max(0, left_width + 1 + column - len(label) // 2), width - len(label))
            if start >= placed_end + 2:  # a label that would touch the previous one is left out
                label_line[start:start + len(label)] = label
                placed_end = start + len(label)
        return [Strip([Segment(" " * left_width + "└" + "".join(axis_line), style)]).crop_extend(0, width, None),
                Strip([Segment("".join(label_line)[:width], style)]).crop_extend(0, width, None)]
