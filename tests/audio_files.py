"""Write synthesized audio to disk in any supported format, with the project's own encoders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.audio import synth
from engine.audio.io import write_audio


def write(path: Path, samples: np.ndarray, sample_rate: int = synth.SR) -> Path:
    path = Path(path)
    write_audio(path, samples, sample_rate)
    return path


def lofi_file(path: Path, seconds: float = 35.0, seed: int = 0, sample_rate: int = synth.SR) -> Path:
    """A synthesized lofi track that passes the quality gate."""
    return write(path, synth.lofi(seconds, sr=sample_rate, seed=seed), sample_rate)
