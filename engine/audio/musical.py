"""Tempo, key and time signature of a track: ACE-Step 1.5 takes them as conditioning.

Analysis runs on a 60 s excerpt from the middle at 11025 Hz, which keeps it well under a second
per track: tempo from librosa's onset autocorrelation, key by correlating the mean chroma with the
Krumhansl-Kessler major/minor profiles. Lofi is overwhelmingly in 4/4, and meter detection is far
less reliable than tempo, so the time signature is reported as 4/4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from engine.audio.quality import to_mono

ANALYSIS_RATE = 11_025
EXCERPT_SEC = 60.0
_HOP = 256
_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class MusicalInfo:
    bpm: float
    key: str  # e.g. "C major", "A minor"
    time_signature: str = "4/4"


def estimate_musical(samples: np.ndarray, sample_rate: int) -> MusicalInfo:
    import librosa  # heavy import (numba); only the workers that analyse audio pay for it

    mono = to_mono(samples)
    n = int(EXCERPT_SEC * sample_rate)
    if mono.size > n:
        start = (mono.size - n) // 2
        mono = mono[start : start + n]
    y = soxr.resample(mono.astype(np.float32), sample_rate, ANALYSIS_RATE)
    onset = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=_HOP)
    bpm = float(librosa.feature.tempo(onset_envelope=onset, sr=ANALYSIS_RATE, hop_length=_HOP, start_bpm=90)[0])
    chroma = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE, hop_length=2048, tuning=0.0).mean(axis=1)
    return MusicalInfo(round(bpm, 1), estimate_key(chroma))


def estimate_key(chroma: np.ndarray) -> str:
    """Best-correlating of the 24 major/minor key profiles for a 12-bin mean chroma vector."""
    best, best_r = "C major", -np.inf
    for tonic in range(12):
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
            if r > best_r:
                best, best_r = f"{_NOTES[tonic]} {mode}", r
    return best
