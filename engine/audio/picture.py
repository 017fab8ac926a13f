"""Small pictures of a track for a terminal: a peak envelope and a coarse log-spectrogram."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.audio.quality import to_mono


@dataclass(frozen=True)
class TrackPicture:
    envelope: np.ndarray  # [columns] peak level 0..1
    spectrogram: np.ndarray  # [rows, columns] 0..1, row 0 = highest band


def track_picture(samples: np.ndarray, sample_rate: int, columns: int = 60, rows: int = 6) -> TrackPicture:
    mono = to_mono(samples)
    chunks = np.array_split(mono, columns)
    envelope = np.array([np.abs(c).max() if c.size else 0.0 for c in chunks])
    envelope = envelope / (envelope.max() or 1.0)
    n_fft = 2048
    bands = np.geomspace(40, sample_rate / 2, rows + 1)
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    spec = np.zeros((rows, columns))
    for c, chunk in enumerate(chunks):
        if chunk.size < n_fft:
            continue
        power = np.abs(np.fft.rfft(chunk[:n_fft] * np.hanning(n_fft))) ** 2
        for r in range(rows):
            mask = (freqs >= bands[r]) & (freqs < bands[r + 1])
            spec[rows - 1 - r, c] = 10 * np.log10(power[mask].mean() + 1e-12) if mask.any() else -120
    spec = np.clip((spec - (spec.max() - 60)) / 60, 0, 1)
    return TrackPicture(envelope, spec)
