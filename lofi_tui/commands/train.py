"""``lofi train`` and ``lofi runs``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from engine.model.check import check_base_model
from engine.training.config import DEFAULT_TARGETS, TrainConfig
from engine.training.events import parse_lines
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
    metrics_path = path / "metrics.jsonl"
    offset = 0
    try:
        while True:
            done = proc.poll() is not None
            if metrics_path.exists():
                with open(metrics_path, encoding="utf-8") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
                complete = chunk[: chunk.rfind("\n") + 1]
                offset += len(complete.encode("utf-8"))
                for line in complete.splitlines():
                    m = parse_lines([line])
                    for step, rec in m.steps.items():
                        stderr.print(f"step {step}  loss {rec['loss']:.4f}  lr {rec['lr']:.2e}  "
                                     f"grad {rec['grad_norm']:.3f}  {rec['step_time']:.2f}s", highlight=False)
                    for e in m.events:
                        extra = {k: v for k, v in e.items() if k not in ("type", "event", "step", "time")}
                        stderr.print(f"[bold]{e['event']}[/] at step {e['step']} {extra or ''}", highlight=False)
            if done:
                return proc.returncode
            time.sleep(0.3)
    except KeyboardInterrupt:
        stderr.print("stopping: finishing the current step and saving a checkpoint...")
        request_stop(path)
        return proc.wait()


@main.command("train")
@click.option("--run", "run_name", help="Run name [default: a new timestamped run].")
@click.option("--base-model", type=click.Path(path_type=Path), envvar="LOFI_BASE_MODEL",
              help="Local ACE-Step 1.5 diffusers checkpoint (or $LOFI_BASE_MODEL).")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), help="Folder from `lofi dataset build`.")
@click.option("--rank", type=click.IntRange(1, 256), default=64, show_default=True)
@click.option("--alpha", type=float, default=32.0, show_default=True)
@click.option("--rslora/--no-rslora", default=True, show_default=True)
@click.option("--target-modules", default=",".join(DEFAULT_TARGETS), show_default=True)
@click.option("--lr", "learning_rate", type=float, default=1e-4, show_default=True)
@click.option("--warmup-steps", type=int, default=100, show_default=True)
@click.option("--schedule", type=click.Choice(["cosine", "constant"]), default="cosine", show_default=True)
@click.option("--max-steps", type=int, default=None, help="[default: 10000; on resume: extends the run]")
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option("--grad-accum", type=int, default=1, show_default=True)
@click.option("--grad-clip", type=float, default=0.5, show_default=True)
@click.option("--gradient-checkpointing", is_flag=True)
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--crop-sec", type=float, default=30.0, show_default=True)
@click.option("--checkpoint-every", type=int, default=2000, show_default=True)
@click.option("--keep-last", type=int, default=3, show_default=True)
@click.option("--sample-every", type=int, default=0, show_default=True, help="0: no samples.")
@click.option("--require-license", is_flag=True, help="Leave out tracks with no license recorded.")
@click.option("--resume", is_flag=True, help="Continue RUN from its last valid checkpoint.")
@click.option("--from-checkpoint", type=int, default=None, help="Resume from this step's checkpoint.")
@click.option("--stop", is_flag=True, help="Ask RUN to checkpoint and exit.")
@click.option("--detach", is_flag=True, help="Start in the background and return.")
@click.pass_context
def train_cmd(ctx: click.Context, run_name: str | None, base_model: Path | None, dataset: Path | None,
              max_steps: int | None, resume: bool, from_checkpoint: int | None, stop: bool, detach: bool,
              target_modules: str, **settings) -> None:
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
        config = TrainConfig(run=name, base_model=str(Path(base_model).resolve()), workspace=str(ws.root),
                             dataset=str(dataset.resolve()) if dataset else None, max_steps=max_steps or 10_000,
                             target_modules=[t.strip() for t in target_modules.split(",") if t.strip()], **settings)
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
