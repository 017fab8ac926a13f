"""1 Catalog: every track with sort, filter and search; details, a picture of the audio, import, playback, and
the curator's edits: source record and language, split, dataset build, removal.

The table is a line-API widget (only the visible rows are drawn), so 10,000 tracks load, filter and sort
in milliseconds; every filter or reload replaces its rows in one step, so the rows drawn and the detail
pane always describe the same list.
"""

from __future__ import annotations

import threading
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
from textual.worker import Worker, get_current_worker

from engine.catalog.query import TrackIndex, parse_query
from engine.catalog.remove import remove_track
from engine.catalog.sources import edit_source, make_record
from engine.catalog.split import DEFAULT_RATIO, DEFAULT_SEED, assign_splits, check_ratio
from engine.catalog.stats import catalog_stats, trains_unlicensed, unlicensed_note
from engine.catalog.store import Catalog
from engine.catalog.track import ACCEPTED, Track, short_flags
from engine.errors import AudioError, Cancelled, LofiError
from engine.labels.languages import VOCAL_LANGUAGES, check_language
from engine.labels.styles import Taxonomy, load_styles
from engine.progress import CancelToken, Progress
from lofi_tui.widgets.line_table import Column, LineTable
from lofi_tui.widgets.picture import render_picture
from screens.base import LofiScreen, StatusLine
from screens.dialogs import (
    ConfirmDialog,
    Field,
    FormDialog,
    FormValues,
    ImportDialog,
    ImportRequest,
    ReportDialog,
)

if TYPE_CHECKING:
    from engine.audio.picture import TrackPicture
    from engine.ingest.batch import IngestReport
    from engine.labels.dataset import DatasetReport

SOURCE_FIELDS = ("provider", "license", "cost", "currency", "acquired", "url", "notes")
JOBS = {"import": "importing", "dataset": "building the dataset"}  # long work on this screen, one at a time


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


FIRST_ROWS = 200  # more than a screenful at any terminal size


class CatalogLoaded(Message):
    """The tracks, indexed for the filter, and the status line's counts: the worker works both out (at 10,000
    tracks they cost the UI thread tens of milliseconds). The first rows of a large catalog come with ``shown``,
    set once they are on screen."""

    def __init__(self, index: TrackIndex, taxonomy: Taxonomy | None, summary: str,
                 shown: threading.Event | None = None) -> None:
        super().__init__()
        self.index, self.taxonomy, self.summary, self.shown = index, taxonomy, summary, shown


def catalog_summary(tracks: list[Track]) -> str:
    counts = {s: sum(t.status == s for t in tracks) for s in ("accepted", "rejected", "error")}
    summary = (f"{len(tracks)} tracks shown · {counts['accepted']} accepted · {counts['rejected']} rejected · "
               f"{counts['error']} errors")
    if unlicensed := sum(trains_unlicensed(t) for t in tracks):  # the trainer would only say so in train.log
        summary += f" · ⚠ {unlicensed} unlicensed (d)"
    return summary


class PictureReady(Message):
    """The waveform and spectrogram, or why there is none (a damaged file is shown, not a failure)."""

    def __init__(self, track_id: str, picture: TrackPicture | None, error: str | None = None) -> None:
        super().__init__()
        self.track_id, self.picture, self.error = track_id, picture, error


class JobProgress(Message):
    def __init__(self, job: str, progress: Progress) -> None:
        super().__init__()
        self.job, self.progress = job, progress


class IngestDone(Message):
    def __init__(self, report: IngestReport) -> None:
        super().__init__()
        self.report = report


class DatasetBuilt(Message):
    def __init__(self, report: DatasetReport) -> None:
        super().__init__()
        self.report = report


class Done(Message):
    """A quick edit finished: say ``text`` (severity as notify takes it) and reload the table."""

    def __init__(self, text: str, title: str, severity: str = "information") -> None:
        super().__init__()
        self.text, self.title, self.severity = text, title, severity


class DistributionScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,d,q", "dismiss", "Close", id="distribution.close")]

    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks

    def compose(self) -> ComposeResult:
        stats = catalog_stats(self.tracks, load_styles().ids)
        top = max(stats.by_style.values(), default=0) or 1
        text = Text()
        if note := unlicensed_note(self.tracks):
            text.append(f"⚠ {note}\n\n", style="bold yellow")
        text.append(f"Accepted tracks per primary style (mean {stats.mean_per_style})\n\n")
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
        Binding("e", "edit_source", "Source", id="catalog.edit"),
        Binding("d", "distribution", "Styles", id="catalog.distribution"),
        Binding("r", "reload", "Reload", show=False, id="catalog.reload"),
        Binding("t", "split", "Split train/validation", show=False, id="catalog.split"),
        Binding("b", "build_dataset", "Build dataset", show=False, id="catalog.dataset"),
        Binding("delete", "remove", "Remove from catalog", show=False, id="catalog.remove"),
        Binding("slash", "focus_filter", "Filter", show=False, id="catalog.filter"),  # the field is on screen
        # The status line says "escape cancels" beside the progress bar; the Footer keeps ? Help and q Quit in 80 columns.
        Binding("escape", "cancel_job", "Cancel", show=False, id="catalog.cancel"),
        Binding("escape", "leave_field", "Leave field", show=False, id="catalog.escape"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._index = TrackIndex(())
        self._detail_of: Track | None = None  # the track the detail pane shows
        self.taxonomy: Taxonomy | None = None  # with the tracks: the filter checks style names against it
        self._summary = "0 tracks shown · 0 accepted · 0 rejected · 0 errors"
        self._job: tuple[str, CancelToken] | None = None  # the long work running (import or dataset build)

    def compose(self) -> ComposeResult:
        self.action_reload()  # the worker reads the catalog while the widgets mount (its message comes after)
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

    @property
    def tracks(self) -> list[Track]:
        return self._index.tracks

    @property
    def table(self) -> LineTable[Track]:
        return self.query_one("#tracks", LineTable)

    # -- loading and filtering ------------------------------------------------------------

    def action_reload(self) -> None:
        self.load_catalog()

    @work(thread=True, exclusive=True, group="catalog-load", exit_on_error=False, name="loading the catalog")
    def load_catalog(self) -> None:
        catalog = Catalog(self.app.workspace.catalog_path)
        first = catalog.first(FIRST_ROWS)
        if len(first) == FIRST_ROWS:  # a large catalog: a screenful at once, then the whole of it
            shown = threading.Event()
            loading = f"the first {len(first)} tracks · loading the rest of the catalog..."
            self.post_message(CatalogLoaded(TrackIndex(first), None, loading, shown))  # style names: checked later
            # Parsing the rest holds the GIL, and the UI thread gets it back only every few milliseconds (the
            # switch interval): drawing the first rows took several times longer while it ran. So it waits until
            # they are drawn (at most a second: the rest loads even if this screen is not drawn meanwhile).
            worker = get_current_worker()
            for _ in range(20):
                if shown.wait(0.05) or worker.is_cancelled:
                    break
            if worker.is_cancelled:
                return
        tracks = catalog.all()
        self.post_message(CatalogLoaded(TrackIndex(tracks), load_styles(), catalog_summary(tracks)))

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        """What does not change while a person types a filter is worked out once per load."""
        self._index, self.taxonomy, self._summary = message.index, message.taxonomy, message.summary
        self._show_rows()
        if message.taxonomy is not None:  # the whole catalog is in
            self.app.keep_loaded()  # type: ignore[attr-defined]
        if message.shown is not None:
            self.call_after_refresh(message.shown.set)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._show_rows()  # filtering 10,000 tracks takes milliseconds: at every key, no debounce

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def _show_rows(self) -> None:
        query = parse_query(self.query_one("#filter", Input).value, self.taxonomy)
        shown = self._index.select(query)
        self.table.set_items(shown)
        line = f"{len(shown)} of {self._summary}"
        self.status(f"{'; '.join(query.problems)} · {line}" if query.problems else line)
        if shown:
            self._show_detail(self.table.highlighted)  # now, not at the table's message: one layout, not two
        else:
            detail = "The catalog is empty: press i to import audio."
            if self.tracks:
                detail = "No tracks match." + ("\n\n" + "\n".join(query.problems) if query.problems else "")
            self._detail_of = None
            self.query_one("#detail", Static).update(Text(detail))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    # -- details ----------------------------------------------------------------------------

    def _selected_track(self) -> Track | None:
        return self.table.highlighted

    @on(LineTable.Highlighted, "#tracks")
    def _highlighted(self, event: LineTable.Highlighted) -> None:
        self._show_detail(event.item)

    def _show_detail(self, track: Track | None) -> None:
        """The detail of ``track``, unless it shows it already (a filter or a reload that keeps the highlighted
        track neither redraws it nor decodes its audio again for the picture)."""
        if track is None or track == self._detail_of:  # the same track, or the same record loaded again
            return
        self._detail_of = track
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
        for label, value in (("URL     ", s.url), ("Notes   ", s.notes), ("Language ", t.language)):
            if value:
                text.append(label, style="bold")
                text.append(f"{value}\n")
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
        from engine.audio.io import decode  # numpy and soundfile: loaded here, not before the first screen
        from engine.audio.picture import track_picture

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
                sources = Path(request.sources).expanduser() if request.sources else None
                self.run_import(Path(request.path).expanduser(), request.retry_errors, sources)

        if self._busy():
            return
        self.app.push_screen(ImportDialog(), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_job":  # offered (palette, escape) only while long work runs
            return self._job is not None and not isinstance(self.focused, Input)
        return True

    def _busy(self) -> bool:
        """One long job at a time: the status bar shows one progress and escape cancels one thing."""
        if self._job is not None:
            self.notify(f"wait until {JOBS[self._job[0]]} has finished, or cancel it with escape",
                        severity="warning")
        return self._job is not None

    def _start_job(self, job: str, what: str) -> CancelToken:
        cancel = CancelToken()
        self._job = (job, cancel)
        self.refresh_bindings()
        self.query_one("#import-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#status-bar").add_class("busy")
        self.status(f"{JOBS[job]} {what} · escape cancels")
        return cancel

    def action_cancel_job(self) -> None:
        if self._job is not None:
            job, cancel = self._job
            cancel.cancel()
            self.status(f"cancelling: {JOBS[job]} stops after the work in progress...")

    def run_import(self, path: Path, retry_errors: bool = False, sources: Path | None = None) -> None:
        self._ingest(path, self._start_job("import", path.name), retry_errors, sources)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False, name="importing audio")
    def _ingest(self, path: Path, cancel: CancelToken, retry_errors: bool, sources: Path | None) -> None:
        from engine.ingest.batch import ingest  # scipy and friends: loaded when a person imports, not at start

        report = ingest(self.app.workspace, [path], jobs=None, sources=sources, retry_errors=retry_errors,
                        progress=lambda p: self.post_message(JobProgress("import", p)), cancel=cancel)
        self.post_message(IngestDone(report))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group in JOBS and event.worker.is_finished:
            self._job = None  # finished, failed or cancelled: the bar goes, escape stops offering it
            self.refresh_bindings()
            self.query_one("#status-bar").remove_class("busy")
            self._show_rows()  # the counts again, not "importing ... escape cancels" from a job that failed

    def on_job_progress(self, message: JobProgress) -> None:
        p = message.progress
        self.query_one("#import-progress", ProgressBar).update(total=p.total or None, progress=p.done)
        self.status(f"{JOBS[message.job]} {p.done}/{p.total or '?'} · {Path(p.label).name} · escape cancels")

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

    # -- the curator's edits: source record, split, dataset, removal ----------------------------

    def action_edit_source(self) -> None:
        """The ``lofi source`` record and the ``lofi label --language`` of the highlighted track, checked by the
        engine's own rules before the dialog closes."""
        track = self._selected_track()
        if track is None:
            self.notify("no track selected", severity="warning")
            return
        s = track.source
        fields = [Field("provider", "Provider", s.provider or "", "e.g. Bandcamp"),
                  Field("license", "License", s.license or "", "e.g. royalty-free, CC-BY-4.0"),
                  Field("cost", "Cost", "" if s.cost is None else f"{s.cost:g}", "e.g. 4.99"),
                  Field("currency", "Currency", s.currency or "", "e.g. USD"),
                  Field("acquired", "Acquired", s.acquired or "", "YYYY-MM-DD"),
                  Field("url", "URL", s.url or "", "where it was bought"),
                  Field("notes", "Notes", s.notes or "")]
        if track.status == ACCEPTED:  # only accepted tracks are labelled
            fields.append(Field("language", "Language", track.language or "", "vocal language: en, ja, ...",
                                choices=VOCAL_LANGUAGES))

        def check(values: FormValues) -> str | None:
            try:
                make_record({k: values[k] for k in SOURCE_FIELDS}, f"track {track.id[:8]}")
                if "language" in values:
                    check_language(str(values["language"]))
            except LofiError as exc:
                return str(exc)
            return None

        def save(values: FormValues | None) -> None:
            if values is not None:
                self.save_record(track, values)

        self.app.push_screen(FormDialog(f"Source record of {track.title} ({track.id[:8]})", fields,
                                        note="an empty field clears it", validate=check), save)

    @work(thread=True, group="catalog-edit", exit_on_error=False, name="saving the source record")
    def save_record(self, track: Track, values: FormValues) -> None:
        catalog = Catalog(self.app.workspace.catalog_path)
        edit_source(catalog, track.id, {k: values[k] for k in SOURCE_FIELDS})
        if "language" in values and check_language(str(values["language"])) != track.language:
            from engine.labels.labelling import LabelChange, apply_label

            apply_label(self.app.workspace, catalog, load_styles(), track.id,
                        LabelChange(language=str(values["language"])))
        self.post_message(Done(f"{track.title}: source record saved", "Saved"))

    def action_split(self) -> None:
        def check(values: FormValues) -> str | None:
            try:
                check_ratio(_number(float, values["ratio"], "Validation share"))
                _number(int, values["seed"], "Seed")
            except LofiError as exc:
                return str(exc)
            return None

        def split(values: FormValues | None) -> None:
            if values is not None:
                self.run_split(float(values["ratio"]), int(values["seed"]))

        self.app.push_screen(FormDialog(
            "Split accepted tracks into train and validation (lofi split)",
            [Field("ratio", "Validation", str(DEFAULT_RATIO), "share held out, 0 to 0.9"),
             Field("seed", "Seed", str(DEFAULT_SEED))],
            note="stratified by primary style; tracks that have a split keep it", enter="splits",
            validate=check), split)

    @work(thread=True, exclusive=True, group="catalog-edit", exit_on_error=False, name="splitting the catalog")
    def run_split(self, ratio: float, seed: int) -> None:
        report = assign_splits(Catalog(self.app.workspace.catalog_path), ratio=ratio, seed=seed)
        self.post_message(Done(report.result_line(), "Split"))

    def action_build_dataset(self) -> None:
        if self._busy():
            return

        def check(values: FormValues) -> str | None:
            return None if str(values["out"]).strip() else "Output folder: give the folder to write the dataset to"

        def build(values: FormValues | None) -> None:
            if values is not None:
                out = Path(str(values["out"]).strip()).expanduser()
                self._build(out, bool(values["allow_unlicensed"]), self._start_job("dataset", f"into {out.name}"))

        self.app.push_screen(FormDialog(
            "Build an ACE-Step training folder (lofi dataset build)",
            [Field("out", "Folder", str(self.app.workspace.root / "dataset"), paths=True),
             Field("allow_unlicensed", "Include tracks with no license recorded (warned)", False)],
            note="accepted, labelled tracks; the validation split goes to validation/", enter="builds",
            validate=check), build)

    @work(thread=True, exclusive=True, group="dataset", exit_on_error=False, name="building the dataset")
    def _build(self, out: Path, allow_unlicensed: bool, cancel: CancelToken) -> None:
        from engine.labels.dataset import build_dataset

        ws = self.app.workspace
        try:
            report = build_dataset(ws, Catalog(ws.catalog_path), load_styles(), out, allow_unlicensed=allow_unlicensed,
                                   progress=lambda p: self.post_message(JobProgress("dataset", p)), cancel=cancel)
        except Cancelled as exc:
            self.post_message(Done(str(exc), "Dataset build cancelled", "warning"))
            return
        self.post_message(DatasetBuilt(report))

    def on_dataset_built(self, message: DatasetBuilt) -> None:
        report = message.report
        lines = [report.result_line(), ""]
        lines += [f"{label} {text}".strip() for label, text in report.notes()]
        lines += ["", "Tracks per style:"] + [
            f"  {style:<10} {n:>4}" + ("  underrepresented" if style in report.underrepresented else "")
            for style, n in report.per_style.items()]
        self.app.push_screen(ReportDialog("Dataset built", lines))
        self.action_reload()  # tracks without a split got one

    def action_remove(self) -> None:
        track = self._selected_track()
        if track is None:
            self.notify("no track selected", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_remove(track)

        self.app.push_screen(ConfirmDialog(
            f"Remove {track.title} ({track.id[:8]}) from the catalog?\n\n"
            "Its record (labels, source record) and the workspace's copy (MP3, prompt and lyrics files, "
            "fingerprint) are deleted. The source file stays on disk:\n"
            f"{track.source_path}\n\nImporting it again brings it back as a new track.", "Remove"), answered)

    @work(thread=True, group="catalog-edit", exit_on_error=False, name="removing the track")
    def run_remove(self, track: Track) -> None:
        removed = remove_track(self.app.workspace, Catalog(self.app.workspace.catalog_path), track.id)
        self.post_message(Done(removed.result_line(), "Removed"))

    def on_done(self, message: Done) -> None:
        self.notify(message.text, title=message.title, severity=message.severity, timeout=10)  # type: ignore[arg-type]
        self.action_reload()


def _number(kind: type, value: object, name: str) -> float:
    """A number typed in a form, or a message naming the field (``float('abc')`` says nothing useful)."""
    try:
        return kind(str(value).strip())
    except ValueError:
        raise LofiError(f"{name}: {str(value).strip()!r} is not a {'whole ' if kind is int else ''}number") from None
