"""Merge a checkpoint's LoRA into the base DiT and save it in diffusers format.

The adapter is loaded through diffusers (which reads r, alpha and use_rslora from the file's
metadata, so rsLoRA's alpha/sqrt(r) scaling is kept), fused, and checked: the merged model must
give the adapter model's output on fixed inputs. The saved weights are the resume point of a
failed export: later stages load them instead of merging again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from safetensors import safe_open

from engine.export.stages import ExportError
from engine.model.variants import condition_width
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig

if TYPE_CHECKING:
    import torch

    from engine.model.load import Pipeline

MERGE_TOLERANCE = 1e-5  # max |merged - adapter| relative to the output's peak, fp32 on CPU


def best_step(run_dir: Path, steps: list[int]) -> int | None:
    """The best among ``steps`` (valid checkpoints): chosen by hand, else the evaluation's pick; None if neither."""
    pick = ckpt.best_pick(run_dir)
    return next((s for s in (pick.manual, pick.automatic) if s in steps), None)


def resolve_step(run_dir: Path, which: str | int | None) -> int:
    """``best`` (chosen by hand, else the evaluated best), ``latest``, a step number, or None: best if
    there is one, else latest."""
    steps = ckpt.list_checkpoints(run_dir)
    if not steps:
        raise ExportError(f"{run_dir.name} has no valid checkpoint yet: train it first (`lofi train`)")
    best = best_step(run_dir, steps)
    if which in (None, "", "latest"):
        return best if which in (None, "") and best is not None else steps[-1]
    if which == "best":
        if best is None:
            raise ExportError(f"{run_dir.name} has no evaluated best checkpoint and none chosen by hand: run "
                              "`lofi eval`, choose one with `lofi best`, or pass --checkpoint latest")
        return best
    try:
        step = int(which)
    except ValueError:
        raise ExportError(f"--checkpoint must be a step number, best or latest, got {which!r}") from None
    if step not in steps:
        raise ExportError(f"{run_dir.name} has no checkpoint at step {step}; it has {', '.join(map(str, steps))}")
    return step


def lora_settings(lora_file: Path) -> dict[str, Any]:
    """r, alpha, use_rslora and the resulting scaling, from the adapter metadata in the file."""
    with safe_open(str(lora_file), framework="pt") as fh:
        raw = json.loads((fh.metadata() or {}).get("lora_adapter_metadata", "{}"))
    meta = {k.removeprefix("transformer."): v for k, v in raw.items()}  # diffusers prefixes the component
    if "r" not in meta:
        raise ExportError(f"{lora_file} has no LoRA adapter metadata (r, alpha, use_rslora); without it the "
                          "LoRA scaling is unknown. Re-save the checkpoint with lofi's trainer")
    r, alpha, rs = int(meta["r"]), float(meta.get("lora_alpha", meta["r"])), bool(meta.get("use_rslora", False))
    return {"rank": r, "alpha": alpha, "use_rslora": rs, "scaling": alpha / math.sqrt(r) if rs else alpha / r}


def parity_inputs(transformer: Any, seed: int = 0, frames: int = 50, cond_len: int = 24) -> dict[str, Any]:
    import torch

    cfg = transformer.config
    g = torch.Generator().manual_seed(seed)
    dim = cfg.audio_acoustic_hidden_dim
    t = torch.tensor([0.7, 0.3])
    return {"hidden_states": torch.randn(2, frames, dim, generator=g), "timestep": t, "timestep_r": t,
            "encoder_hidden_states": torch.randn(2, cond_len, condition_width(cfg), generator=g),
            "context_latents": torch.randn(2, frames, cfg.in_channels - dim, generator=g)}


def _forward(transformer: Any, inputs: dict[str, Any]) -> torch.Tensor:
    import torch

    with torch.no_grad():
        return cast(torch.Tensor, transformer(**inputs, return_dict=False)[0])


def merge_checkpoint(base_model: Path, checkpoint: Path, out_dir: Path) -> dict[str, Any]:
    """Write ``out_dir/transformer`` (diffusers format, safetensors); returns the LoRA settings and parity."""
    from engine.model.load import load_pipeline

    lora_file = Path(checkpoint) / ckpt.LORA_FILE
    settings = lora_settings(lora_file)
    pipe = load_pipeline(base_model)
    inputs = parity_inputs(pipe.transformer)
    base = _forward(pipe.transformer, inputs)
    pipe.load_lora_weights(Path(checkpoint), weight_name=ckpt.LORA_FILE, adapter_name="lofi")
    loaded = {m.scaling["lofi"] for m in pipe.transformer.modules()
              if isinstance(getattr(m, "scaling", None), dict) and "lofi" in m.scaling}
    if loaded != {settings["scaling"]}:
        raise ExportError(f"diffusers loaded {lora_file} with scaling {sorted(loaded)}, expected "
                          f"{settings['scaling']:g} from its metadata; refusing to merge a different model")
    adapter = _forward(pipe.transformer, inputs)
    pipe.fuse_lora(components=["transformer"], lora_scale=1.0)
    pipe.unload_lora_weights()
    merged = _forward(pipe.transformer, inputs)
    peak = float(adapter.abs().max())
    error = float((merged - adapter).abs().max()) / peak
    if error > MERGE_TOLERANCE:
        raise ExportError(f"merged DiT differs from base+LoRA by {error:.2e} (relative; tolerance "
                          f"{MERGE_TOLERANCE:g}); the merge is wrong, nothing was exported")
    pipe.transformer.save_pretrained(Path(out_dir) / "transformer", safe_serialization=True)
    return {**settings, "parity_rel_error": error, "tolerance": MERGE_TOLERANCE,
            "lora_effect_rel": float((adapter - base).abs().max()) / peak}


def run_base_model(run_dir: Path) -> Path:
    base = Path(TrainConfig.load(run_dir).base_model)
    if not base.exists():
        raise ExportError(f"the base model of {run_dir.name} ({base}) is gone; restore it to export this run")
    return base


def load_merged_pipeline(base: Path, merged: Path) -> Pipeline:
    """The base pipeline with the merged DiT saved by :func:`merge_checkpoint` in ``merged``."""
    from diffusers import AceStepTransformer1DModel

    from engine.model.load import load_pipeline

    pipe = load_pipeline(base)
    pipe.transformer = AceStepTransformer1DModel.from_pretrained(Path(merged) / "transformer").eval()
    return pipe
