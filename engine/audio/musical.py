"""Tempo, key and time signature of a track: ACE-Step 1.5 takes them as conditioning.

Analysis runs on a 60 s excerpt from the middle at 11025 Hz. The methods are the standard ones librosa
implements (tempo: spectral flux of a log-mel spectrogram, its windowed autocorrelation and a log-normal
tempo prior around 90 bpm; key: the mean STFT chroma correlated with the Krumhansl-Kessler profiles),
written here with numpy alone: importing librosa (numba, scipy.signal) costs each ingest worker about 3 s
of CPU, more than the whole analysis of a track. tests/engine/audio/test_musical.py checks the results
against librosa's. Lofi is overwhelmingly in 4/4 and meter detection is far less reliable than tempo, so
the time signature is reported as 4/4.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

import numpy as np
import soxr

from engine.audio.quality import to_mono

ANALYSIS_RATE = 11_025
EXCERPT_SEC = 60.0
_N_FFT = 2048
_ONSET_HOP = 256
_CHROMA_HOP = 2048
_MELS = 128
_AC_WINDOW_SEC = 8.0  # autocorrelation window: two bars even at 60 bpm
_PRIOR_BPM, _PRIOR_OCTAVES, _MAX_BPM = 90.0, 1.0, 320.0
_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class MusicalInfo:
    bpm: float
    key: str  # e.g. "C major", "A minor"
    time_signature: str = "4/4"


def estimate_musical(samples: np.ndarray, sample_rate: int) -> MusicalInfo:
    """Tempo and key of frames x channels (or mono) audio."""
    mono = to_mono(samples)
    n = int(EXCERPT_SEC * sample_rate)
    if mono.size > n:
        start = (mono.size - n) // 2
        mono = mono[start : start + n]
    y = soxr.resample(mono.astype(np.float32), sample_rate, ANALYSIS_RATE)
    return MusicalInfo(round(estimate_tempo(onset_strength(y)), 1), estimate_key(mean_chroma(y)))


def power_spectrogram(y: np.ndarray, hop: int) -> np.ndarray:
    """|STFT|^2 (bins x frames) with a Hann window, frames centred on multiples of ``hop`` (zero padding)."""
    padded = np.pad(y.astype(np.float32), _N_FFT // 2)
    if padded.size < _N_FFT:
        padded = np.pad(padded, (0, _N_FFT - padded.size))
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::hop]
    spectrum = np.fft.rfft(frames * np.hanning(_N_FFT + 1)[:-1].astype(np.float32), axis=1)
    return (spectrum.real**2 + spectrum.imag**2).T


def onset_strength(y: np.ndarray) -> np.ndarray:
    """Spectral flux per frame: the rise of each log-mel band from the previous frame where positive, averaged
    over bands."""
    db = 10 * np.log10(np.maximum(_mel_bank() @ power_spectrogram(y, _ONSET_HOP), 1e-10))
    db = np.maximum(db, db.max() - 80.0)  # an 80 dB floor, so silence does not read as huge rises
    flux = np.maximum(0.0, np.diff(db, axis=1)).mean(axis=0)
    # Frame t holds the rise into the STFT frame centred at t - 1; the delay librosa also applies.
    delay = 1 + _N_FFT // (2 * _ONSET_HOP)
    return np.concatenate([np.zeros(delay), flux])[: db.shape[1]]


def estimate_tempo(onset: np.ndarray) -> float:
    """The tempo whose beat period the onset envelope repeats at most, weighted towards ~90 bpm (one octave wide),
    so a groove at 80 bpm is not read as its 160 bpm hi-hats nor its 40 bpm bars."""
    win = int(round(_AC_WINDOW_SEC * ANALYSIS_RATE / _ONSET_HOP))
    padded = np.pad(onset, win // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, win)[:: max(1, win // 8)] * np.hanning(win)
    spectrum = np.fft.rfft(frames, n=2 * win, axis=1)
    ac = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, axis=1)[:, :win]
    peaks = np.abs(ac).max(axis=1, keepdims=True)
    ac = (ac / np.where(peaks > 0, peaks, 1.0)).mean(axis=0)
    lags = np.arange(1, win)
    bpm = 60.0 * ANALYSIS_RATE / (_ONSET_HOP * lags)
    log_prior = -0.5 * ((np.log2(bpm) - np.log2(_PRIOR_BPM)) / _PRIOR_OCTAVES) ** 2
    score = np.log1p(1e6 * np.maximum(ac[1:], 0.0)) + log_prior
    score[bpm > _MAX_BPM] = -np.inf
    return float(bpm[int(np.argmax(score))])


def mean_chroma(y: np.ndarray) -> np.ndarray:
    """The average of each frame's 12 pitch-class energies (each frame scaled to a maximum of 1, so loud
    passages do not outvote quiet ones)."""
    chroma = _chroma_bank() @ power_spectrogram(y, _CHROMA_HOP)
    peaks = chroma.max(axis=0)
    return cast(np.ndarray, (chroma / np.where(peaks > 0, peaks, 1.0)).mean(axis=1))


def estimate_key(chroma: np.ndarray) -> str:
    """Best-correlating of the 24 major/minor key profiles for a 12-bin mean chroma vector (C major for a flat
    one, e.g. silence, which correlates with none)."""
    best, best_r = "C major", -np.inf
    if np.ptp(chroma) == 0:
        return best
    for tonic in range(12):
        for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
            r = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
            if r > best_r:
                best, best_r = f"{_NOTES[tonic]} {mode}", r
    return best


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz < 1000.0, hz / (200.0 / 3), log_part)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return np.where(mel < 15.0, mel * (200.0 / 3), 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)))


@functools.cache
def _mel_bank() -> np.ndarray:
    """Triangular mel filters (bands x FFT bins), each scaled to unit area as Slaney's are."""
    fft_hz = np.fft.rfftfreq(_N_FFT, 1.0 / ANALYSIS_RATE)
    edges = _mel_to_hz(np.linspace(0.0, float(_hz_to_mel(np.array(ANALYSIS_RATE / 2))), _MELS + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (fft_hz - lower) / (centre - lower)
    falling = (upper - fft_hz) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (upper - lower))
    return cast(np.ndarray, bank.astype(np.float32))


@functools.cache
def _chroma_bank() -> np.ndarray:
    """12 x FFT-bin weights: each bin shares its energy between the pitch classes within a semitone of its
    frequency, tapered outside ~C2-C8 (the rumble and hiss of a record carry no key)."""
    fft_hz = np.fft.rfftfreq(_N_FFT, 1.0 / ANALYSIS_RATE)[1:]
    semitones = 12.0 * np.log2(fft_hz / 440.0) + 9.0  # 0 = C
    distance = (semitones[None, :] - np.arange(12)[:, None] + 6.0) % 12.0 - 6.0
    weights = np.maximum(0.0, 1.0 - np.abs(distance))
    octave = semitones / 12.0 + 4.0  # C4 = 4.0
    weights *= np.exp(-0.5 * ((octave - 5.0) / 2.0) ** 2)
    return np.hstack([np.zeros((12, 1)), weights]).astype(np.float32)
