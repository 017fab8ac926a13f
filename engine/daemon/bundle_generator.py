"""The daemon's backend for an exported ONNX bundle: no torch in the process, quick to start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.daemon.protocol import GenerateParams
from engine.inference.bundle import Bundle, execution_providers
from engine.inference.generator import OnnxGenerator


class BundleGenerator:
    """Steps and guidance the request leaves out come from the bundle's manifest (per variant)."""

    def __init__(self, bundle_dir: Path, device: str = "cpu", threads: int | None = None,
                 log: Callable[[str], None] = lambda _m: None) -> None:
        import onnxruntime as ort

        providers, note = execution_providers(device, ort.get_available_providers())
        if note:
            log(note)
        self.generator = OnnxGenerator(Bundle.open(bundle_dir, threads or 0, providers))

    def generate(self, params: GenerateParams, seed: int, on_step: Callable[[int, int], None]) -> np.ndarray:
        return self.generator.generate(params.prompt, params.duration_sec, seed=seed, steps=params.inference_steps,
                                       guidance_scale=params.guidance_scale, on_step=on_step, bpm=params.bpm,
                                       keyscale=params.keyscale)
