"""Export sizes and ONNX-vs-PyTorch generation speed.

CPU (always), tiny model: export time, each graph's size per precision and the reduction versus
fp32, the fp32 bundle's agreement with the diffusers pipeline, and generation seconds per minute of
audio for the PyTorch pipeline and the ONNX bundles. The tiny model's sizes say nothing about the
release; its speeds compare the two runtimes on equal work.

Release architecture, from parameter counts (always, no weights needed): fp32 size and the smallest
the int8 and int4 bundles can be with their floors, against the targets (INT8 at most 2.5 GB, at
least 73 % below fp32). Exporting the release architecture for real needs
about 25 GB of memory and 60 GB of disk, so it is not part of this script.

    python benchmarks/export.py [--seconds 30] [--steps 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from engine.audio import synth
from engine.audio.io import write_audio
from engine.catalog.split import assign_splits
from engine.catalog.store import Catalog
from engine.export.exporter import export_checkpoint
from engine.export.merge import load_merged_pipeline
from engine.export.sizes import ParameterCounts, estimate_bundle_bytes
from engine.inference.bundle import Bundle
from engine.inference.generator import OnnxGenerator
from engine.ingest.batch import ingest
from engine.model.tiny import build_tiny_checkpoint
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace

PRECISIONS = ["fp32", "fp16", "int8", "int4"]
CAPTION = "lofi hip hop, chill, vinyl crackle, mellow piano"
GB = 1e9


def _per_minute(seconds: float, audio_seconds: float) -> float:
    return seconds / (audio_seconds / 60)


def report_sizes(result) -> None:
    print(f"  {'bundle':<7}" + "".join(f"{g.name:>22}" for g in result.bundles[0].graphs) + f"{'total':>12}  vs fp32")
    for b in result.bundles:
        cells = "".join(f"{g.bytes / 1e6:>12.3f} MB {g.precision.split()[0]:<6}" for g in b.graphs)
        reduction = "" if b.reduction_vs_fp32 is None else f"  {-100 * b.reduction_vs_fp32:+.1f} %"
        print(f"  {b.precision:<7}{cells}{b.total_bytes / 1e6:>9.3f} MB{reduction}")


def onnx_speed(bundle: Path, seconds: float, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Seconds per minute of audio, the audio, and the initial noise it started from."""
    gen = OnnxGenerator(Bundle.open(bundle))
    gen.generate(CAPTION, 2.0, steps=1)  # warm up the sessions
    noise = gen.initial_noise(seconds, 0)
    start = time.perf_counter()
    audio = gen.generate(CAPTION, seconds, steps=steps, latents=noise)
    return _per_minute(time.perf_counter() - start, seconds), audio, noise


def pytorch_speed(model: Path, merged: Path, noise: np.ndarray, seconds: float, steps: int) -> tuple[float, np.ndarray]:
    pipe = load_merged_pipeline(model, merged)
    with torch.no_grad():
        pipe(prompt=CAPTION, audio_duration=2.0, num_inference_steps=1)  # warm up
        start = time.perf_counter()
        audio = pipe(prompt=CAPTION, lyrics="[Instrumental]", audio_duration=seconds, num_inference_steps=steps,
                     latents=torch.from_numpy(noise), output_type="np").audios[0]
    return _per_minute(time.perf_counter() - start, seconds), audio.T


def trained_tiny_run(root: Path) -> tuple[Workspace, Path]:
    """A LoRA trained for 3 steps on the tiny model, in a fresh workspace, as run "bench"."""
    model = build_tiny_checkpoint(root / "model")
    write_audio(root / "src" / "a.wav", synth.lofi(31, seed=4), synth.SR)
    ws = Workspace.open(root / "ws")
    ingest(ws, [root / "src"], jobs=1)
    assign_splits(Catalog(ws.catalog_path), ratio=0.0)
    config = TrainConfig(run="bench", base_model=str(model), workspace=str(ws.root), max_steps=3, checkpoint_every=3,
                         warmup_steps=1, crop_sec=2.0, rank=8, learning_rate=1e-2, cfg_dropout=0.0)
    Trainer(create_run(ws, config), log=lambda _m: None).run()
    return ws, model


def tiny_cpu(root: Path, seconds: float, steps: int) -> None:
    ws, model = trained_tiny_run(root)
    start = time.perf_counter()
    result = export_checkpoint(ws, "bench", PRECISIONS, out=root / "export")
    print(f"CPU, tiny model: export of 4 precisions in {time.perf_counter() - start:.1f} s")
    report_sizes(result)
    print(f"generation, {seconds:g} s of audio, {steps} steps, APG guidance (seconds per minute of audio):")
    ref_speed = None
    for precision in PRECISIONS:
        speed, audio, noise = onnx_speed(result.out / precision, seconds, steps)
        if precision == "fp32":
            ref_speed, ref = pytorch_speed(model, result.out / "merged", noise, seconds, steps)
            ref = ref[: audio.shape[0]]
            print(f"  PyTorch pipeline  {ref_speed:8.2f} s/min")
        error = float(np.abs(audio - ref).max() / np.abs(ref).max())
        print(f"  ONNX {precision:<12} {speed:8.2f} s/min  ({ref_speed / speed:.2f}x PyTorch's speed; "
              f"max rel. difference from PyTorch's audio {error:.2e})")


def release_floor() -> None:
    """Parameter counts of the release architecture (meta device: no memory, no weights)."""
    from diffusers import AceStepTransformer1DModel, AutoencoderOobleck
    from diffusers.pipelines.ace_step.modeling_ace_step import AceStepConditionEncoder

    with torch.device("meta"):
        counts = {"transformer": AceStepTransformer1DModel(), "condition_encoder": AceStepConditionEncoder(),
                  "vae_decoder": AutoencoderOobleck().decoder, "text_encoder": _release_text_encoder()}
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in counts.items()}
    table = counts["text_encoder"].get_input_embeddings().weight.numel()
    release = ParameterCounts(**params, token_table=table)  # the same estimate the export wizard shows
    fp32, int8, int4 = (estimate_bundle_bytes(release, p) for p in ("fp32", "int8", "int4"))
    print("release architecture (diffusers defaults, Qwen3-Embedding-0.6B text encoder), from parameter counts:")
    print("  " + ", ".join(f"{n} {p / 1e6:.0f}M" for n, p in params.items()) + f" (token table {table / 1e6:.0f}M)")
    for name, size in (("int8", int8), ("int4", int4)):
        print(f"  {name} at least {size / GB:.2f} GB, {100 * (1 - size / fp32):.1f} % below fp32 ({fp32 / GB:.2f} GB); "
              f"targets: <= 2.5 GB {'met' if size <= 2.5 * GB else 'NOT met'}, "
              f">= 73 % below {'met' if size <= 0.27 * fp32 else 'NOT met'}")


def _release_text_encoder():
    from transformers import Qwen3Config, Qwen3Model

    return Qwen3Model(Qwen3Config(vocab_size=151_669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                                  num_attention_heads=16, num_key_value_heads=8, head_dim=128,
                                  max_position_embeddings=32_768))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio length generated for the speed figures")
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-export-") as tmp:
        tiny_cpu(Path(tmp) / "tiny", args.seconds, args.steps)
        release_floor()


if __name__ == "__main__":
    main()
