"""Training speed.

CPU (always): step time of our loop (accelerate, per-step seeded sampling, clipping, divergence
checks, metrics) against a bare PyTorch loop doing the same forward/backward/step on the tiny
model. Target (issue 4): overhead at most 10 %.

GPU figures (release-size 2B and XL DiTs, VAE caching) are in ``benchmarks/gpu_figures.py``.

    python benchmarks/train.py [--steps 60]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from engine.audio import synth
from engine.audio.io import write_audio
from engine.catalog.split import assign_splits
from engine.catalog.store import Catalog
from engine.ingest.batch import ingest
from engine.model.tiny import build_tiny_checkpoint
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.objective import flow_matching_loss
from engine.training.runs import create_run
from engine.workspace import Workspace


def cpu_overhead(steps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="lofi-bench-train-") as tmp:
        root = Path(tmp)
        model = build_tiny_checkpoint(root / "tiny")
        write_audio(root / "src" / "a.wav", synth.lofi(40, seed=1), synth.SR)
        ws = Workspace.open(root / "ws")
        ingest(ws, [root / "src"], jobs=1)
        assign_splits(Catalog(ws.catalog_path), ratio=0.0)
        config = TrainConfig(run="bench", base_model=str(model), workspace=str(ws.root), max_steps=10 * steps,
                             crop_sec=10.0, rank=16, warmup_steps=1, cfg_dropout=0.0)
        trainer = Trainer(create_run(ws, config), log=lambda _m: None)
        trainer._setup()
        batches = [trainer._micro_batch(s, 0, 1)[1] for s in range(1, steps + 1)]

        params = trainer.params
        bare_opt = torch.optim.AdamW(params, lr=1e-4)

        def bare_step(batch) -> float:
            start = time.perf_counter()
            loss = flow_matching_loss(trainer.transformer, *batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 0.5)
            bare_opt.step()
            bare_opt.zero_grad(set_to_none=True)
            return time.perf_counter() - start

        # Interleaved, step for step, so that load from other processes hits both loops alike.
        bare_step(batches[0])
        trainer._train_step(1)
        times_bare, times_ours = [], []
        for s, batch in enumerate(batches, start=2):
            times_bare.append(bare_step(batch))
            times_ours.append(trainer._train_step(s)["step_time"])
        t_bare = statistics.median(times_bare)
        t_ours = statistics.median(times_ours)
        trainer.metrics.close()
    print(f"CPU, tiny model, 10 s crops, rank 16, {steps} steps (median):")
    print(f"  bare PyTorch loop   {t_bare * 1000:8.2f} ms/step")
    print(f"  lofi training loop  {t_ours * 1000:8.2f} ms/step   overhead {100 * (t_ours / t_bare - 1):+.1f} %"
          f"   (target <= +10 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    cpu_overhead(args.steps)


if __name__ == "__main__":
    main()
