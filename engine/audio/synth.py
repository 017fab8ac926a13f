"""Synthesized audio for the demo workspace and the tests (no binary fixtures in git).

The "lofi" generator is a toy: a seeded chord progression on soft saw pads, a boom-bap-like kick and
snare, hats and vinyl crackle. It is broadband (so quality analysis sees a real bandwidth) and each
seed gives a different, recognisable piece, which is what fingerprinting tests need.
"""

from __future__ import annotations

import numpy as np

SR = 48_000

_CHORDS = [
    (0, 4, 7, 11),  # maj7
    (0, 3, 7, 10),  # min7
    (0, 4, 7, 10),  # dom7
    (0, 3, 7, 10, 14),  # min9
]


def tone(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def noise(seconds: float, sr: int = SR, amplitude: float = 0.1, seed: int = 0, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal((int(seconds * sr), channels))).astype(np.float32)


def silence(seconds: float, sr: int = SR, channels: int = 2) -> np.ndarray:
    return np.zeros((int(seconds * sr), channels), dtype=np.float32)


def clipped(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Music driven hard into the rails: far more than 0.1 % of samples at |x| > 0.99."""
    return np.clip(lofi(seconds, sr=sr, seed=seed) * 8.0, -1.0, 1.0)


def lofi(seconds: float, sr: int = SR, seed: int = 0, bpm: float | None = None) -> np.ndarray:
    """A seeded lofi-ish loop: chords, kick, snare, hats, crackle. Stereo float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    bpm = bpm or float(rng.uniform(70, 92))
    beat = 60.0 / bpm
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    progression = [int(rng.integers(0, 12)) for _ in range(4)]
    qualities = [_CHORDS[int(rng.integers(0, len(_CHORDS)))] for _ in range(4)]

    out = np.zeros((n, 2), dtype=np.float64)
    bar = 4 * beat
    for i in range(int(np.ceil(seconds / bar))):
        start, stop = int(i * bar * sr), min(n, int((i + 1) * bar * sr))
        if start >= n:
            break
        seg_t = t[start:stop] - t[start]
        base = root * 2 ** (progression[i % 4] / 12)
        env = np.minimum(1.0, seg_t / 0.05) * (0.5 + 0.5 * np.exp(-seg_t / bar))
        for j, interval in enumerate(qualities[i % 4]):
            f = base * 2 ** (interval / 12)
            detune = 1 + 0.002 * (j - 1.5)
            wave = 2 * ((seg_t * f * detune) % 1.0) - 1  # saw
            pan = 0.3 + 0.4 * (j % 2)
            out[start:stop, 0] += 0.06 * env * wave * (1 - pan)
            out[start:stop, 1] += 0.06 * env * wave * pan
        out[start:stop] += (0.12 * env * np.sin(2 * np.pi * base / 2 * seg_t))[:, None]  # bass

    beats = np.arange(0, seconds, beat / 2)
    for k, b in enumerate(beats):
        s = int(b * sr)
        if s >= n:
            break
        if k % 4 == 0 or (k % 8 == 5):
            _add(out, s, _kick(sr), 0.7)
        if k % 4 == 2:
            _add(out, s, _snare(sr, rng), 0.35)
        _add(out, s, _hat(sr, rng), 0.08 + 0.04 * (k % 2))

    crackle = np.zeros(n)
    pops = rng.integers(0, n, size=int(seconds * 30))
    crackle[pops] = rng.uniform(-0.3, 0.3, size=pops.size)
    hiss = 0.004 * rng.standard_normal(n)
    out += (crackle + hiss)[:, None]
    # Gentle low-pass-ish warmth is left out on purpose: the toy must stay broadband.
    peak = np.max(np.abs(out)) or 1.0
    return (0.8 * out / peak).astype(np.float32)


def _add(out: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    stop = min(out.shape[0], start + sound.size)
    out[start:stop] += gain * sound[: stop - start, None]


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50 + 90 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 14)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    return (0.6 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 22)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    x = rng.standard_normal(t.size)
    x = np.diff(x, prepend=0.0)  # tilt towards the highs
    return x * np.exp(-t * 90)
