"""Generation with the PyTorch ACE-Step pipeline (base checkpoint + optional LoRA).

The daemon's backend for a diffusers-format checkpoint, to listen to a checkpoint before exporting
it: the same protocol, queue and cache as a bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from engine.daemon.protocol import GenerateParams
from engine.model.check import model_variant
from engine.model.load import load_pipeline, model_identity, resolve_device
from engine.training.checkpoints import LORA_FILE


def model_version(model_dir: Path, lora_dir: Path | None = None) -> str:
    """Cheap to compute before loading: part of every track id, so the cache knows which model made it."""
    version = model_identity(model_dir)
    return version + (f"+{Path(lora_dir).parent.parent.name}/{Path(lora_dir).name}" if lora_dir else "")


class PipelineGenerator:
    """Steps and guidance the request leaves out are the checkpoint variant's (engine.model.variants)."""

    def __init__(self, model_dir: Path, lora_dir: Path | None = None, device: str = "auto", threads: int | None = None,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.variant = model_variant(model_dir)
        self.device = resolve_device(None if device == "metal" else device)
        if device in ("cuda", "metal") and self.device == "cpu":
            log(f"LOFI_DEVICE={device}: PyTorch sees no such device here; generating on the CPU")
        self.pipe = load_pipeline(model_dir, device=self.device)
        if lora_dir is not None:
            self.pipe.load_lora_weights(Path(lora_dir), weight_name=LORA_FILE)

    def generate(self, params: GenerateParams, seed: int, on_step: Callable[[int, int], None]) -> np.ndarray:
        total = params.inference_steps or self.variant.steps

        def callback(_pipe: Any, step: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            on_step(step + 1, total)
            return kwargs

        with torch.no_grad():
            audio = self.pipe(prompt=params.prompt, lyrics="[Instrumental]", audio_duration=params.duration_sec,
                              bpm=params.bpm, keyscale=params.keyscale, generator=torch.Generator().manual_seed(seed),
                              callback_on_step_end=callback,
                              **self.variant.sampler(total, params.guidance_scale)).audios[0]
        return cast(np.ndarray, audio.float().cpu().numpy().T)
