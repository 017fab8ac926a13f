"""``lofi eval`` (score a run's checkpoints), ``lofi checkpoints`` (the comparison table) and ``lofi best``
(choose the best checkpoint by hand)."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.table import Table

from engine.evaluation.evaluate import (
    CheckpointRow,
    EvalResult,
    EvalSettings,
    EvaluationError,
    checkpoint_table,
    evaluate_checkpoint,
)
from engine.metrics.embedders import NAMES
from engine.training import checkpoints as ckpt
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout

DEFAULTS = EvalSettings()


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _marked(row: CheckpointRow, metric: str, text: str) -> str:
    """``?`` after a value with a caveat (the caveats column says why)."""
    return text if text == "-" or row.reliable(metric) else f"{text}?"


def _describe(r: EvalResult) -> str:
    inf = f"FAD-inf {r.fad_inf:.4f} (R² {r.fad_inf_r2:.2f})" if r.fad_inf is not None else "FAD-inf unavailable"
    name = "base model" if r.step is None else f"step {r.step}"
    lines = [f"{name}: FAD {r.fad:.4f}, {inf} ({r.embedding}, {r.dim}-d, {r.n_eval_frames} evaluated vs "
             f"{r.n_ref_frames} reference frames), CLAP {_fmt(r.clap, 3)} vs real {_fmt(r.clap_real, 3)}, "
             f"distinctness {r.distinctness:.2f} (chance {r.distinctness_chance:.2f}), combined {_fmt(r.combined, 3)}"]
    lines += [f"  {metric}: {reason}" for metric, reason in r.caveats.items()]
    return "\n".join(lines)


@main.command("eval")
@click.option("--run", "run_name", required=True)
@click.option("--checkpoint", default="latest", show_default=True,
              help="A step, 'latest', 'all', or 'base' (the base model without the LoRA, as a baseline).")
@click.option("--per-style", type=click.IntRange(1, 50), default=DEFAULTS.per_style, show_default=True,
              help="Clips per style. With --duration 10 the default gives 1140 frames: more than 2x the dimension of "
                   "every embedder, so FAD is reliable; fewer are marked 'not reliable (n < 2d)'.")
@click.option("--duration", type=float, default=DEFAULTS.duration, show_default=True,
              help="Seconds per generated clip.")
@click.option("--steps", type=click.IntRange(1, 200), default=None,
              help="Sampling steps [default: the base model's: 8 turbo, 50 base/sft].")
@click.option("--guidance", type=click.FloatRange(1.0, 30.0), default=None,
              help="Guidance scale [default: the base model's: 1.0 turbo (no CFG), 7.0 base/sft].")
@click.option("--device", default="auto", show_default=True, help="cuda, cuda:N or cpu (auto: cuda when present).")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True)
@click.option("--embedding", type=click.Choice(NAMES), default=None,
              help="[default: clap when installed, else builtin]")
@click.option("--style", "styles", multiple=True, help="Only these styles (repeatable) [default: all].")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def eval_cmd(ctx: click.Context, run_name: str, checkpoint: str, per_style: int, duration: float, steps: int | None,
             guidance: float | None, device: str,
             seed: int, embedding: str | None, styles: tuple[str, ...], as_json: bool) -> None:
    """Generate clips for all styles with a checkpoint's LoRA and score them (FAD, CLAP, distinctness)."""
    ws = workspace_of(ctx)
    available = ckpt.list_checkpoints(ws.runs_dir / run_name)
    if not available and checkpoint != "base":
        raise EvaluationError(f"run {run_name} has no valid checkpoints in {ws.runs_dir / run_name}")
    chosen: list[int | None]
    if checkpoint == "all":
        chosen = list(available)
    elif checkpoint == "base":
        chosen = [None]
    elif checkpoint == "latest":
        chosen = available[-1:]
    else:
        try:
            chosen = [int(checkpoint)]
        except ValueError:
            raise click.BadParameter("a step number, 'latest', 'all' or 'base'", param_hint="--checkpoint") from None
    settings = EvalSettings(per_style, duration, steps, guidance, seed, embedding, styles, device)
    results = []
    for step in chosen:
        with progress_bar("base model" if step is None else f"step {step}", enabled=not as_json) as on_progress:
            results.append(evaluate_checkpoint(ws, run_name, step, settings, on_progress))
    if as_json:
        emit_json({"results": [asdict(r) for r in results]})
        return
    for r in results:
        stderr.print(_describe(r), highlight=False, soft_wrap=True)


