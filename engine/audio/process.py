"""Turn a decoded source into the training format: 48 kHz stereo, at most 240 s, peak -1 dBFS, 320 kbps MP3."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import soundfile as sf
import soxr

from engine.audio.io import write_audio
from engine.audio.quality import to_mono
from engine.errors import AudioError

TARGET_RATE = 48_000
TARGET_PEAK_DBFS = -1.0
PEAK_TOLERANCE_DB = 0.2
FADE_OUT_SEC = 2.0
_MAX_ENCODE_PASSES = 3
MAX_PEAK_ERROR_DB = 0.5  # beyond this after every pass, the round trip is broken, not just imprecise
MP3_FRAME = 1152
MAX_SHIFT_SEC = 0.001
_SHIFT_SEARCH_SEC = 0.1
_LOWPASS_HZ, _LOWPASS_WIDTH_HZ, _LOWPASS_ATTENUATION_DB = 20_000, 1_000, 80.0
_FFT_BLOCK = 1 << 13  # overlap-add FFT size: the fastest of 2^12..2^16 for a 241-tap filter


def to_stereo(samples: np.ndarray) -> np.ndarray:
    """Mono is duplicated; channels beyond the first two are folded into both sides at -3 dB."""
    channels = samples.shape[1]
    if channels == 1:
        return np.repeat(samples, 2, axis=1)
    if channels == 2:
        return samples
    extra = cast(np.ndarray, samples[:, 2:].sum(axis=1, keepdims=True)) * np.float32(np.sqrt(0.5))
    return samples[:, :2] + extra


def resample(samples: np.ndarray, rate: int, target: int = TARGET_RATE) -> np.ndarray:
    """High-quality (soxr HQ) resampling; a no-op at the target rate."""
    if rate == target:
        return samples
    return cast(np.ndarray, soxr.resample(samples, rate, target, quality="HQ")).astype(np.float32)


def trim(samples: np.ndarray, rate: int, max_sec: float) -> tuple[np.ndarray, bool]:
    """Cut to ``max_sec`` with a raised-cosine fade-out so the cut does not click."""
    limit = int(max_sec * rate)
    if samples.shape[0] <= limit:
        return samples, False
    out = samples[:limit].copy()
    n = int(FADE_OUT_SEC * rate)
    fade = (0.5 * (1 + np.cos(np.linspace(0, np.pi, n)))).astype(np.float32)
    out[-n:] *= fade[:, None]
    return out, True


def peak_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.max(np.abs(samples))), 1e-12)))


def band_limit(samples: np.ndarray) -> np.ndarray:
    """20 kHz low-pass: what LAME keeps at 320 kbps anyway, applied before we measure peaks.

    Without it the encoder's own low-pass moves sharp peaks (vinyl crackle, transients) by up to
    ±0.9 dB and the MP3 misses -1 dBFS; with it the first encode lands within about 0.15 dB. The filter
    is linear-phase (a Kaiser-windowed sinc, delay removed), so it moves no peak in time, and numpy's FFT
    runs it: scipy.signal would cost each ingest worker 1.7 s of CPU to import.
    """
    taps, response = _lowpass()
    n, delay = samples.shape[0], (taps - 1) // 2
    step = _FFT_BLOCK - taps + 1
    channels = np.ascontiguousarray(samples.T, dtype=np.float32)
    out = np.zeros((channels.shape[0], n + taps - 1), dtype=np.float32)
    for start in range(0, n, step):
        block = np.fft.irfft(np.fft.rfft(channels[:, start : start + step], _FFT_BLOCK, axis=1) * response,
                             _FFT_BLOCK, axis=1)
        stop = min(out.shape[1], start + _FFT_BLOCK)
        out[:, start:stop] += block[:, : stop - start]
    return np.ascontiguousarray(out[:, delay : delay + n].T)


@functools.cache
def _lowpass() -> tuple[int, np.ndarray]:
    """Length and block spectrum of a Kaiser-windowed sinc with an 80 dB stop band from 20.5 kHz (Kaiser's
    length and beta formulas)."""
    beta = 0.1102 * (_LOWPASS_ATTENUATION_DB - 8.7)
    count = int(np.ceil((_LOWPASS_ATTENUATION_DB - 8) / (2.285 * 2 * np.pi * _LOWPASS_WIDTH_HZ / TARGET_RATE))) | 1
    cutoff = 2 * _LOWPASS_HZ / TARGET_RATE
    taps = cutoff * np.sinc(cutoff * (np.arange(count) - (count - 1) / 2)) * np.kaiser(count, beta)
    return count, np.fft.rfft((taps / taps.sum()).astype(np.float32), _FFT_BLOCK)


@dataclass(frozen=True)
class EncodedMp3:
    peak_dbfs: float  # of the decoded MP3
    frames: int  # decoded length: the source's, give or take codec padding (at most one MP3 frame)
    passes: int  # encodes it took to land the peak within 0.2 dB (usually 1)


def encode_normalized_mp3(samples: np.ndarray, out: Path, rate: int = TARGET_RATE) -> EncodedMp3:
    """Peak-normalise to -1 dBFS and encode 320 kbps CBR MP3 so that the *decoded* MP3 peaks at -1 dBFS.

    The audio is band-limited first (see :func:`band_limit`), then we decode what we wrote, check
    the round trip (:func:`check_round_trip`) and re-encode with the gain corrected in the rare case
    the peak is still more than 0.2 dB off.
    """
    samples = band_limit(samples)
    current = peak_dbfs(samples)
    if current <= -120:
        raise AudioError("audio is digital silence; nothing to normalise")
    gain_db = TARGET_PEAK_DBFS - current
    passes = 0
    while True:
        passes += 1
        write_audio(out, samples * np.float32(10 ** (gain_db / 20)), rate, fmt="mp3", bitrate_k=320)
        decoded, decoded_rate = sf.read(out, dtype="float32", always_2d=True)
        check_round_trip(samples, rate, decoded, decoded_rate)
        decoded_peak = peak_dbfs(decoded)
        error = decoded_peak - TARGET_PEAK_DBFS
        if abs(error) <= PEAK_TOLERANCE_DB or passes == _MAX_ENCODE_PASSES:
            break
        gain_db -= error
    if abs(error) > MAX_PEAK_ERROR_DB:
        raise AudioError(f"MP3 round trip peaks at {decoded_peak:.2f} dBFS after {_MAX_ENCODE_PASSES} encodes, "
                         f"not {TARGET_PEAK_DBFS:.0f} dBFS; the encoder or decoder is broken")
    return EncodedMp3(decoded_peak, decoded.shape[0], passes)


def check_round_trip(source: np.ndarray, rate: int, decoded: np.ndarray, decoded_rate: int) -> None:
    """Raise unless ``decoded`` is ``source`` through a working MP3 codec.

    Codec padding is not a fault: the length may differ by up to one MP3 frame (1152 samples; LAME
    pads some lengths by a few dozen). What a broken codec or a lost gapless header does is caught:
    a different rate, a length off by more than a frame, or audio that starts later or earlier
    than the source (found by cross-correlation) by more than 1 ms.
    """
    if decoded_rate != rate:
        raise AudioError(f"MP3 round trip changed the sample rate ({rate} -> {decoded_rate} Hz); "
                         "the encoder or decoder is broken")
    if abs(decoded.shape[0] - source.shape[0]) > MP3_FRAME:
        raise AudioError(f"MP3 round trip changed the length by {decoded.shape[0] - source.shape[0]:+d} frames "
                         f"({source.shape[0]} -> {decoded.shape[0]}), more than one MP3 frame; "
                         "the encoder or decoder is broken")
    shift = _offset(source, decoded, rate)
    if abs(shift) > MAX_SHIFT_SEC * rate:
        raise AudioError(f"MP3 round trip shifted the audio by {1000 * shift / rate:+.1f} ms "
                         f"({'silence added at the start' if shift > 0 else 'the start cut off'}); "
                         "the encoder or decoder is broken")


def _offset(source: np.ndarray, decoded: np.ndarray, rate: int) -> int:
    """Samples by which ``decoded`` lags ``source``: the cross-correlation peak over one second of audio
    from where the source first gets loud (so leading silence cannot hide a shift)."""
    start = _first_loud(source)
    span, reach = rate, int(_SHIFT_SEARCH_SEC * rate)
    a = to_mono(source[start : start + span])
    b = to_mono(decoded[max(0, start - reach) : start + span + reach])
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    best = int(np.argmax(corr[: b.size]))
    return best - (start - max(0, start - reach))


def _first_loud(samples: np.ndarray, chunk: int = 1 << 16) -> int:
    """First frame where a channel reaches a tenth of the peak; scanned a chunk at a time, since it is
    usually within the first second of a long track."""
    threshold = 0.1 * float(np.max(np.abs(samples))) if samples.size else 0.0
    for start in range(0, samples.shape[0], chunk):
        loud = np.flatnonzero((np.abs(samples[start : start + chunk]) > threshold).any(axis=1))
        if loud.size:
            return start + int(loud[0])
    return 0
