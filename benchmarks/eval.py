"""Evaluation speed on CPU.

- Embedding throughput (audio seconds per wall second) of each embedder: builtin, clap and vggish at
  real architecture sizes (random weights when none are installed: speed only). Without a CLAP
  checkpoint, transformers' default ClapConfig stands in (the shape of laion/clap-htsat-unfused:
  HTSAT-tiny + RoBERTa-base), its text self-check skipped (random text towers collapse). Which one
  ran is said in the output, with how long the default evaluation's clips (3 x 10 s for each of the
  38 styles) take to embed and how many frames they give.
- Time for a second checkpoint's evaluation when the reference set's embeddings are cached, and
  for re-evaluating a checkpoint whose clips and embeddings all exist (the metrics alone).

    python benchmarks/eval.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from safetensors.torch import save_file

from engine.audio import synth
from engine.audio.io import write_audio
from engine.catalog.store import Catalog
from engine.evaluation.evaluate import EvalSettings, evaluate_checkpoint
from engine.ingest.batch import ingest
from engine.labels.styles import load_styles
from engine.metrics.clap import ClapEmbedder
from engine.metrics.embedders import NAMES, availability, load_embedder, models_dir
from engine.metrics.tiny_clap import build_tiny_clap
from engine.metrics.vggish import VGGish
from engine.model.tiny import build_tiny_checkpoint
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace


def base_size_clap(root: Path) -> None:
    from transformers import (
        AutoTokenizer,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
    )

    tokenizer = AutoTokenizer.from_pretrained(build_tiny_clap(root / "tiny-clap"))  # text is not timed
    ClapModel(ClapConfig()).save_pretrained(root / "clap")
    ClapProcessor(feature_extractor=ClapFeatureExtractor(truncation="rand_trunc"),
                  tokenizer=tokenizer).save_pretrained(root / "clap")


def throughput(root: Path, seconds: float) -> None:
    audio = synth.lofi(seconds, seed=3)
    real = models_dir(None)
    defaults = EvalSettings()
    clips = defaults.per_style * len(load_styles().ids)
    clip = audio[: int(defaults.duration * synth.SR)]
    for name in NAMES:
        if name == "builtin":
            embedder, label = load_embedder(name, root), "needs no weights"
        elif availability(name, real).available:
            embedder, label = load_embedder(name, real), "installed weights"
        elif name == "clap":
            base_size_clap(root)
            embedder, label = ClapEmbedder(root / "clap", check_text=False), "clap-htsat-unfused size, random weights"
        else:
            save_file(VGGish().state_dict(), str(root / "vggish.safetensors"))
            embedder, label = load_embedder(name, root), "random weights (speed only)"
        embedder.embed(audio[: synth.SR * 2], synth.SR)  # warm up
        start = time.perf_counter()
        frames = embedder.embed(audio, synth.SR).shape[0]
        elapsed = time.perf_counter() - start
        per_clip = embedder.embed(clip, synth.SR).shape[0]
        print(f"  {name:<8} {seconds / elapsed:8.2f} audio s / s   ({frames} frames, {label}); default evaluation: "
              f"{clips} clips x {defaults.duration:g} s = {clips * per_clip} frames (2d = {2 * embedder.info.dim}), "
              f"embedded in ~{clips * defaults.duration / (seconds / elapsed) / 60:.1f} min")


def second_checkpoint(root: Path) -> None:
    model = build_tiny_checkpoint(root / "tiny")
    for i in range(6):
        write_audio(root / "src" / f"t{i}.wav", synth.lofi(31, seed=200 + i), synth.SR)
    ws = Workspace.open(root / "ws")
    report = ingest(ws, [root / "src"], jobs=1)
    catalog = Catalog(ws.catalog_path)
    for i, r in enumerate(report.results):
        catalog.update(r.track_id, lambda t, i=i: setattr(t, "split", "validation" if i < 3 else "train"))
    Trainer(create_run(ws, TrainConfig(run="b", base_model=str(model), workspace=str(ws.root), max_steps=4,
                                       checkpoint_every=2, warmup_steps=1, crop_sec=2.0, rank=4)),
            log=lambda _m: None).run()
    os.environ["LOFI_MODELS"] = str(root / "none")
    settings = EvalSettings(per_style=1, duration=2.0, steps=2, embedder="builtin")
    timings = []
    for step in (2, 4, 4):
        start = time.perf_counter()
        evaluate_checkpoint(ws, "b", step, settings)
        timings.append(time.perf_counter() - start)
    print(f"  first checkpoint {timings[0]:.2f} s, second (reference cached) {timings[1]:.2f} s, "
          f"second again (clips and embeddings cached: metrics only) {timings[2]:.2f} s "
          f"(tiny model, 38 clips of 2 s, builtin embedder, 3 reference tracks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-eval-") as tmp:
        print(f"embedding throughput on CPU, {args.seconds:g} s of audio:")
        throughput(Path(tmp), args.seconds)
        print("checkpoint evaluation:")
        second_checkpoint(Path(tmp))


if __name__ == "__main__":
    main()
