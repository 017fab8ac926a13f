"""The braille chart as a person reads it on screen: where a curve goes, what the axes say, what it skips."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from lofi_tui.widgets.chart import BrailleChart, Series, joined_dots, nice_ticks, tick_label
from tests.tui.screen_text import region_lines

BLANK = chr(0x2800)


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield BrailleChart(id="chart")


async def shown(series: list[Series], size: tuple[int, int] = (60, 14), title: str = "loss") -> list[str]:
    app = ChartApp()
    async with app.run_test(size=size) as pilot:
        app.query_one(BrailleChart).plot(title, series)
        await pilot.pause()
        return [line[1:] for line in region_lines(app, "#chart")]  # the chart keeps a cell of padding each side


def dotted(line: str) -> list[int]:
    """Columns of a line that hold a drawn braille dot."""
    return [i for i, c in enumerate(line) if BLANK < c <= chr(0x28FF)]


async def test_a_rising_curve_climbs_from_the_bottom_left_to_the_top_right_between_labelled_axes():
    x = np.arange(100, 1101, dtype=np.float64)
    lines = await shown([Series(x, (x - 100) / 1000, "cyan")])
    assert lines[0].strip() == "loss"
    plot = lines[1:-2]  # title above, x axis and its labels below
    top, bottom = dotted(plot[0]), dotted(plot[-1])
    assert top and bottom and min(top) > max(bottom), "the curve rises left to right"
    assert plot[0].startswith("1.0┤") and plot[-1].startswith("  0┤"), "round values on the y axis"
    assert [line.split("┤")[0].strip() for line in plot if "┤" in line] == ["1.0", "0.5", "0"]
    assert lines[-2].count("┴") == 2 and lines[-1].split() == ["500", "1000"], "round steps on the x axis"
    assert lines[-2].index("┴") == lines[-1].index("500") + 1, "a label is centred under its mark"
    columns = sorted({c for line in plot for c in dotted(line)})
    assert columns == list(range(columns[0], columns[-1] + 1)), "no column of the plot is left without a dot"


def test_joined_points_leave_no_gap_even_across_a_steep_jump():
    columns, rows = joined_dots(np.array([0, 1, 2, 9]), np.array([0, 40, 40, 0]))
    steps = np.abs(np.diff(np.stack([columns, rows]), axis=1))
    assert steps.max() == 1 and rows.max() == 40 and columns[-1] == 9


async def test_a_flat_series_sits_mid_chart_between_ticks_that_differ():
    x = np.arange(1, 51, dtype=np.float64)
    lines = await shown([Series(x, np.full(50, 1e-4), "green")])
    plot = lines[1:-2]
    rows = [i for i, line in enumerate(plot) if dotted(line)]
    assert rows and all(abs(r - (len(plot) - 1) / 2) <= 1 for r in rows)
    labels = [line.split("┤")[0].strip() for line in plot if "┤" in line]
    assert len(set(labels)) == len(labels) >= 2 and "1.00e-04" in labels


@pytest.mark.parametrize("size", [(30, 3), (30, 4), (30, 14)])
async def test_a_value_s_label_is_on_the_row_its_line_is_drawn_in(size):
    """At 80x24 the grad-norm chart has two rows: its 0.40 label once sat a row below its line."""
    x = np.arange(1, 51, dtype=np.float64)
    lines = await shown([Series(x, np.full(50, 0.4), "green")], size=size)
    plot = lines[1:-2] if size[1] >= 6 else lines[1:]
    assert [i for i, line in enumerate(plot) if dotted(line)] == [i for i, line in enumerate(plot)
                                                                   if line.startswith("0.40┤")]


async def test_non_finite_losses_are_skipped_and_the_rest_is_drawn():
    x = np.arange(1, 101, dtype=np.float64)
    y = np.linspace(2.0, 1.0, 100)
    y[40:45] = np.nan
    y[60] = np.inf
    lines = await shown([Series(x, y, "cyan")])
    plot = lines[1:-2]
    assert plot[0].startswith("2.0") and plot[-1].startswith("1.0")
    assert dotted(plot[0]) and dotted(plot[-1])


async def test_marked_points_on_the_right_axis_keep_their_own_scale():
    x = np.arange(0, 1001, dtype=np.float64)
    loss = Series(x, 1.0 - x / 2000, "grey50")
    score = Series(np.array([250.0, 500.0, 1000.0]), np.array([0.2, 0.8, 0.5]), "cyan", axis="right", marker="●")
    lines = await shown([loss, score], size=(70, 14))
    plot = lines[1:-2]
    assert plot[0].rstrip().endswith("├0.8") and plot[-1].rstrip().endswith("├0.2")
    assert plot[0].startswith("1.0┤") and "0.6┤" in "".join(plot), "the left axis keeps the loss's range"
    marks = [(row, line.index("●")) for row, line in enumerate(plot) if "●" in line]
    assert [row for row, _ in marks] == [0, len(plot) // 2, len(plot) - 1], "0.8 on top, 0.5 mid, 0.2 at the bottom"
    assert marks[0][1] < marks[1][1] > marks[2][1] < max(c for _, c in marks)  # step 500 left of 1000


@pytest.mark.parametrize("size", [(8, 3), (20, 4), (3, 10)])
async def test_a_chart_too_small_for_axes_still_shows_its_title_and_no_error(size):
    lines = await shown([Series(np.arange(10.0), np.arange(10.0), "cyan")], size=size, title="learning rate")
    assert lines[0].strip() and "learning rate".startswith(lines[0].strip())


async def test_a_chart_of_four_lines_gives_three_to_the_curve_and_none_to_the_x_axis():
    """The learning-rate and grad-norm charts get about four lines at 80x24: a curve, not only a title."""
    lines = await shown([Series(np.arange(1.0, 101.0), np.linspace(0.0, 1.0, 100), "green")], size=(30, 4))
    assert len(lines) == 4 and all(dotted(line) for line in lines[1:]) and "┴" not in "".join(lines)
    assert lines[1].startswith("1┤") and lines[3].startswith("0┤")


async def test_a_title_longer_than_the_chart_is_cut_to_its_width():
    lines = await shown([], size=(12, 6), title="loss: a-very-long-run-name")
    assert lines[0] == "loss: a-ve"


@pytest.mark.parametrize(("low", "high", "most", "ticks"), [
    (1, 3000, 5, [1000, 2000, 3000]), (0.77, 1.18, 2, [0.8, 1.0]), (0.77, 1.18, 5, [0.8, 0.9, 1.0, 1.1]),
    (9e-5, 1.1e-4, 3, [9e-5, 1e-4, 1.1e-4]), (-2.0, 7.0, 4, [0, 5]), (0.5121, 0.5124, 4, [0.5121, 0.5122, 0.5123, 0.5124]),
])
def test_ticks_fall_on_round_values_inside_the_range(low, high, most, ticks):
    values, _ = nice_ticks(low, high, most)
    assert values == pytest.approx(ticks) and len(values) <= most


@pytest.mark.parametrize(("value", "spacing", "label"), [
    (100000.0, 20000.0, "100000"), (0.8, 0.2, "0.8"), (0.85, 0.05, "0.85"), (0.5123, 0.0001, "0.5123"),
    (1.5e-4, 5e-5, "1.50e-04"), (1e-17, 0.1, "0"), (-2.5, 0.5, "-2.5"),
])
def test_tick_labels_carry_the_decimals_of_their_spacing(value, spacing, label):
    assert tick_label(value, spacing) == label
