"""4 Checkpoints: judge a run's checkpoints by numbers and by ear, side by side.

Top: the checkpoint table (the base model first; loss, each metric with its embedding, the automatic
best and the one chosen by hand) beside a chart of the loss and the combined score over steps.
Middle: the sample matrix, styles x columns (base, then checkpoints), each cell a tiny waveform of
the clip with that style's prompt and seed. Bottom: the clip playing and the one it is compared with
(waveform + spectrogram).

Playback goes through the engine player: `space` plays a cell, `[`/`]` switch to the neighbouring
column and `b` to the base model at the same position, `l` sets a loop start, then its end, then
clears it; clips are loudness-matched (ITU-R BS.1770) unless `v` turns it off. Engine work (tables,
pictures, rendering missing cells, loudness) runs in workers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from engine.audio.io import decode
from engine.audio.picture import TrackPicture, track_picture
from engine.errors import LofiError
from engine.evaluation.matrix import Cell, Column, SampleMatrix, sample_matrix
from engine.labels.categories import CATEGORIES
from engine.labels.styles import load_styles
from engine.progress import CancelToken, Progress
from engine.training import checkpoints as ckpt
from engine.training.runs import list_runs
from lofi_tui.widgets.chart import BrailleChart, Series
from lofi_tui.widgets.picture import render_picture
from screens.base import LofiScreen
from screens.dialogs import PromptDialog

THUMB_WIDTH = 8
_BARS = " ▁▂▃▄▅▆▇█"
TARGET_LUFS = -23.0  # EBU R 128; matching lowers it where a clip would otherwise peak above -1 dBFS
# (field of CheckpointRow, header, digits); "label" is the checkpoint itself
TABLE = (("label", "ckpt", 0), ("loss", "loss", 4), ("embedding", "emb", 0), ("fad_inf", "FAD∞", 3),
         ("clap_ratio", "CLAPr", 2), ("distinctness", "dist", 2), ("combined", "comb", 3))
SORTABLE = [f for f, _, _ in TABLE if f != "embedding"]  # `s` cycles through these
METRIC_OF = {"fad_inf": "fad_inf", "clap_ratio": "clap", "distinctness": "distinctness"}  # for reliability marks


@dataclass(frozen=True)
class RunView:
    """Everything the screen shows about one run, read in a worker."""

    run: str
    runs: list[str]
    rows: list
    pick: ckpt.BestPick
    losses: list[tuple[int, float]]
    matrix: SampleMatrix
    thumbs: dict[Path, str]
    gains: dict[Path, float]  # dB that bring each rendered clip of a row to the row's common loudness
    categories: dict[str, str]  # style -> its category


class RunLoaded(Message):
    def __init__(self, view: RunView | None, error: str | None = None) -> None:
        super().__init__()
        self.view, self.error = view, error


class TableLoaded(Message):
    def __init__(self, rows: list, pick: ckpt.BestPick) -> None:
        super().__init__()
        self.rows, self.pick = rows, pick


class FillProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class FillDone(Message):
    def __init__(self, made: int, error: str | None = None) -> None:
        super().__init__()
        self.made, self.error = made, error


class PicturesReady(Message):
    def __init__(self, now: TrackPicture | None, against: TrackPicture | None) -> None:
        super().__init__()
        self.now, self.against = now, against


def thumbnail(samples: np.ndarray, sample_rate: int, width: int = THUMB_WIDTH) -> str:
    """A clip's peak envelope in ``width`` block characters."""
    env = track_picture(samples, sample_rate, columns=width, rows=1).envelope
    return "".join(_BARS[int(v * (len(_BARS) - 1))] for v in env)


