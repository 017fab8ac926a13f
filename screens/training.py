"""3 Training: configure, start, stop, resume or attach to a run, and watch it live.

Runs are separate processes started in their own session, so closing the dashboard never stops
one. The live view follows ``metrics.jsonl`` with watchfiles in a worker; curves are decimated to
the chart's width (min/max per column), so 100,000 steps draw as fast as 100.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Header, Input, Label, Log, Select, Static
from textual_plotext import PlotextPlot

from engine.errors import LofiError
from engine.model.check import check_base_model, gpu_memory_gb, training_memory
from engine.training.config import TrainConfig
from engine.training.events import RunMetrics, follow_metrics, format_event, parse_lines
from engine.training.runs import (
    create_run,
    list_runs,
    new_run_name,
    request_stop,
    run_dir,
    start_run,
)
from engine.training.series import decimate_minmax, ema

FIELDS = (("run", "Run", ""), ("base_model", "Base model", ""), ("rank", "Rank", "64"), ("alpha", "Alpha", "32"),
          ("learning_rate", "LR", "1e-4"), ("max_steps", "Steps", "10000"), ("checkpoint_every", "Ckpt every", "2000"),
          ("sample_every", "Sample every", "0"), ("grad_clip", "Grad clip", "0.5"))
NUMERIC = {"rank": int, "alpha": float, "learning_rate": float, "max_steps": int, "checkpoint_every": int,
           "sample_every": int, "grad_clip": float}


class MetricsLines(Message):
    def __init__(self, run: str, lines: list[str]) -> None:
        super().__init__()
        self.run, self.lines = run, lines


class TrainingScreen(Screen):
    TITLE = "3 Training"
    AUTO_FOCUS = "#train-events"  # keep number keys for switching screens until a field is clicked
    BINDINGS = [
        Binding("ctrl+s", "start", "Start", id="training.start"),
        Binding("ctrl+x", "stop", "Stop", id="training.stop"),
        Binding("ctrl+r", "resume", "Resume", id="training.resume"),
        Binding("plus", "smoother", "Smoother", id="training.smoother"),
        Binding("minus", "rougher", "Rougher", id="training.rougher"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.metrics = RunMetrics()
        self.smoothing = 0.9
        self.following: str | None = None
        self._stop_follow = threading.Event()
        # Runs started from here are our children: poll them so a finished one does not linger as
        # a zombie that still looks alive (it would block resuming it).
        self._started: list[subprocess.Popen] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Grid(id="train-form"):
            for key, label, default in FIELDS:
                yield Label(label)
                value = self.app.base_model or "" if key == "base_model" else default
                yield Input(value, id=f"f-{key}", placeholder="blank: a new run-<date>-<time>" if key == "run" else "")
            yield Label("Precision")
            yield Select([("fp32", "fp32"), ("bf16", "bf16")], value="fp32", allow_blank=False, id="f-precision")
            yield Checkbox("rsLoRA", True, id="f-rslora")
            yield Checkbox("Grad. checkpointing", False, id="f-gradient_checkpointing")
            yield Label("Follow run")
            yield Select([], prompt="attach to a run", id="runs")
        with Vertical(id="train-body"):
            yield PlotextPlot(id="loss-chart")
            yield Static("No run attached: start one (ctrl+s) or pick one under Follow run.", id="train-stats")
            yield Log(id="train-events", max_lines=500)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#train-form", Grid).styles.grid_size_columns = 6
        self._refresh_runs()

    def on_unmount(self) -> None:
        self._stop_follow.set()

    def _reap(self) -> None:
        self._started = [p for p in self._started if p.poll() is None]

    def _refresh_runs(self) -> None:
        self._reap()
        runs = list_runs(self.app.workspace)
        self.query_one("#runs", Select).set_options([(f"{r.name} ({r.status}, step {r.step})", r.name) for r in runs])

    # -- start / stop / resume ----------------------------------------------------------------

    def _form_config(self) -> TrainConfig:
        values = {key: self.query_one(f"#f-{key}", Input).value.strip() for key, _, _ in FIELDS}
        try:
            numbers = {k: NUMERIC[k](values[k]) for k in NUMERIC}
        except ValueError as exc:
            raise LofiError(f"a number field is not a number ({exc})") from None
        if not values["base_model"]:
            raise LofiError("set the base model directory (a diffusers-format ACE-Step 1.5 checkpoint)")
        return TrainConfig(run=values["run"] or new_run_name(), base_model=str(Path(values["base_model"]).expanduser()),
                           workspace=str(self.app.workspace.root),
                           precision=str(self.query_one("#f-precision", Select).value),
                           rslora=self.query_one("#f-rslora", Checkbox).value,
                           gradient_checkpointing=self.query_one("#f-gradient_checkpointing", Checkbox).value,
                           **numbers)

    def action_start(self) -> None:
        try:
            config = self._form_config()
        except LofiError as exc:
            self.notify(str(exc), title="Cannot start", severity="error")
            return
        self.launch(config)

    @work(thread=True, exclusive=True, group="launch")
    def launch(self, config: TrainConfig) -> None:
        try:
            summary = check_base_model(config.base_model)  # fail fast with the remedy, before a run exists
            path = create_run(self.app.workspace, config)
            self.app.call_from_thread(self.notify, memory_note(summary, config), title="Memory")
            self._started.append(start_run(path, detach=True))
        except LofiError as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Cannot start", severity="error")
            return
        self.app.call_from_thread(self.attach_run, config.run)

    def action_stop(self) -> None:
        if not self.following:
            self.notify("no run attached")
            return
        self._reap()
        alive = request_stop(run_dir(self.app.workspace, self.following))
        self.notify(f"asked {self.following} to checkpoint and stop" if alive else f"{self.following} is not running")

    def action_resume(self) -> None:
        if not self.following:
            self.notify("pick a run under Follow run first")
            return
        self._reap()
        try:
            self._started.append(start_run(run_dir(self.app.workspace, self.following), detach=True))
            self.notify(f"resuming {self.following}")
        except LofiError as exc:
            self.notify(str(exc), severity="error")

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
        self.query_one("#train-events", Log).clear()
        self.follow(run, self._stop_follow)
        self._refresh_runs()

    @work(thread=True, exclusive=True, group="follow")
    def follow(self, run: str, stop: threading.Event) -> None:
        follow_metrics(run_dir(self.app.workspace, run), lambda lines: self.post_message(MetricsLines(run, lines)),
                       done=stop.is_set)

    def on_metrics_lines(self, message: MetricsLines) -> None:
        if message.run != self.following:
            return
        before = len(self.metrics.events)
        parse_lines(message.lines, self.metrics)
        log = self.query_one("#train-events", Log)
        for e in self.metrics.events[before:]:
            log.write_line(format_event(e))
        self._redraw()

    def action_smoother(self) -> None:
        self.smoothing = min(0.999, round(self.smoothing + 0.05, 3))
        self._redraw()

    def action_rougher(self) -> None:
        self.smoothing = max(0.0, round(self.smoothing - 0.05, 3))
        self._redraw()

    def _redraw(self) -> None:
        steps = sorted(self.metrics.steps)
        chart = self.query_one("#loss-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.title(f"loss: {self.following or '-'} (smoothing {self.smoothing:g})")
        stats = self.query_one("#train-stats", Static)
        if not steps:
            chart.refresh()
            stats.update(f"{self.following}: waiting for the first step...")
            return
        x = np.array(steps, dtype=np.float64)
        loss = np.array([self.metrics.steps[s]["loss"] for s in steps])
        width = max(10, chart.size.width - 10)
        raw = decimate_minmax(x, loss, width)
        smoothed = ema(loss, self.smoothing)
        smooth = decimate_minmax(x, smoothed, width)
        plt.plot(raw.x.tolist(), raw.high.tolist(), color="gray", marker="braille")
        plt.plot(raw.x.tolist(), raw.low.tolist(), color="gray", marker="braille")
        plt.plot(smooth.x.tolist(), ((smooth.low + smooth.high) / 2).tolist(), color="cyan", marker="braille")
        chart.refresh()
        last = self.metrics.steps[steps[-1]]
        recent = [self.metrics.steps[s]["step_time"] for s in steps[-50:]]
        rate = 1.0 / float(np.median(recent)) if recent and np.median(recent) > 0 else 0.0
        max_steps = TrainConfig.load(run_dir(self.app.workspace, self.following)).max_steps
        eta = (max_steps - steps[-1]) / rate if rate else float("inf")
        stats.update(
            f"step {steps[-1]}/{max_steps}  loss {last['loss']:.4f} (smoothed {smoothed[-1]:.4f})  "
            f"lr {last['lr']:.2e}  grad {last['grad_norm']:.3f}\n"
            f"{rate:.2f} steps/s  ETA {_eta(eta)}  memory {last.get('memory_mb', 0):.0f} MB")


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
