"""Tempo and key analysis against librosa, the reference implementation of the same methods, and against
music whose tempo and key are known."""

from __future__ import annotations

import subprocess
import sys

import librosa
import numpy as np
import pytest
import soxr

from engine.audio import synth
from engine.audio.musical import (
    ANALYSIS_RATE,
    estimate_key,
    estimate_musical,
    estimate_tempo,
    mean_chroma,
    onset_strength,
)
from engine.audio.quality import to_mono

HOP = 256


def _analysis_signal(seconds: float, seed: int) -> np.ndarray:
    return soxr.resample(to_mono(synth.lofi(seconds, seed=seed)), synth.SR, ANALYSIS_RATE)


@pytest.mark.parametrize("seed", [0, 2, 5])
def test_onset_envelope_and_tempo_equal_librosa(seed):
    y = _analysis_signal(40, seed)
    reference = librosa.onset.onset_strength(y=y, sr=ANALYSIS_RATE, hop_length=HOP)
    ours = onset_strength(y)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=1e-4 * reference.max())
    librosa_bpm = librosa.feature.tempo(onset_envelope=reference, sr=ANALYSIS_RATE, hop_length=HOP, start_bpm=90)[0]
    assert estimate_tempo(ours) == pytest.approx(librosa_bpm, rel=1e-6)


def test_mean_chroma_follows_librosa():
    y = _analysis_signal(40, seed=1)
    reference = librosa.feature.chroma_stft(y=y, sr=ANALYSIS_RATE, hop_length=2048, tuning=0.0).mean(axis=1)
    assert np.corrcoef(mean_chroma(y), reference)[0, 1] > 0.97
    assert int(np.argmax(mean_chroma(y))) == int(np.argmax(reference))


def _cadence(tonic_midi: int, minor: bool, seconds_per_chord: float = 1.5) -> np.ndarray:
    """I-IV-V-I (or i-iv-v-i) as sustained triads with a little vibrato-free harmonic content, repeated."""
    third = 3 if minor else 4
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 7 + 4, 14), (0, third, 7)]
    t = np.arange(int(seconds_per_chord * synth.SR)) / synth.SR
    parts = []
    for chord in chords * 4:
        tone = sum(np.sin(2 * np.pi * 440.0 * 2 ** ((tonic_midi + step - 69) / 12) * t * h) / h
                   for step in chord for h in (1, 2, 3))
        parts.append(0.1 * tone * np.minimum(1.0, t / 0.02))
    mono = np.concatenate(parts).astype(np.float32)
    return np.repeat(mono[:, None], 2, axis=1)


@pytest.mark.parametrize(("tonic_midi", "minor", "key"), [(62, False, "D major"), (57, True, "A minor"),
                                                          (65, False, "F major")])
def test_key_of_a_cadence(tonic_midi, minor, key):
    assert estimate_musical(_cadence(tonic_midi, minor), synth.SR).key == key


@pytest.mark.parametrize("bpm", [64, 78, 95])
def test_tempo_of_a_groove_at_known_bpm(bpm):
    assert estimate_musical(synth.lofi(40, seed=3, bpm=bpm), synth.SR).bpm == pytest.approx(bpm, abs=2)


def test_key_profile_matching():
    c_major_triad = np.zeros(12)
    c_major_triad[[0, 4, 7]] = 1.0
    assert estimate_key(c_major_triad) == "C major"


def test_silence_and_short_audio_give_an_answer():
    assert estimate_musical(synth.silence(5), synth.SR).time_signature == "4/4"
    assert estimate_musical(synth.lofi(0.1, seed=1), synth.SR).bpm > 0


def test_ingest_workers_do_not_load_librosa_or_scipy_signal(tmp_path):
    """Each ingest worker loaded both (~4 s of CPU before its first file: numba, scipy.signal); a short import
    makes a small batch faster than the whole analysis it then does."""
    code = ("import sys; from engine.audio import synth; from engine.ingest.pipeline import process, Job;"
            "from engine.audio.io import write_audio; from pathlib import Path; d = Path(sys.argv[1]);"
            "write_audio(d / 'a.wav', synth.lofi(31, seed=1), synth.SR);"
            "r = process(Job(d / 'a.wav', 'a', d / 'a.mp3', d / 'a.npy')); assert r.status == 'accepted', r.message;"
            "print(sorted(m for m in ('librosa', 'numba', 'scipy.signal', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
