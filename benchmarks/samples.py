"""Time to fill a sample matrix (styles x columns) on the tiny model, CPU.

A run is trained for a few steps (``--checkpoints`` checkpoints), then every cell of the matrix is
rendered with the evaluation's clip settings (``--duration`` s, ``--steps`` inference steps): the base
model loads once and the LoRAs are swapped per column. Prints the total, the time per clip, the model
load and the machine's load average (the figure scales with how busy the CPU is).

    python benchmarks/samples.py [--styles 38] [--checkpoints 3] [--duration 10] [--steps 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from engine.audio import synth
from engine.audio.io import write_audio
from engine.catalog.store import Catalog
from engine.evaluation.matrix import ClipSettings, fill_matrix, sample_matrix
from engine.ingest.batch import ingest
from engine.labels.styles import load_styles
from engine.model.tiny import build_tiny_checkpoint
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace


def trained_run(root: Path, checkpoints: int) -> Path:
    model = build_tiny_checkpoint(root / "tiny")
    for i in range(2):
        write_audio(root / "src" / f"t{i}.wav", synth.lofi(31, seed=40 + i), synth.SR)
    ws = Workspace.open(root / "ws")
    report = ingest(ws, [root / "src"], jobs=1)
    catalog = Catalog(ws.catalog_path)
    for r in report.results:
        catalog.update(r.track_id, lambda t: setattr(t, "split", "train"))
    config = TrainConfig(run="b", base_model=str(model), workspace=str(ws.root), max_steps=checkpoints,
                         checkpoint_every=1, keep_last=checkpoints, warmup_steps=1, crop_sec=2.0, rank=4)
    run_dir = create_run(ws, config)
    Trainer(run_dir).run()
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", type=int, default=38)
    parser.add_argument("--checkpoints", type=int, default=3, help="checkpoint columns (plus the base model)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = trained_run(Path(tmp), args.checkpoints)
        styles = load_styles().ids[: args.styles]
        matrix = sample_matrix(run_dir, styles, settings=ClipSettings(args.duration, args.steps, 0))
        first: list[float] = []
        started = time.perf_counter()
        made = fill_matrix(matrix, lambda p: first.append(time.perf_counter() - started) if not first else None)
        total = time.perf_counter() - started
        print(f"sample matrix {len(styles)} styles x {len(matrix.columns)} columns (base + {args.checkpoints}), "
              f"{args.duration:g} s clips, {args.steps} steps, tiny model on CPU ({os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f}):")
        print(f"  {made} clips in {total:.1f} s ({total / made:.2f} s per clip; first clip incl. model load "
              f"{first[0]:.1f} s)")


if __name__ == "__main__":
    main()
