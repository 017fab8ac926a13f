"""3 Training: configure, start, stop, resume or attach to a run, and watch it live.

The form is generated from :class:`TrainConfig`'s field metadata (labels, defaults, ranges): no second list
of settings here. Runs are separate processes started in their own session, so closing the dashboard never
stops one; opening it again re-attaches to a running run. Children this dashboard started are reaped once a
second, so a stopped run never lingers as a zombie. The live view follows ``metrics.jsonl`` with watchfiles
in a worker; curves are decimated to the chart's width (min/max per column), so 100,000 steps draw as fast
as 100.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, Footer, Header, Input, Label, Log, Select, Static

from engine.catalog.split import split_unassigned
from engine.catalog.stats import trains_unlicensed, unlicensed_note
from engine.catalog.store import Catalog
from engine.errors import LofiError
from engine.model.check import check_base_model, gpu_memory_gb, training_memory
from engine.training.checkpoints import list_checkpoints
from engine.training.config import Setting, TrainConfig, TrainConfigError, settings
from engine.training.events import RunMetrics, follow_metrics, format_event, parse_lines
from engine.training.runs import (
    create_run,
    list_runs,
    new_run_name,
    request_stop,
    run_dir,
    run_status,
    start_run,
)
from engine.training.series import SmoothedSeries, decimate_minmax
from engine.workspace import display_path
from lofi_tui.widgets.chart import BrailleChart, Series
from screens.base import LofiScreen, StatusLine

FORM = tuple(s for s in settings() if s.label)
SMOOTHING = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
LARGE_LOAD = 1000  # metrics lines in one batch
SIDE_CHARTS = (("#lr-chart", "lr", "learning rate"), ("#grad-chart", "grad_norm", "grad norm"))


class MetricsLines(Message):
    def __init__(self, run: str, lines: list[str]) -> None:
        super().__init__()
        self.run, self.lines = run, lines


class RunLaunched(Message):
    def __init__(self, config: TrainConfig, process: subprocess.Popen, split_note: str | None = None,
                 warning: str | None = None) -> None:
        super().__init__()
        self.config, self.process, self.split_note, self.warning = config, process, split_note, warning


class LicenseNote(Message):
    """How many tracks a run on the workspace would train on without a license."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


