"""``lofi demo``: the whole loop on synthesized audio and the tiny model, offline, in a few minutes.

Ingest (with every kind of bad file), label, split, train a LoRA on the tiny ACE-Step model,
evaluate its checkpoints, print the comparison table, export the trained checkpoint as an int8 ONNX
bundle and generate a clip from it without PyTorch. The audio is a toy and the model has random
weights: it shows the workflow, not music.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine.catalog.split import assign_splits
from engine.catalog.store import Catalog
from engine.demo import sidecar_path, write_demo_sources
from engine.ingest.batch import ingest
from engine.labels.categories import CATEGORIES
from engine.labels.labelling import LabelChange, apply_label
from engine.labels.styles import load_styles
from lofi_tui.cli import main, workspace_of
from lofi_tui.commands.catalog import tracks_table
from lofi_tui.commands.evaluate import checkpoints_cmd, eval_cmd
from lofi_tui.commands.export import export_cmd, generate_cmd, nvim_setup_cmd
from lofi_tui.commands.train import train_cmd
from lofi_tui.output import progress_bar, stderr, stdout


@main.command("demo")
@click.option("--sources-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the synthesized source files [default: WORKSPACE/demo-sources].")
@click.option("--train/--no-train", default=True, show_default=True,
              help="Also train, evaluate and export a LoRA on the tiny (not musical) model.")
@click.pass_context
def demo_cmd(ctx: click.Context, sources_dir: Path | None, train: bool) -> None:
    """Synthesize a small collection, ingest and label it, then train and evaluate on the tiny model."""
    ws = workspace_of(ctx)
    folder = sources_dir or ws.root / "demo-sources"
    stderr.print(f"writing demo sources to {folder}")
    write_demo_sources(folder)
    with progress_bar("ingest") as on_progress:
        report = ingest(ws, [folder], jobs=os.cpu_count(), sources=sidecar_path(folder), progress=on_progress)
    catalog = Catalog(ws.catalog_path)
    apply_label(ws, catalog, load_styles(), "coffee steam", LabelChange(styles=["THEME-01"], flags_off=["needs_review"]))
    assign_splits(catalog)
    stdout.print(tracks_table(catalog.all(), title="Demo catalog"))
    stderr.print(f"workspace: {ws.root}")
    s = report.summary
    stderr.print(f"{s['accepted']} accepted, {s['rejected']} rejected, {s['error']} errors, "
                 f"{s['duplicates']} duplicates, {s['skipped']} skipped (a second run skips everything)")
    if not train:
        return
    from engine.model.tiny import build_tiny_checkpoint  # torch: only when training

    model = ws.root / "models" / "ace-step-tiny"
    if not (model / "model_index.json").exists():
        build_tiny_checkpoint(model)
    stderr.print(f"training a LoRA on the tiny ACE-Step model in {model} (random weights: not musical)")
    ctx.invoke(train_cmd, run_name="demo", base_model=model, max_steps=12, checkpoint_every=6, warmup_steps=2,
               crop_sec=4.0, rank=8, learning_rate=2e-3, sample_every=12)
    taxonomy = load_styles()
    # Two styles per category keep the demo quick; `lofi eval` takes all 38 unless told otherwise.
    shown = tuple(s for c in CATEGORIES for s in [i for i in taxonomy.ids if taxonomy.category(i) == c][:2])
    stderr.print(f"evaluating 2 clips of {len(shown)} styles (two per category) per checkpoint")
    ctx.invoke(eval_cmd, run_name="demo", checkpoint="all", per_style=2, duration=1.0, steps=2, embedding="builtin",
               styles=shown)
    ctx.invoke(checkpoints_cmd, run_name="demo")
    stderr.print("exporting the last checkpoint (the trained LoRA) as an int8 ONNX bundle")
    ctx.invoke(export_cmd, run="demo", checkpoint="latest", precisions="int8")
    bundle = ws.exports_dir / "demo-step-12" / "int8"
    ctx.invoke(generate_cmd, bundle=bundle, prompt="lofi hip hop, rain, warm piano", duration=5.0, steps=4,
               out=ws.root / "demo-clip.wav")
    ctx.invoke(nvim_setup_cmd, bundle=bundle)
