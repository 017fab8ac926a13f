"""``lofi model init-tiny`` and ``lofi model check``: base model tools."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from engine.model.check import check_base_model, gpu_memory_gb, training_memory
from engine.model.tiny import TINY_VARIANTS, build_tiny_checkpoint
from engine.training.config import DEFAULT_TARGETS
from lofi_tui.cli import main
from lofi_tui.output import emit_json, stderr, stdout


@main.group("model")
def model_group() -> None:
    """Base model tools."""


@model_group.command("init-tiny")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--variant", type=click.Choice(list(TINY_VARIANTS)), default="turbo", show_default=True,
              help="Which published checkpoint's shape and settings to mirror.")
def init_tiny_cmd(out: Path, seed: int, variant: str) -> None:
    """Write a tiny, NOT musical ACE-Step 1.5 checkpoint (random weights) for offline tests and the demo."""
    build_tiny_checkpoint(out, seed=seed, variant=variant)
    stderr.print(f"wrote a tiny {variant} ACE-Step 1.5 checkpoint to {out}, shaped like "
                 f"{TINY_VARIANTS[variant].mirrors} (random weights: it does not make music)")


@model_group.command("check")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--rank", type=click.IntRange(1, 256), default=64, show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="bf16", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def check_cmd(model_dir: Path, rank: int, precision: str, as_json: bool) -> None:
    """Validate a diffusers-format ACE-Step 1.5 checkpoint and estimate training memory."""
    summary = check_base_model(model_dir)
    memory = {r: training_memory(summary, r, DEFAULT_TARGETS, precision) for r in sorted({rank, 64, 256})}
    gpu = gpu_memory_gb()
    variant = summary.variant
    if as_json:
        emit_json({"path": str(summary.path), "tiny": summary.tiny, "components": [asdict(c) for c in summary.components],
                   "total_parameters": summary.total_parameters, "variant": asdict(variant),
                   "training_memory_gb": {r: m.peak_gb for r, m in memory.items()},
                   "memory": {r: {**asdict(m), "peak_gb": m.peak_gb, "fits_gpu": None if gpu is None else
                                  m.peak_gb <= gpu} for r, m in memory.items()},
                   "gpu_memory_gb": gpu, "precision": precision})
        return
    table = Table(title=f"{summary.path}" + (" (tiny test model, not musical)" if summary.tiny else ""))
    for col in ("component", "class", "parameters", "dtype"):
        table.add_column(col, justify="right" if col == "parameters" else "left")
    for c in summary.components:
        table.add_row(c.name, c.class_name, f"{c.parameters:,}" if c.parameters else "-", c.dtype or "-")
    stdout.print(table)
    stdout.print(f"variant: {variant.name} ({variant.steps} steps, shift {variant.shift:g}, guidance "
                 f"{variant.guidance:g}; trained on {variant.timesteps} timesteps, condition dropout "
                 f"{variant.cfg_dropout:g})")
    where = "no NVIDIA GPU detected" if gpu is None else f"this GPU has {gpu} GB"
    for r, m in memory.items():
        verdict = "" if gpu is None else (": fits" if m.peak_gb <= gpu else ": does NOT fit")
        stdout.print(f"estimated GPU memory, rank {r}, {precision}, 30 s crops, checkpointing: {m.peak_gb} GB "
                     f"(caching {m.caching_gb} GB with every component loaded, training {m.training_gb} GB){verdict}")
    stdout.print(where)