def parse_setting(setting: Setting, text: str) -> object:
    """The form's text as the setting's type; the error names the field as the form labels it."""
    text = text.strip()
    if setting.type is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    if setting.type is int:
        try:
            return int(text)
        except ValueError:
            raise TrainConfigError(f"{setting.label}: {text!r} is not a whole number") from None
    if setting.type is float:
        try:
            return float(text)
        except ValueError:
            raise TrainConfigError(f"{setting.label}: {text!r} is not a number") from None
    return text


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _shown(setting: Setting, value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if setting.name == "base_model" and value:
        return str(display_path(Path(str(value))))
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class TrainingScreen(LofiScreen):
    TITLE = "3 Training"
    AUTO_FOCUS = "#loss-chart"  # keep number keys for switching screens until a field is clicked
    MAIN = "#loss-chart"
    BINDINGS = [
        Binding("ctrl+s", "start", "Start", priority=True, id="training.start"),
        Binding("ctrl+x", "stop", "Stop", priority=True, id="training.stop"),
        Binding("ctrl+r", "resume", "Resume", priority=True, id="training.resume"),
        Binding("plus", "smoother", "Smoother", show=False, id="training.smoother"),
        Binding("minus", "rougher", "Rougher", show=False, id="training.rougher"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.metrics = RunMetrics()
        self.smoothing = SMOOTHING.index(0.9)
        self._smoothed_loss = SmoothedSeries()
        self.following: str | None = None
        self.config: TrainConfig | None = None  # the attached run's settings
        self.status = ""  # the attached run's status: running, stopped, finished, ...
        self.checkpoints: list[int] = []
        self._stop_follow = threading.Event()
        # Runs started from here are our children: poll them so a finished one does not linger as a zombie.
        self._started: list[subprocess.Popen] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="train-form"):
            for s in FORM:
                yield Label(s.label or "", markup=False)
                widget_id = f"f-{s.name}"
                if s.type is bool:
                    yield Checkbox(_on_off(bool(s.default)), bool(s.default), id=widget_id, compact=True,
                                   tooltip=s.help)
                elif s.choices:
                    yield Select([(c, c) for c in s.choices], value=s.default, allow_blank=False, id=widget_id,
                                 compact=True)
                else:
                    value = self.app.base_model if s.name == "base_model" else s.default
                    yield Input(_shown(s, value), id=widget_id, compact=True, tooltip=s.help,
                                placeholder="blank: a new run-<date>-<time>" if s.name == "run" else "")
            yield Label("Follow run")
            yield Select([], prompt="attach to a run", id="runs", compact=True, classes="wide")
        with Horizontal(id="train-body"):
            yield BrailleChart(id="loss-chart")
            with Vertical(id="side-charts"):
                yield BrailleChart(id="lr-chart")
                yield BrailleChart(id="grad-chart")
        yield Static("No run attached: start one (ctrl+s) or pick one under Follow run.", id="train-stats")
        yield Log(id="train-events", max_lines=500)
        yield StatusLine(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#f-base_model").add_class("wide")
        self._redraw()  # chart titles before any run is attached
        self._refresh_runs(attach_running=True)
        self.set_interval(1.0, self._poll_processes)
        self.check_licenses()

    def on_screen_resume(self) -> None:
        self.check_licenses()  # licenses may have been recorded on the Catalog since

    @work(thread=True, exclusive=True, group="licenses", exit_on_error=False, name="checking licenses")
    def check_licenses(self) -> None:
        """Say before a run starts what the trainer would otherwise only write to train.log."""
        tracks = Catalog(self.app.workspace.catalog_path).all()
        self.post_message(LicenseNote(sum(trains_unlicensed(t) for t in tracks)))

    def on_license_note(self, message: LicenseNote) -> None:
        """One short line that fits 80 columns; the Catalog's ``d`` names the tracks, starting a run says it all."""
        n = message.count
        line = self.query_one(StatusLine)
        line.update(f"⚠ {n} track{'s' if n > 1 else ''} to train on {'have' if n > 1 else 'has'} no license "
                    "(on Catalog: d lists, e records)" if n else "")
        line.set_class(bool(n), "warning")

    def on_unmount(self) -> None:
        self._stop_follow.set()

    # -- runs and processes -----------------------------------------------------------------

    def _poll_processes(self) -> None:
        """Reap our finished children; when the attached run starts, stops or ends, show it."""
        self._started = [p for p in self._started if p.poll() is None]
        if self.following and run_status(run_dir(self.app.workspace, self.following), self.metrics) != self.status:
            self._update_status()
            self._refresh_runs()

    def _update_status(self) -> None:
        if self.following:
            path = run_dir(self.app.workspace, self.following)
            self.status = run_status(path, self.metrics)
            self.checkpoints = list_checkpoints(path)
            self._redraw()

    def _refresh_runs(self, attach_running: bool = False) -> None:
        runs = list_runs(self.app.workspace)
        picker = self.query_one("#runs", Select)
        picker.set_options([(f"{r.name} ({r.status}, step {r.step}/{r.max_steps})", r.name) for r in runs])
        if self.following in {r.name for r in runs}:  # new options clear the choice: show the attached run again
            picker.value = self.following
        running = [r for r in runs if r.status == "running"]
        if attach_running and running and self.following is None:
            picker.value = running[-1].name

    # -- start / stop / resume ----------------------------------------------------------------

    def _form_config(self) -> TrainConfig:
        values: dict[str, object] = {}
        for s in FORM:
            widget = self.query_one(f"#f-{s.name}")
            values[s.name] = widget.value if isinstance(widget, (Checkbox, Select)) else parse_setting(s, widget.value)
        if not values["base_model"]:
            raise TrainConfigError("Base model: set the directory of a diffusers-format ACE-Step 1.5 checkpoint")
        values["run"] = values["run"] or new_run_name()
        values["base_model"] = str(Path(str(values["base_model"])).expanduser().resolve())
        config = TrainConfig(workspace=str(self.app.workspace.root), **values)
        config.validate()
        return config

    def action_start(self) -> None:
        try:
            config = self._form_config()
        except LofiError as exc:
            self.notify(str(exc), title="Cannot start", severity="error")
            return
        self.query_one("#loss-chart").focus()
        self.launch(config)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False, name="starting a run")
    def launch(self, config: TrainConfig) -> None:
        summary = check_base_model(config.base_model)  # fail fast with the remedy, before a run exists
        note = warning = None
        if config.dataset is None:  # tracks accepted since the last `lofi split` get a split, and we say so
            catalog = Catalog(self.app.workspace.catalog_path)
            note = split_unassigned(catalog).summary() or None
            warning = None if config.require_license else unlicensed_note(catalog.all())
        path = create_run(self.app.workspace, config)
        note = "\n".join(filter(None, (note, memory_note(summary, config))))
        self.post_message(RunLaunched(config, start_run(path, detach=True), note, warning))

    def on_run_launched(self, message: RunLaunched) -> None:
        self._started.append(message.process)
        if message.split_note:
            self.notify(message.split_note, title="Starting")
        if message.warning:  # the run goes on, as `lofi train` does; the person hears it now, not in train.log
            self.notify(message.warning, title="Training on unlicensed tracks", severity="warning", timeout=15)
        self.app.show_model(message.config.base_model)
        self.attach_run(message.config.run)

    def action_stop(self) -> None:
        if not self.following:
            self.notify("no run attached: pick one under Follow run")
            return
        alive = request_stop(run_dir(self.app.workspace, self.following))
        self.notify(f"asked {self.following} to checkpoint and stop" if alive else f"{self.following} is not running")

    def action_resume(self) -> None:
        if not self.following:
            self.notify("pick a run under Follow run first")
            return
        path = run_dir(self.app.workspace, self.following)
        try:
            steps = parse_setting(next(s for s in FORM if s.name == "max_steps"),
                                  self.query_one("#f-max_steps", Input).value)
            config = TrainConfig.load(path)
            if steps != config.max_steps:  # resume with a new max steps: the run goes on to it
                config.max_steps = int(steps)
                config.validate()
                config.save(path)
            self._started.append(start_run(path, detach=True))
        except LofiError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error")
            return
        self.config = config
        self.notify(f"resuming {self.following} to step {config.max_steps}")
        self._update_status()

    @on(Checkbox.Changed, "#train-form Checkbox")
    def _say_on_or_off(self, event: Checkbox.Changed) -> None:
        """A compact checkbox's X is drawn either way (only its colour changes): the label says which."""
        event.checkbox.label = _on_off(event.value)

    @on(Select.Changed, "#runs")
    def _run_picked(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.following:
            self.attach_run(event.value)

    # -- following --------------------------------------------------------------------------

    def attach_run(self, run: str) -> None:
        self._stop_follow.set()
        self._stop_follow = threading.Event()
        self.following = run
        self.metrics = RunMetrics()
        path = run_dir(self.app.workspace, run)
        config = self.config = TrainConfig.load(path)
        for s in FORM:  # the form shows the attached run's settings
            widget = self.query_one(f"#f-{s.name}")
            value = getattr(config, s.name)
            if isinstance(widget, (Checkbox, Select)):
                widget.value = value
            else:
                widget.value = _shown(s, value)
        self.app.show_model(config.base_model)
        self.query_one("#train-events", Log).clear()
        self.follow(run, self._stop_follow)
        self._refresh_runs()
        self._update_status()

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, name="following the run")
    def follow(self, run: str, stop: threading.Event) -> None:
        follow_metrics(run_dir(self.app.workspace, run), lambda lines: self.post_message(MetricsLines(run, lines)),
                       done=stop.is_set)

    def on_metrics_lines(self, message: MetricsLines) -> None:
        if message.run != self.following:
            return
        before = len(self.metrics.events)
        parse_lines(message.lines, self.metrics)
        if len(message.lines) >= LARGE_LOAD:  # attached to a long run
            self.app.keep_loaded()  # type: ignore[attr-defined]
        log = self.query_one("#train-events", Log)
        for e in self.metrics.events[before:]:
            log.write_line(format_event(e))
        if len(self.metrics.events) > before:
            self._update_status()  # an event can change the run's status (stopped, finished)
        else:
            self._redraw()

    def action_smoother(self) -> None:
        self.smoothing = min(len(SMOOTHING) - 1, self.smoothing + 1)
        self._redraw()

    def action_rougher(self) -> None:
        self.smoothing = max(0, self.smoothing - 1)
        self._redraw()

    def _redraw(self) -> None:
        chart = self.query_one("#loss-chart", BrailleChart)
        smoothing = SMOOTHING[self.smoothing]
        title = f"loss: {self.following or '-'} (smoothing {smoothing:g})"
        stats = self.query_one("#train-stats", Static)
        if not self.metrics.steps or self.config is None:
            chart.plot(title)
            for chart_id, _, small_title in SIDE_CHARTS:
                self.query_one(chart_id, BrailleChart).plot(small_title)
            stats.update(Text(f"{self.following}: waiting for the first step..." if self.following else
                              "No run attached: start one (ctrl+s) or pick one under Follow run."))
            return
        x, loss = self.metrics.column("step"), self.metrics.column("loss")
        width = max(10, chart.size.width * 2)  # two braille dots per cell
        raw = decimate_minmax(x, loss, width)
        smoothed = self._smoothed_loss(loss, smoothing)
        smooth = decimate_minmax(x, smoothed, width)
        chart.plot(title, [Series(raw.x, raw.high, "grey50"), Series(raw.x, raw.low, "grey50"),
                           Series(smooth.x, (smooth.low + smooth.high) / 2, "cyan")])
        for chart_id, key, small_title in SIDE_CHARTS:
            small = self.query_one(chart_id, BrailleChart)
            series = decimate_minmax(x, self.metrics.column(key), max(10, small.size.width * 2))
            small.plot(small_title, [Series(series.x, series.high, "green")])
        last = self.metrics.steps[int(x[-1])]
        max_steps = self.config.max_steps
        line = (f"{self.following} {self.status} · step {int(x[-1])}/{max_steps}  loss {last['loss']:.4f} "
                f"(smoothed {smoothed[-1]:.4f})")
        second = f"lr {last['lr']:.2e}  grad {last['grad_norm']:.3f}"
        if self.status == "running":
            recent = self.metrics.column("step_time")[-50:]
            rate = 1.0 / float(np.median(recent)) if recent.size and np.median(recent) > 0 else 0.0
            eta = (max_steps - int(x[-1])) / rate if rate else float("inf")
            second += f"  {rate:.2f} steps/s  ETA {_eta(eta)}  memory {last.get('memory_mb', 0):.0f} MB"
        else:
            second += "  · ctrl+r resumes; a new Steps value extends the run"
        ckpts = ", ".join(map(str, self.checkpoints)) or "none yet"
        # three lines that never wrap: at 80 columns a wrapped line pushed the checkpoints out of the box
        stats.update(Text(f"{line}\n{second}\ncheckpoints: {ckpts}", no_wrap=True, overflow="ellipsis"))


def memory_note(summary, config: TrainConfig) -> str:
    """The run's estimated GPU peak (as `lofi model check` computes it) against the detected GPU."""
    estimate = training_memory(summary, config.rank, tuple(config.target_modules), config.precision, config.crop_sec,
                               config.batch_size, config.gradient_checkpointing)
    gpu = gpu_memory_gb()
    verdict = "no NVIDIA GPU detected" if gpu is None else (
        f"fits this {gpu} GB GPU" if estimate.peak_gb <= gpu else f"does NOT fit this {gpu} GB GPU")
    return f"{summary.variant.name} model: about {estimate.peak_gb} GB of GPU memory at peak; {verdict}"


def _eta(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "-"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{sec:02d}s"
