"""``lofi train`` and ``lofi runs``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from engine.model.check import check_base_model
from engine.training.config import Setting, TrainConfig, settings
from engine.training.events import follow_metrics, format_event, parse_lines
from engine.training.runs import (
    create_run,
    list_runs,
    new_run_name,
    request_stop,
    run_dir,
    run_info,
    start_run,
)
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, stderr, stdout


def _follow(path: Path, proc) -> int:
    """Print step lines and events as the run writes them, until its process exits."""

    def show(lines: list[str]) -> None:
        m = parse_lines(lines)
        for step, rec in m.steps.items():
            stderr.print(f"step {step}  loss {rec['loss']:.4f}  lr {rec['lr']:.2e}  "
                         f"grad {rec['grad_norm']:.3f}  {rec['step_time']:.2f}s", highlight=False, markup=False)
        for e in m.events:
            stderr.print(format_event(e), highlight=False, markup=False)

    try:
        follow_metrics(path, show, done=lambda: proc.poll() is not None)
        return proc.wait()
    except KeyboardInterrupt:
        stderr.print("stopping: finishing the current step and saving a checkpoint...")
        request_stop(path)
        return proc.wait()


def _config_option(s: Setting):
    """The click option for one TrainConfig setting, from its metadata (defaults and ranges live there)."""
    name = s.name
    if s.type is bool:
        if s.default:
            return click.option(f"{s.flag}/--no-{s.flag[2:]}", name, default=True, show_default=True, help=s.help)
        return click.option(s.flag, name, is_flag=True, help=s.help)
    if s.type is list:
        return click.option(s.flag, name, default=",".join(s.default), show_default=True, help=s.help)
    if name == "max_steps":  # unset means "keep the run's own" on resume
        return click.option(s.flag, name, type=int, default=None,
                            help=f"{s.help} [default: {s.default}]")
    if s.choices:
        kind = click.Choice(list(s.choices))
    elif s.type is int:
        kind = click.IntRange(min=None if s.minimum is None else int(s.minimum),
                              max=None if s.maximum is None else int(s.maximum))
    elif s.type is float:
        kind = click.FloatRange(min=0.0 if s.positive else s.minimum, max=s.maximum, min_open=s.positive)
    else:
        kind = s.type
    return click.option(s.flag, name, type=kind, default=s.default, show_default=True, help=s.help)


def config_options(command):
    """Add an option for every TrainConfig setting that has a CLI flag."""
    for s in reversed([s for s in settings() if s.flag]):
        command = _config_option(s)(command)
    return command


@main.command("train")
@click.option("--run", "run_name", help="Run name [default: a new timestamped run].")
@click.option("--base-model", type=click.Path(path_type=Path), envvar="LOFI_BASE_MODEL",
              help="Local ACE-Step 1.5 diffusers checkpoint (or $LOFI_BASE_MODEL).")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), help="Folder from `lofi dataset build`.")
@config_options
@click.option("--resume", is_flag=True, help="Continue RUN from its last valid checkpoint.")
@click.option("--from-checkpoint", type=int, default=None, help="Resume from this step's checkpoint.")
@click.option("--stop", is_flag=True, help="Ask RUN to checkpoint and exit.")
@click.option("--detach", is_flag=True, help="Start in the background and return.")
@click.pass_context
def train_cmd(ctx: click.Context, run_name: str | None, base_model: Path | None, dataset: Path | None,
              max_steps: int | None, resume: bool, from_checkpoint: int | None, stop: bool, detach: bool,
              target_modules: str, **options) -> None:
    """Train a LoRA in a separate process; re-running the same command resumes it."""
    ws = workspace_of(ctx)
    if stop or resume or from_checkpoint is not None:
        if not run_name:
            raise click.UsageError("--stop, --resume and --from-checkpoint need --run NAME")
    if stop:
        alive = request_stop(run_dir(ws, run_name))
        stderr.print(f"asked run {run_name} to stop" + ("" if alive else " (it is not running)"))
        return
    name = run_name or new_run_name()
    path = run_dir(ws, name)
    if (path / "config.json").exists():
        config = TrainConfig.load(path)
        if max_steps is not None and max_steps != config.max_steps:
            config.max_steps = max_steps
            config.validate()
            config.save(path)
        stderr.print(f"resuming run {name} with its saved settings (step {run_info(path).step} of {config.max_steps})")
    elif resume or from_checkpoint is not None:
        raise click.UsageError(f"run {name} does not exist in {ws.root}")
    else:
        if base_model is None:
            raise click.UsageError("--base-model DIR is required for a new run (or set $LOFI_BASE_MODEL)")
        check_base_model(base_model)  # fail fast, before the run directory exists
        if max_steps is not None:
            options["max_steps"] = max_steps
        config = TrainConfig(run=name, base_model=str(Path(base_model).resolve()), workspace=str(ws.root),
                             dataset=str(dataset.resolve()) if dataset else None,
                             target_modules=[t.strip() for t in target_modules.split(",") if t.strip()], **options)
        create_run(ws, config)
        stderr.print(f"created run {name} in {path}")
    proc = start_run(path, from_checkpoint=from_checkpoint, detach=detach)
    if detach:
        stderr.print(f"training in the background (pid {proc.pid}); follow {path / 'metrics.jsonl'}, "
                     f"stop with `lofi train --run {name} --stop`")
        return
    code = _follow(path, proc)
    if code != 0:
        log = (path / "train.log").read_text(errors="replace").strip().splitlines()
        errors = [line for line in log if line.startswith("error:")]
        stderr.print(errors[-1] if errors else f"training exited with status {code}; see {path / 'train.log'}")
        raise SystemExit(1)


@main.command("runs")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_cmd(ctx: click.Context, as_json: bool) -> None:
    """Training runs with their status, step, last loss and checkpoints."""
    runs = list_runs(workspace_of(ctx))
    if as_json:
        emit_json({"runs": runs})
        return
    table = Table(title="Runs")
    for col in ("run", "status", "step", "loss", "checkpoints"):
        table.add_column(col)
    for r in runs:
        loss = f"{r.last_loss:.4f}" if r.last_loss is not None else "-"
        table.add_row(r.name, r.status, f"{r.step}/{r.max_steps}", loss,
                      ", ".join(map(str, r.checkpoints)) or "-")
    stdout.print(table)
