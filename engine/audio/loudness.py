"""Integrated loudness (ITU-R BS.1770-4: K-weighting, 400 ms blocks, absolute and relative gates) via
pyloudnorm, and the gains that bring several clips to one loudness for fair comparisons.

Listeners prefer the louder of two otherwise equal clips, so every comparison (the Checkpoints
screen's sample matrix, blind listening tests) plays loudness-matched audio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.audio.io import decode
from engine.errors import LofiError

TARGET_LUFS = -23.0  # EBU R 128 programme loudness
MAX_PEAK_DBFS = -1.0  # matching never raises a clip's peak above this
BLOCK_SEC = 0.4  # BS.1770's gating block: shorter audio has no loudness


class LoudnessError(LofiError):
    """Audio too short (or otherwise unfit) for a BS.1770 measurement."""


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS of float audio shaped (frames,) or (frames, channels); ``-inf`` for
    digital silence (every block below the -70 LUFS gate)."""
    import pyloudnorm  # scipy.signal: loaded when something is measured

    audio = np.asarray(audio, dtype=np.float64)
    if audio.shape[0] < BLOCK_SEC * sample_rate:
        raise LoudnessError(f"{audio.shape[0] / sample_rate:.2f} s of audio has no BS.1770 loudness: "
                            f"it needs at least {BLOCK_SEC:g} s")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def _measure(item: Path | str | np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(loudness LUFS, sample peak dBFS) of a file or an array at ``sample_rate``."""
    if isinstance(item, np.ndarray):
        audio, rate = item, sample_rate
    else:
        decoded = decode(Path(item))
        audio, rate = decoded.samples, decoded.sample_rate
    try:
        lufs = integrated_loudness(audio, rate)
    except LoudnessError as exc:
        name = "audio" if isinstance(item, np.ndarray) else Path(item).name
        raise LoudnessError(f"{name}: {exc}") from None
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return lufs, 20 * math.log10(peak) if peak > 0 else -math.inf


def matching_gains(items: Sequence[Path | str | np.ndarray], target_lufs: float = TARGET_LUFS,
                   sample_rate: int = 48_000) -> list[float]:
    """Gains in dB that bring every item (a file, or an array at ``sample_rate``) to one loudness:
    ``target_lufs``, or lower where a clip would otherwise peak above -1 dBFS, so matching never clips.
    Silent items (no loudness) get 0 dB and do not set the level."""
    measured = [_measure(item, sample_rate) for item in items]
    level = target_lufs
    for lufs, peak in measured:
        if math.isfinite(lufs):
            level = min(level, lufs + (MAX_PEAK_DBFS - peak))
    return [level - lufs if math.isfinite(lufs) else 0.0 for lufs, _ in measured]
