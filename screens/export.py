"""6 Export: a wizard from "this checkpoint" to "playing in Neovim".

One tab per step: Choose (run, checkpoint with its metrics, precisions with sizes estimated from
parameter counts, output folder, model card), Export (the resumable stages, live, with cancel),
Verify (parity per graph, the precision comparison, a blind test in the listening lab), Try
(generate from a bundle and play it) and Ship (the lofi.nvim snippet, Hub upload). Engine work runs
in thread workers that post typed messages; each step names the CLI command that does the same.
An unfinished export is read back from its folder, so leaving the dashboard never loses it.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from engine.errors import LofiError
from engine.export.choices import CheckpointInfo, RunChoice, checkpoint_info, run_choices
from engine.export.nvim import setup_snippet
from engine.export.precisions import PrecisionReport, load_comparison
from engine.export.publish import PublishPlan, publish_bundle, publish_plan
from engine.export.status import (
    CANCELLED,
    DONE,
    RUNNING,
    TRY_DIR,
    VERIFY_DIR,
    ExportRequest,
    ExportStatus,
    read_status,
    unfinished_exports,
)
from engine.inference.bundle import GRAPHS, PRECISIONS
from engine.inference.clip import Clip, ClipRequest, generate_clip
from engine.progress import CancelToken, Progress
from engine.workspace import display_path
from screens.base import LofiScreen

DEFAULT_PRECISIONS = ("fp32", "int8")  # fp32 is the reference the Verify step compares against


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


class RunsLoaded(Message):
    def __init__(self, runs: list[RunChoice], unfinished: list[ExportStatus]) -> None:
        super().__init__()
        self.runs, self.unfinished = runs, unfinished


class CheckpointLoaded(Message):
    def __init__(self, info: CheckpointInfo, comparison: list[PrecisionReport] | None) -> None:
        super().__init__()
        self.info, self.comparison = info, comparison


class ExportProgressed(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class ExportStarted(Message):
    """The export's stages as they stand when it starts (what will be reused)."""

    def __init__(self, status: ExportStatus) -> None:
        super().__init__()
        self.status = status


class ExportEnded(Message):
    """``error`` is "" when the export finished."""

    def __init__(self, status: ExportStatus, error: str) -> None:
        super().__init__()
        self.status, self.error = status, error


class Compared(Message):
    def __init__(self, reports: list[PrecisionReport]) -> None:
        super().__init__()
        self.reports = reports


class ClipMade(Message):
    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.clip = clip


class PlanLoaded(Message):
    def __init__(self, plan: PublishPlan) -> None:
        super().__init__()
        self.plan = plan


class Uploaded(Message):
    """Upload progress (``url`` None) or the end of the upload (``url`` set)."""

    def __init__(self, progress: Progress | None = None, url: str | None = None) -> None:
        super().__init__()
        self.progress, self.url = progress, url