def row_pictures(matrix: SampleMatrix) -> tuple[dict[Path, str], dict[Path, float]]:
    """Thumbnails of every rendered cell, and per row the gains that match the cells' loudness (ITU-R
    BS.1770): each clip is decoded once for both."""
    from engine.audio.loudness import LoudnessError, matching_gains

    thumbs: dict[Path, str] = {}
    gains: dict[Path, float] = {}
    for style in matrix.styles:
        cells = [matrix.cell(style, c) for c in matrix.columns if matrix.cell(style, c).ready]
        decoded = [decode(c.path) for c in cells]
        for cell, d in zip(cells, decoded):
            thumbs[cell.path] = thumbnail(d.samples, d.sample_rate)
        try:
            row = matching_gains([d.samples for d in decoded], TARGET_LUFS, decoded[0].sample_rate) if cells else []
        except LoudnessError:
            row = [0.0] * len(cells)  # clips too short to measure play as they are
        gains.update(zip((c.path for c in cells), row))
    return thumbs, gains


def _fmt(value, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if digits else str(value)


def _cell(row, field: str, digits: int) -> str:
    """A table value; ``?`` marks one the evaluation flagged as unreliable (left out of the combined score)."""
    text = _fmt(getattr(row, field), digits)
    metric = METRIC_OF.get(field)
    return text + "?" if metric and text != "-" and not row.reliable(metric) else text


def load_view(workspace, run: str | None) -> RunView | None:
    """The run's table, pick, losses and matrix (with cell thumbnails); the newest run when none is named."""
    from engine.evaluation.evaluate import checkpoint_table
    from engine.training.events import read_metrics

    runs = [r.name for r in list_runs(workspace)]
    if not runs:
        return None
    run = run if run in runs else runs[-1]
    run_dir = workspace.runs_dir / run
    matrix = sample_matrix(run_dir)
    steps = read_metrics(run_dir / "metrics.jsonl").steps
    taxonomy = load_styles()
    return RunView(run, runs, checkpoint_table(workspace, run), ckpt.best_pick(run_dir),
                   [(s, steps[s]["loss"]) for s in sorted(steps)], matrix, *row_pictures(matrix),
                   {s: taxonomy.category(s) for s in matrix.styles})


class CheckpointsScreen(LofiScreen):
    TITLE = "4 Checkpoints"
    AUTO_FOCUS = "#matrix"
    BINDINGS = [
        # The Footer fits 80 columns: the listening loop and the decisions; ? lists the rest.
        Binding("space", "play", "Play", id="checkpoints.play"),
        Binding("right_square_bracket", "switch(1)", "Next", id="checkpoints.next"),
        Binding("left_square_bracket", "switch(-1)", "Previous checkpoint", show=False, id="checkpoints.previous"),
        Binding("b", "against_base", "Base", id="checkpoints.base"),
        Binding("l", "loop", "Loop", show=False, id="checkpoints.loop"),
        Binding("v", "loudness", "Loudness match", show=False, id="checkpoints.loudness"),
        Binding("x", "stop", "Stop", show=False, id="checkpoints.stop"),
        Binding("g", "fill", "Render", id="checkpoints.fill"),
        Binding("escape", "cancel_fill", "Cancel rendering", show=False, id="checkpoints.cancel"),
        Binding("c", "category", "Category", show=False, id="checkpoints.category"),
        Binding("r", "next_run", "Next run", show=False, id="checkpoints.run"),
        Binding("s", "sort", "Sort table", show=False, id="checkpoints.sort"),
        Binding("S", "reverse", "Reverse sort", show=False, id="checkpoints.reverse"),
        Binding("m", "mark_best", "Best", id="checkpoints.mark"),
        Binding("M", "clear_best", "Clear best mark", show=False, id="checkpoints.clear"),
        Binding("a", "blind('abx')", "ABX test", show=False, id="checkpoints.abx"),
        Binding("p", "blind('preference')", "Preference test", show=False, id="checkpoints.preference"),
        Binding("e", "export", "Export", show=False, id="checkpoints.export"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: RunView | None = None
        self.category: str | None = None
        self.shown_styles: list[str] = []
        self.sort_index = 0
        self.sort_reverse = False
        self.playing: Cell | None = None
        self.against: Cell | None = None
        self.loop_start: float | None = None
        self.loop: tuple[float, float] | None = None
        self.loudness_match = True
        self._fill_cancel: CancelToken | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading runs...", id="ckpt-head")
        with Horizontal(id="ckpt-top"):
            yield DataTable(id="ckpt-table", cursor_type="row", zebra_stripes=True)
            yield BrailleChart(id="ckpt-chart")
        yield DataTable(id="matrix", cursor_type="cell")
        with Horizontal(id="ckpt-listen"):
            yield Static("", id="listen-now")
            yield Static("", id="listen-against")
        yield ProgressBar(id="fill-progress", show_eta=False)
        yield Static("", id="ckpt-status")
        yield Footer()

    def on_mount(self) -> None:
        self.load_run(None)
        self._show_pictures()

    def on_resize(self) -> None:
        """Under 110 columns the table needs the whole width; the chart comes back on wider terminals."""
        self.query_one("#ckpt-chart", BrailleChart).display = self.size.width >= 110

    # -- loading ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="checkpoints-load", exit_on_error=False, name="loading the runs")
    def load_run(self, run: str | None) -> None:
        try:
            self.post_message(RunLoaded(load_view(self.app.workspace, run)))
        except LofiError as exc:
            self.post_message(RunLoaded(None, str(exc)))

    def on_run_loaded(self, message: RunLoaded) -> None:
        if message.error:
            self.notify(message.error, title="Checkpoints", severity="error")
            return
        self.view = message.view
        if self.view is None:
            self.query_one("#ckpt-head", Static).update(
                "No runs yet: start one on screen 3 (Training) or with `lofi train`.")
            return
        self._pick_styles()
        self._fill_table()
        self._fill_matrix()
        self._draw_chart()
        self._update_head()
        self._update_status()

    @work(thread=True, exclusive=True, group="checkpoints-table", exit_on_error=False, name="reading the checkpoints")
    def refresh_table(self) -> None:
        """After a decision: the table and marks change, the clips do not."""
        from engine.evaluation.evaluate import checkpoint_table

        run = self.view.run
        self.post_message(TableLoaded(checkpoint_table(self.app.workspace, run),
                                      ckpt.best_pick(self.app.workspace.runs_dir / run)))

    def on_table_loaded(self, message: TableLoaded) -> None:
        self.view = replace(self.view, rows=message.rows, pick=message.pick)
        self._fill_table()
        self._fill_matrix()
        self._update_head()

    @property
    def shown_columns(self) -> list[Column]:
        return self.view.matrix.columns if self.view else []

    def _pick_styles(self) -> None:
        """The matrix rows for the chosen category (all styles when none)."""
        self.shown_styles = [s for s in self.view.matrix.styles
                             if self.category is None or self.view.categories[s] == self.category]

    def _update_head(self) -> None:
        v = self.view
        pick = v.pick
        chosen = "-" if pick.manual is None else f"{pick.manual}" + (f" ({pick.note})" if pick.note else "")
        auto = "-" if pick.automatic is None else str(pick.automatic)
        s = v.matrix.settings
        self.query_one("#ckpt-head", Static).update(Text(
            f"run {v.run} ({v.runs.index(v.run) + 1}/{len(v.runs)}, r: next)  best: auto {auto}, chosen {chosen}  "
            f"clips {s.duration:g} s, {s.steps} steps, seed {s.seed}  styles: {self.category or 'all'} (c)"))

    def _marks(self, step: int | None) -> str:
        pick = self.view.pick
        return ("★" if step is not None and step == pick.automatic else "") + (
            "✎" if step is not None and step == pick.manual else "")

    def _fill_table(self) -> None:
        table = self.query_one("#ckpt-table", DataTable)
        table.clear(columns=True)
        key = SORTABLE[self.sort_index]
        for field, header, _ in TABLE:
            arrow = ("▼" if self.sort_reverse else "▲") if field == key else ""
            table.add_column(header + arrow, key=field)
        table.add_column("best", key="best")
        table.add_column("listening", key="listening")
        rows = list(self.view.rows)
        base, ckpts = rows[:1], rows[1:]
        sort_field = "step" if key == "label" else key
        present = [r for r in ckpts if getattr(r, sort_field) is not None]
        absent = [r for r in ckpts if getattr(r, sort_field) is None]
        present.sort(key=lambda r: getattr(r, sort_field), reverse=self.sort_reverse)
        for r in base + present + absent:  # the baseline stays on top; rows without the value go last
            table.add_row(*(_cell(r, f, d) for f, _, d in TABLE), self._marks(r.step), r.listening or "", key=r.label)

    def _fill_matrix(self) -> None:
        table = self.query_one("#matrix", DataTable)
        row, col = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column("style", key="style", width=10)
        for c in self.shown_columns:
            table.add_column(f"{c.label}{self._marks(c.step)}", key=c.label, width=THUMB_WIDTH)
        for style in self.shown_styles:
            cells = [self.view.matrix.cell(style, c) for c in self.shown_columns]
            table.add_row(style, *(Text(self.view.thumbs.get(c.path, "·"), style="cyan" if c.ready else "dim")
                                   for c in cells), key=style)
        if table.row_count:
            table.cursor_coordinate = (min(row, table.row_count - 1), max(1, min(col, len(self.shown_columns))))

    def _draw_chart(self) -> None:
        from engine.training.series import decimate_minmax, ema

        chart = self.query_one("#ckpt-chart", BrailleChart)
        series = []
        losses = self.view.losses
        if losses:
            x = np.array([s for s, _ in losses], dtype=np.float64)
            smooth = decimate_minmax(x, ema(np.array([v for _, v in losses]), 0.6), max(10, chart.size.width * 2))
            series.append(Series(smooth.x, (smooth.low + smooth.high) / 2, "grey50"))
        scored = [(r.step, r.combined) for r in self.view.rows if r.step is not None and r.combined is not None]
        if scored:
            series.append(Series(np.array([s for s, _ in scored], dtype=np.float64),
                                 np.array([c for _, c in scored], dtype=np.float64), "cyan", axis="right", marker="●"))
        scores = " · combined score (cyan, right)" if scored else " (no checkpoint evaluated yet)"
        chart.plot(f"loss (grey{', left' if scored else ''}){scores}", series)

    # -- the matrix cursor -----------------------------------------------------------------------

    def _cursor_cell(self) -> Cell | None:
        table = self.query_one("#matrix", DataTable)
        if not self.view or not table.row_count:
            return None
        row, col = table.cursor_coordinate
        style = self.shown_styles[row]
        column = self.shown_columns[max(0, col - 1)]  # the style name column plays the base model
        return self.view.matrix.cell(style, column)

    def _move_cursor_to(self, cell: Cell) -> None:
        table = self.query_one("#matrix", DataTable)
        table.cursor_coordinate = (self.shown_styles.index(cell.style), self.shown_columns.index(cell.column) + 1)

    @on(DataTable.CellSelected, "#matrix")
    def _cell_selected(self) -> None:
        self.action_play()

    # -- listening ---------------------------------------------------------------------------------

    def _gain(self, cell: Cell) -> float:
        return self.view.gains.get(cell.path, 0.0) if self.loudness_match else 0.0

    def action_play(self) -> None:
        cell = self._cursor_cell()
        if cell is None:
            return
        if not cell.ready:
            self.notify(f"{cell.style} at {cell.column.label} is not rendered yet: g renders the missing cells")
            return
        self.against = self.playing if self.playing and self.playing != cell else self.against
        self.playing = cell
        self.loop_start, self.loop = None, None
        self.app.play(cell.path, start=0.0, gain_db=self._gain(cell))
        self._show_pictures()
        self._update_status()

    def action_switch(self, delta: int) -> None:
        """Jump to the neighbouring column of the same style at the same playback position."""
        current = self.playing or self._cursor_cell()
        if current is None:
            return
        index = self.shown_columns.index(current.column) + delta
        if not 0 <= index < len(self.shown_columns):
            return
        self._switch_to(self.view.matrix.cell(current.style, self.shown_columns[index]))

    def action_against_base(self) -> None:
        current = self.playing or self._cursor_cell()
        if current is not None:
            target = self.view.matrix.cell(current.style, self.shown_columns[0])
            self._switch_to(self.against if current.column.step is None and self.against else target)

    def _switch_to(self, cell: Cell) -> None:
        self._move_cursor_to(cell)
        if not cell.ready:
            self.notify(f"{cell.style} at {cell.column.label} is not rendered yet: g renders the missing cells")
            return
        if self.playing is None:
            self.action_play()
            return
        self.against, self.playing = self.playing, cell
        self.app.switch(cell.path, gain_db=self._gain(cell))
        self._show_pictures()
        self._update_status()

    def action_loop(self) -> None:
        """Without an audio device the player still keeps time, so loops behave the same."""
        if self.playing is None:
            return
        position = self.app.player.position()
        if self.loop is not None or (self.loop_start is not None and position <= self.loop_start):
            self.loop_start, self.loop = None, None
            self.app.player.set_loop(None)
        elif self.loop_start is None:
            self.loop_start = position
        else:
            self.loop = (self.loop_start, position)
            self.app.player.set_loop(*self.loop)
        self._update_status()

    def action_loudness(self) -> None:
        self.loudness_match = not self.loudness_match
        if self.playing is not None:
            self.app.switch(self.playing.path, gain_db=self._gain(self.playing))  # same place, the new gain
        self._update_status()

    def action_stop(self) -> None:
        self.app.player.stop()
        self.playing, self.loop_start, self.loop = None, None, None
        self._update_status()

    @work(thread=True, exclusive=True, group="checkpoints-pictures", exit_on_error=False,
          name="drawing the waveforms")
    def _show_pictures(self) -> None:
        width = max(10, self.query_one("#listen-now", Static).size.width - 2)

        def picture(cell: Cell | None) -> TrackPicture | None:
            if cell is None or not cell.ready:
                return None
            decoded = decode(cell.path)
            return track_picture(decoded.samples, decoded.sample_rate, columns=width, rows=3)

        self.post_message(PicturesReady(picture(self.playing), picture(self.against)))

    def on_pictures_ready(self, message: PicturesReady) -> None:
        idle = {"▶": "▶ space plays the cell under the cursor",
                "vs": "vs [ ] switch checkpoints at the same position, b the base model"}
        for widget_id, cell, pic, title in (("#listen-now", self.playing, message.now, "▶"),
                                            ("#listen-against", self.against, message.against, "vs")):
            text = Text(f"{title} {cell.style} · {cell.column.label}\n" if cell else f"{idle[title]}\n", style="bold")
            if pic is not None:
                text.append_text(render_picture(pic))
            self.query_one(widget_id, Static).update(text)

    def _update_status(self) -> None:
        parts = []
        if self.playing is not None:
            parts.append(f"▶ {self.playing.style} @ {self.playing.column.label}")
        if self.loop is not None:
            parts.append(f"loop {self.loop[0]:.2f}-{self.loop[1]:.2f} s")
        elif self.loop_start is not None:
            parts.append(f"loop from {self.loop_start:.2f} s (l again: end)")
        parts.append(f"loudness match {'on' if self.loudness_match else 'off'} (v)")
        if self.view is not None:
            shown = set(self.shown_styles)
            missing = sum(c.style in shown for c in self.view.matrix.missing())
            parts.append(f"{missing} cells not rendered (g)" if missing else "all cells rendered")
        self.query_one("#ckpt-status", Static).update(Text("  ·  ".join(parts)))

    # -- table, filters, runs -----------------------------------------------------------------------

    def action_sort(self) -> None:
        if self.view:
            self.sort_index = (self.sort_index + 1) % len(SORTABLE)
            self._fill_table()

    def action_reverse(self) -> None:
        if self.view:
            self.sort_reverse = not self.sort_reverse
            self._fill_table()

    def action_category(self) -> None:
        order = [None, *CATEGORIES]
        self.category = order[(order.index(self.category) + 1) % len(order)]
        if self.view:
            self._pick_styles()
            self._fill_matrix()
            self._update_head()
            self._update_status()

    def action_next_run(self) -> None:
        if self.view and len(self.view.runs) > 1:
            runs = self.view.runs
            self.action_stop()
            self.against = None
            self.load_run(runs[(runs.index(self.view.run) + 1) % len(runs)])

    # -- rendering missing cells ------------------------------------------------------------------

    def action_fill(self) -> None:
        if not self.view or self._fill_cancel is not None:
            return
        if not any(c.style in set(self.shown_styles) for c in self.view.matrix.missing()):
            self.notify("every cell shown is rendered")
            return
        self._fill_cancel = CancelToken()
        bar = self.query_one("#fill-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.add_class("busy")
        self.fill(self.view.matrix.run_dir, list(self.shown_styles), self._fill_cancel)

    def action_cancel_fill(self) -> None:
        if self._fill_cancel is not None:
            self._fill_cancel.cancel()

    @work(thread=True, exclusive=True, group="checkpoints-fill", exit_on_error=False,
          name="rendering the sample matrix")
    def fill(self, run_dir: Path, styles: list[str], cancel: CancelToken) -> None:
        from engine.errors import Cancelled
        from engine.evaluation.matrix import fill_matrix

        try:
            made = fill_matrix(sample_matrix(run_dir, styles), lambda p: self.post_message(FillProgress(p)), cancel)
            self.post_message(FillDone(made))
        except Cancelled as exc:
            self.post_message(FillDone(0, str(exc)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "checkpoints-fill" and event.state == WorkerState.ERROR:
            self._fill_ended()

    def on_fill_progress(self, message: FillProgress) -> None:
        self.query_one("#fill-progress", ProgressBar).update(total=message.progress.total,
                                                             progress=message.progress.done)

    def _fill_ended(self) -> None:
        self._fill_cancel = None
        self.query_one("#fill-progress", ProgressBar).remove_class("busy")

    def on_fill_done(self, message: FillDone) -> None:
        self._fill_ended()
        if message.error:
            self.notify(message.error, title="Sample matrix", severity="warning")
        else:
            self.notify(f"rendered {message.made} clips", title="Sample matrix")
        self.load_run(self.view.run if self.view else None)

    # -- decisions ------------------------------------------------------------------------------------

    def _cursor_step(self) -> int | None:
        cell = self._cursor_cell()
        return cell.column.step if cell else None

    def action_mark_best(self) -> None:
        step = self._cursor_step()
        if step is None:
            self.notify("put the cursor on a checkpoint column (the base model cannot be the best checkpoint)")
            return

        def done(note: str | None) -> None:
            if note is None:
                return
            try:
                ckpt.mark_best(self.view.matrix.run_dir, step, note)
            except LofiError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"step {step} chosen as best; export and retention now use it", title="Best checkpoint")
            self.refresh_table()

        self.app.push_screen(PromptDialog(f"Why is step {step} the best? (a note kept with the choice)"), done)

    def action_clear_best(self) -> None:
        if self.view:
            ckpt.clear_best_mark(self.view.matrix.run_dir)
            self.notify("choice by hand cleared; the automatic pick applies", title="Best checkpoint")
            self.refresh_table()

    def _pair(self) -> tuple[Column, Column] | None:
        """The column under the cursor and the one it is compared with (else its left neighbour)."""
        cell = self._cursor_cell()
        if cell is None:
            return None
        other = self.against.column if self.against and self.against.column != cell.column else None
        if other is None:
            index = self.shown_columns.index(cell.column)
            other = self.shown_columns[index - 1] if index > 0 else None
        return (cell.column, other) if other else None

    def _ref(self, column: Column) -> str:
        return f"base:{self.view.run}" if column.step is None else f"ckpt:{self.view.run}/{column.step}"

    def action_blind(self, kind: str) -> None:
        pair = self._pair()
        if pair is None:
            self.notify("pick two columns: play one, switch to the other, then start the test")
            return
        a, b = sorted(pair, key=lambda c: c.step is None)  # the base model, if in the pair, is b
        self.app.open_listening(kind, a=self._ref(a), b=self._ref(b))

    def action_export(self) -> None:
        step = self._cursor_step()
        if step is None:
            self.notify("put the cursor on a checkpoint column to export it")
            return
        self.app.open_export(self.view.run, step)