@main.command("checkpoints")
@click.option("--run", "run_name", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def checkpoints_cmd(ctx: click.Context, run_name: str, as_json: bool) -> None:
    """Compare a run's checkpoints and the base model: loss and metrics; the best is marked, unreliable values too."""
    ws = workspace_of(ctx)
    rows = checkpoint_table(ws, run_name)
    pick = ckpt.best_pick(ws.runs_dir / run_name)
    if as_json:
        emit_json({"run": run_name, "checkpoints": rows, "best": asdict(pick) | {"chosen": pick.chosen}})
        return
    table = Table(title=f"Checkpoints of {run_name}")
    listened = any(r.listening for r in rows)  # the column appears once a blind test has finished
    for col in ("step", "loss", "frames", "FAD", "FAD-inf", "CLAP", "CLAP ratio", "distinct", "combined", "best"):
        table.add_column(col, justify="right")
    if listened:
        table.add_column("listening", overflow="fold")
    table.add_column("caveats", overflow="fold")
    for r in rows:
        frames = "-" if r.n_eval_frames is None else f"{r.n_eval_frames} ({r.embedding}, {r.dim}-d)"
        mark = " ".join(m for m, on in (("★ auto", r.best), ("✎ chosen", r.chosen)) if on)
        table.add_row(r.label, _fmt(r.loss), frames, _marked(r, "fad", _fmt(r.fad)),
                      _marked(r, "fad_inf", _fmt(r.fad_inf)), _marked(r, "clap", _fmt(r.clap, 3)),
                      _marked(r, "clap", _fmt(r.clap_ratio, 2)), _marked(r, "distinctness", _fmt(r.distinctness, 2)),
                      _fmt(r.combined, 3), mark, *((r.listening or "",) if listened else ()),
                      "; ".join(f"{c.metric}: {c.reason}" for c in r.caveats))
    if any(r.caveats for r in rows):
        stderr.print("? marks a value with a caveat: it is left out of the combined score")
    stdout.print(table)
    if pick.manual is not None:
        stdout.print(f"chosen by hand: step {pick.manual}" + (f" ({pick.note})" if pick.note else "")
                     + f"; automatic pick: {'-' if pick.automatic is None else pick.automatic}", highlight=False)


@main.command("best")
@click.option("--run", "run_name", required=True)
@click.option("--step", type=int, default=None, help="Choose this checkpoint as the best one.")
@click.option("--note", default="", help="Why (kept with the choice).")
@click.option("--clear", is_flag=True, help="Forget the choice by hand; the automatic pick applies again.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def best_cmd(ctx: click.Context, run_name: str, step: int | None, note: str, clear: bool, as_json: bool) -> None:
    """Show or choose a run's best checkpoint by hand; export and retention use it instead of the automatic pick."""
    run_dir = workspace_of(ctx).runs_dir / run_name
    if not (run_dir / "config.json").exists():
        raise ckpt.CheckpointError(f"no run named {run_name} in {run_dir.parent} (see `lofi runs`)")
    if clear and step is not None:
        raise click.UsageError("--step and --clear do not go together")
    pick = ckpt.clear_best_mark(run_dir) if clear else (
        ckpt.mark_best(run_dir, step, note) if step is not None else ckpt.best_pick(run_dir))
    if as_json:
        emit_json({"run": run_name, **asdict(pick), "chosen": pick.chosen})
        return
    auto = "-" if pick.automatic is None else str(pick.automatic)
    by_hand = "-" if pick.manual is None else str(pick.manual) + (f" ({pick.note})" if pick.note else "")
    stdout.print(f"{run_name}: best checkpoint {pick.chosen if pick.chosen is not None else '-'}  "
                 f"(chosen by hand: {by_hand}; automatic pick: {auto})", highlight=False)