class StepFailed(Message):
    """A worker's engine error, for the step named (choose, compare, try, publish)."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__()
        self.step, self.error = step, error


class ExportScreen(LofiScreen):
    TITLE = "6 Export"
    # priority: the keys work while a field has focus too (an Input would take ctrl+e and ctrl+x itself)
    BINDINGS = [
        Binding("ctrl+e", "export", "Export or resume", priority=True, id="export.start"),
        Binding("ctrl+x", "cancel", "Cancel export", priority=True, id="export.cancel"),
        Binding("ctrl+r", "compare", "Compare precisions", show=False, priority=True, id="export.compare"),
        Binding("ctrl+g", "try_clip", "Generate and play", show=False, priority=True, id="export.try"),
        Binding("ctrl+o", "publish", "Publish to the Hub", show=False, priority=True, id="export.publish"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, RunChoice] = {}
        self.chosen: tuple[str, int] | None = None  # the checkpoint shown (run, step)
        self.info: CheckpointInfo | None = None
        self.status: ExportStatus | None = None
        self.cancel_token: CancelToken | None = None
        self._starts: dict[str, float] = {}  # stage -> when it started in this export
        self._done: set[str] = set()

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="wizard", initial="choose"):
            with TabPane("1 Choose", id="choose"), VerticalScroll():
                with Horizontal(classes="row"):
                    yield Label("Run")
                    yield Select([], id="run", prompt="no run with a checkpoint", compact=True)
                    yield Label("Checkpoint")
                    yield Select([], id="step", prompt="-", compact=True)
                yield Static("", id="ckpt-info")
                yield Label("Precisions (size estimated from the base model's parameter counts):")
                with Horizontal(classes="row"):
                    for p in PRECISIONS:
                        yield Checkbox(p, p in DEFAULT_PRECISIONS, id=f"p-{p}", compact=True)
                with Horizontal(classes="row"):
                    yield Label("Output")
                    yield Input(id="out", compact=True,
                                placeholder="exports/<run>-step-<step>: filled in when a checkpoint is chosen")
                with Horizontal(classes="row"):
                    yield Label("Licence")
                    yield Input("other", id="license", compact=True)
                    yield Label("Base model id")
                    yield Input(id="base-id", placeholder="from the base model", compact=True)
                yield Button("Export (ctrl+e)", id="start", compact=True)
                yield Static("", id="choose-cli", classes="cli")
            with TabPane("2 Export", id="export"), VerticalScroll():
                yield Static("Choose a checkpoint first.", id="export-state")
                yield ProgressBar(id="export-progress", show_eta=False)
                with Horizontal(classes="row"):
                    yield Button("Export or resume (ctrl+e)", id="resume", compact=True)
                    yield Button("Cancel (ctrl+x)", id="cancel", compact=True)
                yield DataTable(id="stages", cursor_type="row")
            with TabPane("3 Verify", id="verify"), VerticalScroll():
                yield Label("Parity with PyTorch (max relative error per graph):")
                yield DataTable(id="parity", cursor_type="none")
                with Horizontal(classes="row"):
                    yield Label("Prompts")
                    yield Input("4", id="cmp-prompts", compact=True, type="integer")
                    yield Label("Seconds")
                    yield Input("10", id="cmp-seconds", compact=True, type="number")
                    yield Button("Compare precisions (ctrl+r)", id="compare", compact=True)
                yield DataTable(id="comparison", cursor_type="none")
                with Horizontal(classes="row"):
                    yield Label("Blind test: fp32 vs")
                    yield Select([], id="blind-with", prompt="-", compact=True)
                    yield Button("Start blind test", id="blind", compact=True)
            with TabPane("4 Try", id="try"), VerticalScroll():
                with Horizontal(classes="row"):
                    yield Label("Bundle")
                    yield Select([], id="try-bundle", prompt="-", compact=True)
                    yield Label("Seconds")
                    yield Input("10", id="try-seconds", compact=True, type="number")
                    yield Label("Seed")
                    yield Input("0", id="try-seed", compact=True, type="integer")
                with Horizontal(classes="row"):
                    yield Label("Prompt")
                    yield Input("lofi hip hop, chill, vinyl crackle, warm piano", id="try-prompt", compact=True)
                with Horizontal(classes="row"):
                    yield Label("BPM")
                    yield Input(id="try-bpm", placeholder="optional", compact=True, type="integer")
                    yield Label("Key")
                    yield Input(id="try-key", placeholder="optional, e.g. C major", compact=True)
                yield Button("Generate and play (ctrl+g)", id="try", compact=True)
                yield Static("", id="try-result")
            with TabPane("5 Ship", id="ship"), VerticalScroll():
                with Horizontal(classes="row"):
                    yield Label("Bundle")
                    yield Select([], id="ship-bundle", prompt="-", compact=True)
                    yield Button("Copy snippet", id="copy", compact=True)
                yield TextArea("", id="snippet", read_only=True, show_line_numbers=False)
                yield Static("", id="token")
                with Horizontal(classes="row"):
                    yield Label("Hub repo")
                    yield Input(id="repo", placeholder="you/lofi-v1-onnx", compact=True)
                    yield Checkbox("private", False, id="private", compact=True)
                    yield Button("Publish (ctrl+o)", id="publish", compact=True)
                yield ProgressBar(id="publish-progress", show_eta=False)
                yield Static("", id="publish-result")
                yield DataTable(id="files", cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        stages = self.query_one("#stages", DataTable)
        for key in ("stage", "state", "note"):
            stages.add_column(key, key=key)
        self.query_one("#parity", DataTable).add_columns("bundle", "size", *GRAPHS)
        self.query_one("#comparison", DataTable).add_columns("bundle", "size", "s / min audio", "FAD vs fp32",
                                                              "FAD-inf", "")
        self.query_one("#files", DataTable).add_columns("file", "size")
        self.query_one("#publish-progress", ProgressBar).display = False  # until an upload starts
        self.load_runs()

    def on_screen_resume(self) -> None:
        wanted = self.app.take_export_request()
        if wanted is not None:
            self.choose(*wanted)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"start": self.action_export, "resume": self.action_export, "cancel": self.action_cancel,
         "compare": self.action_compare, "blind": self.blind_test, "try": self.action_try_clip,
         "copy": self.copy_snippet, "publish": self.action_publish}[event.button.id]()

    def on_step_failed(self, message: StepFailed) -> None:
        target = {"try": "#try-result", "publish": "#publish-result"}.get(message.step)
        if target:
            self.query_one(target, Static).update(message.error)
        self.notify(message.error, title=f"Export wizard: {message.step}", severity="error")

    # -- 1 Choose -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="export-runs", exit_on_error=False, name="listing the runs")
    def load_runs(self) -> None:
        ws = self.app.workspace
        self.post_message(RunsLoaded(run_choices(ws), unfinished_exports(ws)))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.runs = {c.run: c for c in message.runs}
        self.query_one("#run", Select).set_options([(c.run, c.run) for c in message.runs])
        if self.chosen is not None:
            self.choose(*self.chosen)
        elif message.unfinished:  # an export left unfinished (failed, cancelled, killed) comes back first
            request = message.unfinished[0].request
            self.choose(request.run, request.step, message.unfinished[0].out)
        elif message.runs:
            self.choose(message.runs[0].run)

    def choose(self, run: str, step: int | None = None, out: Path | None = None) -> None:
        """Show a checkpoint (``step`` None: the run's default, the evaluated best or else the latest)."""
        choice = self.runs.get(run)
        if choice is None:
            self.chosen = (run, step)  # the runs are still loading: chosen once they are there
            return
        step = step if step in choice.steps else choice.default
        self.chosen = (run, step)
        self.query_one("#run", Select).value = run
        select = self.query_one("#step", Select)
        select.set_options([(f"step {s}" + ("  (best)" if s == choice.best else ""), s) for s in reversed(choice.steps)])
        select.value = step
        self.load_checkpoint(run, step, out)

    @on(Select.Changed, "#run")
    def _run_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and (self.chosen is None or event.value != self.chosen[0]):
            self.choose(event.value)

    @on(Select.Changed, "#step")
    def _step_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and self.chosen is not None and event.value != self.chosen[1]:
            self.choose(self.chosen[0], event.value)

    @on(Input.Submitted, "#out")
    def _out_changed(self, event: Input.Submitted) -> None:
        if self.chosen is not None and event.value.strip():
            self.load_checkpoint(*self.chosen, Path(event.value.strip()).expanduser())

    @work(thread=True, exclusive=True, group="export-checkpoint", exit_on_error=False, name="reading the checkpoint")
    def load_checkpoint(self, run: str, step: int, out: Path | None) -> None:
        try:
            info = checkpoint_info(self.app.workspace, run, step, out)
        except LofiError as exc:
            self.post_message(StepFailed("choose", str(exc)))
            return
        self.post_message(CheckpointLoaded(info, load_comparison(info.status.out / VERIFY_DIR)))

    def on_checkpoint_loaded(self, message: CheckpointLoaded) -> None:
        info = message.info
        if self.chosen != (info.run, info.step):
            return  # another checkpoint was picked meanwhile
        self.info = info
        lines = [f"{info.run} step {info.step}" + ("  (the evaluated best)" if info.best else ""),
                 metrics_line(info.metrics), f"base model: {display_path(info.base_model)}"]
        self.query_one("#ckpt-info", Static).update("\n".join(lines))
        for p in PRECISIONS:
            box = self.query_one(f"#p-{p}", Checkbox)
            box.label = f"{p} ~{_size(info.estimates[p])}" if p in info.estimates else p
        if info.estimate_error:
            self.notify(info.estimate_error, title="Size estimate", severity="warning")
        request = info.status.request
        if request is not None:  # an export of this checkpoint exists: show what it was asked for
            for p in PRECISIONS:
                self.query_one(f"#p-{p}", Checkbox).value = p in request.precisions
            self.query_one("#license", Input).value = request.license
            self.query_one("#base-id", Input).value = request.base_model_id or ""
        self.query_one("#out", Input).value = display_path(info.status.out)
        self._show_status(info.status, message.comparison)

    # -- 2 Export -----------------------------------------------------------------------------

    def _request(self) -> tuple[ExportRequest, Path]:
        if self.info is None or self.chosen != (self.info.run, self.info.step):
            raise LofiError("choose a run and a checkpoint first (1 Choose)")
        precisions = [p for p in PRECISIONS if self.query_one(f"#p-{p}", Checkbox).value]
        if not precisions:
            raise LofiError("tick at least one precision (1 Choose)")
        out_text = self.query_one("#out", Input).value.strip()
        out = Path(out_text).expanduser() if out_text else self.info.status.out
        return ExportRequest(self.info.run, self.info.step, precisions,
                             self.query_one("#license", Input).value.strip() or "other",
                             self.query_one("#base-id", Input).value.strip() or None), out

    def action_export(self) -> None:
        if self.cancel_token is not None:
            self.notify("an export is running; ctrl+x cancels it")
            return
        try:
            request, out = self._request()
        except LofiError as exc:
            self.notify(str(exc), title="Cannot export", severity="error")
            return
        self.cancel_token = CancelToken()
        self.query_one("#wizard", TabbedContent).active = "export"
        self.query_one("#export-state", Static).update(f"checking {display_path(out)}...")
        self.run_export(request, out, self.cancel_token)

    def action_cancel(self) -> None:
        if self.cancel_token is None:
            self.notify("no export is running")
            return
        self.cancel_token.cancel()
        self.query_one("#export-state", Static).update("cancelling: the running stage finishes first, then it stops")

    @work(thread=True, exclusive=True, group="export-run", exit_on_error=False, name="exporting")
    def run_export(self, request: ExportRequest, out: Path, cancel: CancelToken) -> None:
        from engine.export.exporter import export_checkpoint  # torch: only once an export runs

        self.post_message(ExportStarted(read_status(out, request)))
        error = None
        try:
            export_checkpoint(self.app.workspace, request.run, request.precisions, str(request.step), out,
                              request.license, request.base_model_id,
                              progress=lambda p: self.post_message(ExportProgressed(p)), cancel=cancel)
        except LofiError as exc:  # cancelled included; the status file says which
            error = str(exc)
        except Exception as exc:  # a stage failing in any way: recorded with its message, shown, resumable
            error = f"{type(exc).__name__}: {exc}"
        self.post_message(ExportEnded(read_status(out), error or ""))

    def on_export_progressed(self, message: ExportProgressed) -> None:
        """The exporter reports each stage as it starts and again as it ends."""
        label = message.progress.label
        table = self.query_one("#stages", DataTable)
        if label not in table.rows or label in self._done:
            return
        if label in self._starts:
            self._done.add(label)
            table.update_cell(label, "state", DONE)
            table.update_cell(label, "note", f"{time.monotonic() - self._starts[label]:.1f} s")
            self.query_one("#export-progress", ProgressBar).update(progress=len(self._done))
        else:
            self._starts[label] = time.monotonic()
            table.update_cell(label, "state", RUNNING)
            table.move_cursor(row=table.get_row_index(label))
            self.query_one("#export-state", Static).update(f"running: {label}  (ctrl+x cancels after this stage)")

    def on_export_started(self, message: ExportStarted) -> None:
        self._show_status(message.status, None)

    def on_export_ended(self, message: ExportEnded) -> None:
        self.cancel_token = None
        self._show_status(message.status, None)
        if message.error:
            self.notify(message.error, title="Export stopped",
                        severity="warning" if message.status.state == CANCELLED else "error")
        else:
            self.notify(f"exported to {display_path(message.status.out)}", title="Export")

    def _show_status(self, status: ExportStatus, comparison: list[PrecisionReport] | None) -> None:
        self.status = status
        table = self.query_one("#stages", DataTable)
        table.clear()
        for stage in status.stages:
            table.add_row(stage.label, stage.state, stage.message, key=stage.label)
        self._done = {s.label for s in status.stages if s.state == DONE}
        self._starts = {}
        self.query_one("#export-progress", ProgressBar).update(total=len(status.stages) or None,
                                                               progress=len(self._done))
        self.query_one("#export-state", Static).update(status_line(status, len(self._done)))
        self.query_one("#choose-cli", Static).update(cli_line(status, self.chosen))
        self._show_bundles(status)
        if comparison is not None:
            self._show_comparison(comparison)

    # -- 3 Verify -----------------------------------------------------------------------------

    def _bundles(self) -> dict[str, Path]:
        """Finished bundles of the export shown, by precision."""
        return {} if self.status is None else {p: self.status.out / p for p in self.status.manifests}

    def _show_bundles(self, status: ExportStatus) -> None:
        parity = self.query_one("#parity", DataTable)
        parity.clear()
        for precision, manifest in status.manifests.items():
            marks = []
            for name in GRAPHS:
                check = manifest["graphs"][name]["parity"]
                marks.append(f"{check['max_rel_error']:.1e} {'ok' if check['max_rel_error'] <= check['tolerance'] else 'FAIL'}")
            parity.add_row(precision, _size(manifest["size"]["total_bytes"]), *marks)
        bundles = list(status.manifests)
        for select_id, names in (("#try-bundle", bundles), ("#ship-bundle", bundles),
                                 ("#blind-with", [p for p in bundles if p != "fp32"])):
            select = self.query_one(select_id, Select)
            keep = select.value if select.value in names else next((p for p in ("int8", *names) if p in names), None)
            select.set_options([(p, p) for p in names])
            if keep is not None:
                select.value = keep

    def _show_comparison(self, reports: list[PrecisionReport]) -> None:
        table = self.query_one("#comparison", DataTable)
        table.clear()
        for r in reports:
            table.add_row(r.precision, _size(r.total_bytes),
                          "reused" if r.seconds_per_audio_minute is None else f"{r.seconds_per_audio_minute:.1f}",
                          "reference" if r.fad is None else f"{r.fad:.4f}",
                          "" if r.fad_inf is None else f"{r.fad_inf:.4f}",
                          r.fad_note or ("" if r.fad is None else f"{r.embedding}, {r.n_eval_frames} frames"))

    def action_compare(self) -> None:
        bundles = self._bundles()
        if len(bundles) < 2:
            self.notify("the comparison needs two finished bundles or more (fp32 is the reference)",
                        severity="warning")
            return
        try:
            prompts = int(self.query_one("#cmp-prompts", Input).value)
            seconds = float(self.query_one("#cmp-seconds", Input).value)
        except ValueError:
            self.notify("Prompts must be a whole number and Seconds a number", severity="error")
            return
        self.query_one("#wizard", TabbedContent).active = "verify"
        self.notify(f"rendering {prompts} prompt(s) x {seconds:g} s with {len(bundles)} bundles...", title="Verify")
        self.compare(list(bundles.values()), prompts, seconds, self.status.out / VERIFY_DIR)

    @work(thread=True, exclusive=True, group="export-compare", exit_on_error=False, name="comparing the precisions")
    def compare(self, bundles: list[Path], prompts: int, seconds: float, out: Path) -> None:
        from engine.export.precisions import compare_precisions
        from engine.metrics.embedders import load_embedder, models_dir

        ws = self.app.workspace
        try:
            embedder = load_embedder("builtin", models_dir(ws.root))
            reports = compare_precisions(bundles, prompts, out, embedder, ws.cache_dir / "embeddings", seconds)
        except LofiError as exc:
            self.post_message(StepFailed("compare", str(exc)))
            return
        self.post_message(Compared(reports))

    def on_compared(self, message: Compared) -> None:
        self._show_comparison(message.reports)
        self.notify("precision comparison done", title="Verify")

    def blind_test(self) -> None:
        bundles, other = self._bundles(), self.query_one("#blind-with", Select).value
        if "fp32" not in bundles or other not in bundles:
            self.notify("a blind test needs the fp32 bundle and a quantized one", severity="warning")
            return
        self.app.open_listening("preference", a=f"bundle:{bundles['fp32']}", b=f"bundle:{bundles[other]}")

    # -- 4 Try --------------------------------------------------------------------------------

    def action_try_clip(self) -> None:
        bundle = self._bundles().get(self.query_one("#try-bundle", Select).value)
        if bundle is None:
            self.notify("no finished bundle to try yet", severity="warning")
            return
        text = {k: self.query_one(f"#try-{k}", Input).value.strip() for k in ("prompt", "seconds", "seed", "bpm", "key")}
        try:
            request = ClipRequest(text["prompt"], float(text["seconds"]), int(text["seed"] or 0),
                                  int(text["bpm"]) if text["bpm"] else None, text["key"] or None)
        except ValueError:
            self.notify("Seconds, Seed and BPM must be numbers", severity="error")
            return
        self.query_one("#try-result", Static).update(f"generating {request.duration:g} s with the {bundle.name} bundle...")
        out = self.status.out / TRY_DIR / f"{bundle.name}-seed{request.seed}.wav"
        self.try_clip(bundle, request, out)

    @work(thread=True, exclusive=True, group="export-try", exit_on_error=False, name="generating a clip")
    def try_clip(self, bundle: Path, request: ClipRequest, out: Path) -> None:
        try:
            self.post_message(ClipMade(generate_clip(bundle, request, out)))
        except LofiError as exc:
            self.post_message(StepFailed("try", str(exc)))

    def on_clip_made(self, message: ClipMade) -> None:
        clip = message.clip
        self.query_one("#try-result", Static).update(
            f"{display_path(clip.path)}: {clip.duration:g} s made in {clip.seconds:.1f} s, "
            f"{clip.seconds_per_audio_minute:.1f} s per minute of audio ({clip.precision})")
        self.app.play(clip.path)

    # -- 5 Ship -------------------------------------------------------------------------------

    @on(Select.Changed, "#ship-bundle")
    def _ship_bundle_changed(self, event: Select.Changed) -> None:
        bundle = self._bundles().get(event.value)
        if bundle is not None:
            self.query_one("#snippet", TextArea).text = setup_snippet(bundle)
            self.load_publish_plan(bundle)

    @work(thread=True, exclusive=True, group="export-ship", exit_on_error=False, name="reading what would be published")
    def load_publish_plan(self, bundle: Path) -> None:
        try:
            self.post_message(PlanLoaded(publish_plan(bundle)))
        except LofiError as exc:
            self.post_message(StepFailed("publish", str(exc)))

    def on_plan_loaded(self, message: PlanLoaded) -> None:
        plan = message.plan
        files = self.query_one("#files", DataTable)
        files.clear()
        for name, size in plan.files:
            files.add_row(name, _size(size))
        files.add_row("total", _size(plan.total_bytes))
        self.query_one("#token", Static).update(plan.problem or f"Hugging Face token found ({plan.token_source})")

    def copy_snippet(self) -> None:
        self.app.copy_to_clipboard(self.query_one("#snippet", TextArea).text)
        self.notify("setup snippet copied (where the terminal supports it; it can also be selected)")

    def action_publish(self) -> None:
        bundle = self._bundles().get(self.query_one("#ship-bundle", Select).value)
        repo = self.query_one("#repo", Input).value.strip()
        if bundle is None or not repo:
            self.notify("pick a finished bundle and a Hub repo id (owner/name)", severity="warning")
            return
        self.query_one("#publish-result", Static).update(f"publishing {bundle.name} to {repo}...")
        self.publish(bundle, repo, self.query_one("#private", Checkbox).value)

    @work(thread=True, exclusive=True, group="export-publish", exit_on_error=False, name="publishing to the Hub")
    def publish(self, bundle: Path, repo: str, private: bool) -> None:
        try:
            url = publish_bundle(bundle, repo, private, progress=lambda p: self.post_message(Uploaded(p)))
        except LofiError as exc:
            self.post_message(StepFailed("publish", str(exc)))
            return
        self.post_message(Uploaded(url=url))

    def on_uploaded(self, message: Uploaded) -> None:
        result = self.query_one("#publish-result", Static)
        if message.url is not None:
            result.update(f"published: {message.url}")
            return
        p = message.progress
        bar = self.query_one("#publish-progress", ProgressBar)
        bar.display = True
        bar.update(total=p.total, progress=p.done)
        result.update(f"uploading {p.label} ({_size(p.done)} of {_size(p.total)})")


def metrics_line(metrics: dict | None) -> str:
    if not metrics:
        return "not evaluated yet (`lofi eval` scores it)"
    parts = [f"FAD {metrics['fad']:.3g}" if metrics.get("fad") is not None else None,
             f"FAD-inf {metrics['fad_inf']:.3g}" if metrics.get("fad_inf") is not None else None,
             f"CLAP {metrics['clap']:.3f}" if metrics.get("clap") is not None else None,
             f"distinctness {metrics['distinctness']:.2f}" if metrics.get("distinctness") is not None else None,
             f"combined {metrics['combined']:.3f}" if metrics.get("combined") is not None else None]
    return (", ".join(p for p in parts if p) + f" ({metrics.get('embedding')} embedding, {metrics.get('samples')} clips)")


def status_line(status: ExportStatus, done: int) -> str:
    where = display_path(status.out)
    if status.request is None:
        return f"{where}: not exported yet. ctrl+e exports."
    failed = next((s for s in status.stages if s.state == "failed"), None)
    text = {"done": "finished", "running": "running", "failed": f"failed at {failed.label if failed else '?'}",
            "cancelled": "cancelled", "interrupted": "interrupted (the process stopped)"}.get(status.state, status.state)
    hint = "" if status.state in ("done", "running") else "; ctrl+e continues from there"
    return f"{where}: {text}, {done} of {len(status.stages)} stages done{hint}"


def cli_line(status: ExportStatus, chosen: tuple[str, int] | None) -> str:
    """The command that does what the wizard does here."""
    r = status.request
    if r is None:
        run, step = chosen or ("RUN", "STEP")
        return f"CLI: lofi export --run {run} --checkpoint {step} --out {display_path(status.out)}"
    return (f"CLI: lofi export --run {r.run} --checkpoint {r.step} --precision {','.join(r.precisions)} "
            f"--out {display_path(status.out)} --license {r.license}")
