"""The daemon's backend for an exported ONNX bundle: no torch in the process, quick to start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.daemon.protocol import GenerateParams
from engine.inference.bundle import Bundle
from engine.inference.generator import OnnxGenerator


class BundleGenerator:
    def __init__(self, bundle_dir: Path) -> None:
        self.generator = OnnxGenerator(Bundle.open(bundle_dir))

    def generate(self, params: GenerateParams, seed: int, on_step: Callable[[int, int], None]) -> np.ndarray:
        return self.generator.generate(params.prompt, params.duration_sec, seed=seed, steps=params.inference_steps,
                                       guidance_scale=params.guidance_scale, on_step=on_step, bpm=params.bpm,
                                       keyscale=params.keyscale)
