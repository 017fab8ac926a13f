"""1 Catalog: every track with sort, filter and search; details, a picture of the audio, import, playback.

The table is a line-API widget (only the visible rows are drawn), so 10,000 tracks load, filter and sort
in milliseconds; every filter or reload replaces its rows in one step, so the rows drawn and the detail
pane always describe the same list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Input, ProgressBar, Static
from textual.worker import Worker

from engine.audio.io import decode
from engine.audio.picture import TrackPicture, track_picture
from engine.catalog.query import parse_query
from engine.catalog.stats import catalog_stats
from engine.catalog.store import Catalog
from engine.catalog.track import Track, short_flags
from engine.errors import AudioError
from engine.labels.styles import load_styles
from engine.progress import CancelToken, Progress
from lofi_tui.widgets.line_table import Column, LineTable
from lofi_tui.widgets.picture import render_picture
from screens.base import LofiScreen, StatusLine
from screens.dialogs import ImportDialog, ImportRequest

if TYPE_CHECKING:
    from engine.ingest import IngestReport


COLUMNS: tuple[Column[Track], ...] = (
    Column("title", "Title", lambda t: t.title, lambda t: t.title.lower(), flex=3, minimum=12),
    Column("dur", "Len", lambda t: t.duration_text, lambda t: t.duration_sec or 0.0, width=5),
    Column("style", "Style", lambda t: t.primary_style or "-", lambda t: t.primary_style or "", width=9),
    Column("score", "Score", lambda t: str(round(t.quality_score or 0)), lambda t: t.quality_score or 0.0, width=5),
    Column("status", "Status", lambda t: f"{t.status}: {t.reason}" if t.reason else t.status,
           lambda t: (t.status, t.reason or ""), flex=2, minimum=8),
    Column("split", "Split", lambda t: "val" if t.split == "validation" else t.split, lambda t: t.split, width=5),
    Column("flags", "Flags", short_flags, lambda t: (len(t.flags), t.flags), flex=2, minimum=6),
)


class CatalogLoaded(Message):
    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks


class PictureReady(Message):
    """The waveform and spectrogram, or why there is none (a damaged file is shown, not a failure)."""

    def __init__(self, track_id: str, picture: TrackPicture | None, error: str | None = None) -> None:
        super().__init__()
        self.track_id, self.picture, self.error = track_id, picture, error


class IngestProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class IngestDone(Message):
    def __init__(self, report: IngestReport) -> None:
        super().__init__()
        self.report = report


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
        with VerticalScroll(classes="dialog"):
            yield Static(text)


class CatalogScreen(LofiScreen):
    TITLE = "1 Catalog"
    AUTO_FOCUS = "#tracks"  # number keys switch screens; "/" goes to the filter
    MAIN = "#tracks"
    BINDINGS = [
        Binding("space", "play", "Play", id="catalog.play"),
        Binding("i", "import", "Import", id="catalog.import"),
        Binding("d", "distribution", "Styles", id="catalog.distribution"),
        Binding("r", "reload", "Reload", id="catalog.reload"),
        Binding("slash", "focus_filter", "Filter", id="catalog.filter"),
        Binding("escape", "cancel_import", "Cancel import", id="catalog.cancel"),
        Binding("escape", "leave_field", "Leave field", show=False, id="catalog.escape"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tracks: list[Track] = []
        self._import_cancel: CancelToken | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: words  status:rejected  -flag:duplicate  style:CORE-01  split:train",
                    id="filter", compact=True)
        with Horizontal(id="catalog-body"):
            yield LineTable(COLUMNS, identity=lambda t: t.id, id="tracks")
            yield Static("Loading the catalog...", id="detail")
        with Horizontal(id="status-bar"):
            yield StatusLine(id="status-line")
            yield ProgressBar(id="import-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    @property
    def table(self) -> LineTable[Track]:
        return self.query_one("#tracks", LineTable)

    # -- loading and filtering ------------------------------------------------------------

    def action_reload(self) -> None:
        self.load_catalog()

    @work(thread=True, exclusive=True, group="catalog-load", exit_on_error=False, name="loading the catalog")
    def load_catalog(self) -> None:
        self.post_message(CatalogLoaded(Catalog(self.app.workspace.catalog_path).all()))

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        self.tracks = message.tracks
        self._show_rows()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._show_rows()  # filtering 10,000 tracks takes milliseconds: at every key, no debounce

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def _show_rows(self) -> None:
        query = parse_query(self.query_one("#filter", Input).value, load_styles())
        shown = [t for t in self.tracks if query.matches(t)]
        self.table.set_items(shown)
        counts = {s: sum(t.status == s for t in self.tracks) for s in ("accepted", "rejected", "error")}
        line = (f"{len(shown)} of {len(self.tracks)} tracks shown · {counts['accepted']} accepted · "
                f"{counts['rejected']} rejected · {counts['error']} errors")
        self.status(f"{'; '.join(query.problems)} · {line}" if query.problems else line)
        if not shown:
            detail = "The catalog is empty: press i to import audio."
            if self.tracks:
                detail = "No tracks match." + ("\n\n" + "\n".join(query.problems) if query.problems else "")
            self.query_one("#detail", Static).update(Text(detail))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    # -- details ----------------------------------------------------------------------------

    def _selected_track(self) -> Track | None:
        return self.table.highlighted

    @on(LineTable.Highlighted, "#tracks")
    def _highlighted(self, event: LineTable.Highlighted) -> None:
        track = event.item
        if track is None:
            return
        detail = self.query_one("#detail", Static)
        detail.update(self._detail_text(track))
        if track.output:
            self.make_picture(track, max(20, detail.size.width - 3))

    def _detail_text(self, t: Track, picture: Text | None = None) -> Text:
        s = t.source
        text = Text()
        text.append(f"{t.title}\n", style="bold")
        text.append(f"{t.id} · {t.source_format} · {t.category} · {t.status}{' (' + t.reason + ')' if t.reason else ''}\n")
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

    @work(thread=True, exclusive=True, group="picture", exit_on_error=False, name="drawing the waveform")
    def make_picture(self, track: Track, columns: int) -> None:
        try:
            decoded = decode(self.app.workspace.resolve(track.output))
        except AudioError as exc:
            self.post_message(PictureReady(track.id, None, str(exc)))
            return
        self.post_message(PictureReady(track.id, track_picture(decoded.samples, decoded.sample_rate, columns=columns)))

    def on_picture_ready(self, message: PictureReady) -> None:
        track = self._selected_track()
        if track is not None and track.id == message.track_id:
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
        def chosen(request: ImportRequest | None) -> None:
            if request and request.path:
                self.run_import(Path(request.path).expanduser(), request.retry_errors)

        self.app.push_screen(ImportDialog(), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_import":  # shown in the Footer only while an import runs
            return self._import_cancel is not None and not isinstance(self.focused, Input)
        return True

    def action_cancel_import(self) -> None:
        if self._import_cancel is not None:
            self._import_cancel.cancel()
            self.status("cancelling the import after the files in progress...")

    def run_import(self, path: Path, retry_errors: bool = False) -> None:
        self._import_cancel = CancelToken()
        self.refresh_bindings()
        self.query_one("#import-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#status-bar").add_class("busy")
        self.status(f"importing {path.name} · escape cancels")
        self._ingest(path, self._import_cancel, retry_errors)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False, name="importing audio")
    def _ingest(self, path: Path, cancel: CancelToken, retry_errors: bool) -> None:
        from engine.ingest import ingest  # scipy and friends: loaded when a person imports, not at start

        report = ingest(self.app.workspace, [path], jobs=None, retry_errors=retry_errors,
                        progress=lambda p: self.post_message(IngestProgress(p)), cancel=cancel)
        self.post_message(IngestDone(report))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "import" and event.worker.is_finished:
            self._import_cancel = None  # finished, failed or cancelled: the bar goes, escape stops offering it
            self.refresh_bindings()
            self.query_one("#status-bar").remove_class("busy")

    def on_ingest_progress(self, message: IngestProgress) -> None:
        p = message.progress
        self.query_one("#import-progress", ProgressBar).update(total=p.total or None, progress=p.done)
        self.status(f"importing {p.done}/{p.total or '?'} · {Path(p.label).name} · escape cancels")

    def on_ingest_done(self, message: IngestDone) -> None:
        report = message.report
        s = report.summary
        problems = [r for r in report.results if r.status in ("rejected", "error")
                    or (r.status == "skipped" and r.reason)]  # skipped, but it failed last time
        lines = [f"{Path(r.source).name}: {r.reason}" + (" (last time; tick retry to process it again)"
                                                         if r.status == "skipped" else "") for r in problems[:8]]
        lines += [f"{Path(r.source).name}: duplicate of {r.duplicate_of}" for r in report.results
                  if r.duplicate_of][:8]
        summary = (f"{s['accepted']} accepted ({s['duplicates']} duplicates), {s['rejected']} rejected, "
                   f"{s['error']} errors, {s['skipped']} skipped")
        self.notify(summary + ("\n" + "\n".join(lines) if lines else ""),
                    title="Import cancelled" if report.cancelled else "Import finished",
                    severity="warning" if problems or s["duplicates"] else "information", timeout=10)
        self.action_reload()
