"""1 Catalog: every track with sort, filter and search; details, a picture of the audio, import, playback."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, ProgressBar, Static

from engine.audio.io import decode
from engine.audio.picture import TrackPicture, track_picture
from engine.catalog.query import filter_tracks
from engine.catalog.stats import catalog_stats
from engine.catalog.store import Catalog
from engine.catalog.track import Track
from engine.errors import LofiError
from engine.ingest import IngestReport, ingest
from engine.labels.styles import load_styles
from engine.progress import CancelToken, Progress
from lofi_tui.widgets.picture import render_picture
from screens.dialogs import PromptDialog

COLUMNS = (("title", "Title", 22), ("dur", "Len", 5), ("style", "Style", 9), ("cat", "Category", 12),
           ("score", "Score", 5), ("status", "Status", 24), ("split", "Split", 10), ("flags", "Flags", 28),
           ("license", "License", 12))


FILL_BATCH = 500
FILTER_DELAY = 0.15  # seconds of no typing before the table is refilled


def _row(t: Track) -> tuple:
    status = t.status if not t.reason else f"{t.status}: {t.reason}"
    # DataTable reads str cells as Rich markup: a title like "rain [demo]" would lose its brackets.
    return (escape(t.title), t.duration_text, t.primary_style or "-", t.category,
            round(t.quality_score) if t.quality_score else 0, status, t.split, " ".join(t.flags),
            escape(t.source.license or "-"))


class CatalogLoaded(Message):
    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks


class PictureReady(Message):
    def __init__(self, track_id: str, picture: TrackPicture | None, error: str | None = None) -> None:
        super().__init__()
        self.track_id, self.picture, self.error = track_id, picture, error


class IngestProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class IngestDone(Message):
    def __init__(self, report: IngestReport | None, error: str | None = None) -> None:
        super().__init__()
        self.report, self.error = report, error


class DistributionScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,d,q", "dismiss", "Close", id="distribution.close")]

    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks

    def compose(self) -> ComposeResult:
        stats = catalog_stats(self.tracks, load_styles().ids)
        top = max(stats.by_style.values(), default=0) or 1
        text = Text(f"Accepted tracks per primary style (mean {stats.mean_per_style})\n\n")
        for style, n in stats.by_style.items():
            under = style in stats.underrepresented
            text.append(f"{style:<10}", style="bold yellow" if under else "bold")
            text.append("█" * round(24 * n / top) + f" {n}", style="yellow" if under else "green")
            text.append("  underrepresented\n" if under else "\n", style="yellow")
        yield Static(text, classes="dialog")


class CatalogScreen(Screen):
    TITLE = "1 Catalog"
    AUTO_FOCUS = "#tracks"  # number keys switch screens; "/" goes to the filter
    BINDINGS = [
        Binding("space", "play", "Play", id="catalog.play"),
        Binding("i", "import", "Import", id="catalog.import"),
        Binding("d", "distribution", "Styles", id="catalog.distribution"),
        Binding("r", "reload", "Reload", id="catalog.reload"),
        Binding("slash", "focus_filter", "Filter", id="catalog.filter"),
        Binding("escape", "cancel_import", "Cancel import", show=False, id="catalog.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tracks: list[Track] = []
        self.shown: list[Track] = []
        self._sort_by: tuple[str, bool] | None = None
        self._import_cancel: CancelToken | None = None
        self._fill_token = 0
        self._filter_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: words  status:rejected  style:CORE-01  flag:needs_review  split:train",
                    id="filter")
        with Horizontal(id="catalog-body"):
            yield DataTable(id="tracks", cursor_type="row", zebra_stripes=True)
            yield Static("Loading the catalog...", id="detail")
        yield ProgressBar(id="import-progress", show_eta=False)
        yield Static("", id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#tracks", DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.action_reload()

    # -- loading and filtering ------------------------------------------------------------

    def action_reload(self) -> None:
        self.load_catalog()

    @work(thread=True, exclusive=True, group="catalog-load")
    def load_catalog(self) -> None:
        self.post_message(CatalogLoaded(Catalog(self.app.workspace.catalog_path).all()))

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        self.tracks = message.tracks
        self._show_rows()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        # Refilling 10,000 rows costs a few hundred ms: wait until typing pauses, not per key.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self._show_rows)

    def _show_rows(self) -> None:
        query = self.query_one("#filter", Input).value
        self.shown = filter_tracks(self.tracks, query)
        self.query_one("#tracks", DataTable).clear()
        self._fill_token += 1
        self._fill(self._fill_token, 0)
        counts = {s: sum(t.status == s for t in self.tracks) for s in ("accepted", "rejected", "error")}
        self.query_one("#status-line", Static).update(
            f"{len(self.shown)} of {len(self.tracks)} tracks shown · {counts['accepted']} accepted · "
            f"{counts['rejected']} rejected · {counts['error']} errors")
        if not self.shown:
            self.query_one("#detail", Static).update("No tracks match." if self.tracks else
                                                     "The catalog is empty: press i to import audio.")

    def _fill(self, token: int, start: int) -> None:
        """Add rows a batch at a time so typing and keys stay responsive with 10,000 tracks."""
        if token != self._fill_token:
            return  # a newer filter replaced this one
        table = self.query_one("#tracks", DataTable)
        for t in self.shown[start : start + FILL_BATCH]:
            table.add_row(*_row(t), key=t.id)
        if start + FILL_BATCH < len(self.shown):
            self.call_later(self._fill, token, start + FILL_BATCH)
        elif self._sort_by:
            table.sort(self._sort_by[0], reverse=self._sort_by[1])

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        reverse = bool(self._sort_by and self._sort_by[0] == key and not self._sort_by[1])
        self._sort_by = (key, reverse)
        event.data_table.sort(key, reverse=reverse)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    # -- details ----------------------------------------------------------------------------

    def _selected_track(self) -> Track | None:
        table = self.query_one("#tracks", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((t for t in self.tracks if t.id == key), None)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        track = self._selected_track()
        if track is None:
            return
        self.query_one("#detail", Static).update(self._detail_text(track))
        if track.output:
            self.make_picture(track, max(20, self.query_one("#detail", Static).size.width - 3))

    def _detail_text(self, t: Track, picture: Text | None = None) -> Text:
        s = t.source
        text = Text()
        text.append(f"{t.title}\n", style="bold")
        text.append(f"{t.id} · {t.source_format} · {t.status}{' (' + t.reason + ')' if t.reason else ''}\n")
        if t.message:
            text.append(f"{t.message}\n", style="yellow")
        text.append("\nSource  ", style="bold")
        cost = "-" if s.cost is None else f"{s.cost:g} {s.currency or ''}".strip()
        text.append(f"{s.provider or '-'} · {s.license or 'no license'} · {cost} · {s.acquired or '-'}\n")
        text.append("Styles  ", style="bold")
        text.append(", ".join(t.styles) or "-")
        text.append(f"   bpm {t.bpm or '-'} · {t.key or '-'}\n")
        if t.prompt:
            text.append("Prompt  ", style="bold")
            text.append(t.prompt + "\n")
        text.append("Lyrics  ", style="bold")
        text.append((t.lyrics or ("[Instrumental]" if t.status == "accepted" and t.instrumental is not False else "-"))
                    + "\n")
        if t.quality:
            text.append("Quality ", style="bold")
            text.append(f"{t.quality_score} · " + " · ".join(
                f"{k.removesuffix('_score')} {v:.2f}" for k, v in t.quality.items() if k.endswith("_score")) + "\n")
        if picture is not None:
            text.append("\n")
            text.append_text(picture)
        return text

    @work(thread=True, exclusive=True, group="picture")
    def make_picture(self, track: Track, columns: int) -> None:
        try:
            decoded = decode(self.app.workspace.resolve(track.output))
            picture = track_picture(decoded.samples, decoded.sample_rate, columns=columns)
            self.post_message(PictureReady(track.id, picture))
        except LofiError as exc:
            self.post_message(PictureReady(track.id, None, str(exc)))

    def on_picture_ready(self, message: PictureReady) -> None:
        track = self._selected_track()
        if track is None or track.id != message.track_id:
            return
        picture = render_picture(message.picture) if message.picture else Text(message.error or "", style="red")
        self.query_one("#detail", Static).update(self._detail_text(track, picture))

    # -- actions ----------------------------------------------------------------------------

    def action_play(self) -> None:
        track = self._selected_track()
        if track and track.output:
            self.app.play(self.app.workspace.resolve(track.output))

    def action_distribution(self) -> None:
        self.app.push_screen(DistributionScreen(self.tracks))

    def action_import(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.run_import(Path(path).expanduser())

        self.app.push_screen(PromptDialog("Import audio from a file or folder:", placeholder="~/music/licensed"),
                             chosen)

    def action_cancel_import(self) -> None:
        if self._import_cancel is not None:
            self._import_cancel.cancel()

    @work(thread=True, exclusive=True, group="import")
    def run_import(self, path: Path) -> None:
        self._import_cancel = CancelToken()
        try:
            report = ingest(self.app.workspace, [path], jobs=None,
                            progress=lambda p: self.post_message(IngestProgress(p)), cancel=self._import_cancel)
            self.post_message(IngestDone(report))
        except LofiError as exc:
            self.post_message(IngestDone(None, str(exc)))

    def on_ingest_progress(self, message: IngestProgress) -> None:
        bar = self.query_one("#import-progress", ProgressBar)
        bar.add_class("busy")
        bar.update(total=message.progress.total or None, progress=message.progress.done)
        self.query_one("#status-line", Static).update(f"importing {Path(message.progress.label).name}")

    def on_ingest_done(self, message: IngestDone) -> None:
        self.query_one("#import-progress", ProgressBar).remove_class("busy")
        self._import_cancel = None
        if message.error:
            self.notify(message.error, title="Import failed", severity="error")
            return
        s = message.report.summary
        problems = [r for r in message.report.results if r.status in ("rejected", "error")]
        detail = "\n".join(f"{Path(r.source).name}: {r.reason}" for r in problems[:8])
        self.notify(f"{s['accepted']} accepted, {s['rejected']} rejected, {s['error']} errors, "
                    f"{s['skipped']} skipped" + ("\n" + detail if detail else ""),
                    title="Import cancelled" if message.report.cancelled else "Import finished",
                    severity="warning" if problems else "information", timeout=10)
        self.action_reload()
