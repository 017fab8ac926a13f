"""BS.1770 loudness and loudness matching, measured on the audio the gains produce."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.audio import synth
from engine.audio.io import write_audio
from engine.audio.loudness import LoudnessError, integrated_loudness, matching_gains


def _apply(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return audio * np.float32(10 ** (gain_db / 20))


def test_a_full_scale_1khz_sine_reads_minus_3_lufs_as_the_standard_says():
    """BS.1770-4: a 0 dBFS 1 kHz sine in one channel measures -3.01 LKFS (K-weighting is ~0 dB there)."""
    t = np.arange(5 * 48_000) / 48_000
    assert integrated_loudness(np.sin(2 * np.pi * 1000 * t), 48_000) == pytest.approx(-3.01, abs=0.05)
    assert integrated_loudness(0.5 * np.sin(2 * np.pi * 1000 * t), 48_000) == pytest.approx(-9.03, abs=0.05)


def test_silence_has_no_loudness_and_too_short_audio_is_refused():
    assert integrated_loudness(np.zeros((48_000, 2)), 48_000) == -math.inf
    with pytest.raises(LoudnessError, match="at least 0.4 s"):
        integrated_loudness(np.zeros((1000, 2)), 48_000)


def test_matching_gains_bring_files_and_arrays_to_one_loudness(tmp_path):
    loud = synth.lofi(6, seed=1) * np.float32(0.9)
    quiet = synth.lofi(6, seed=2) * np.float32(0.05)
    write_audio(tmp_path / "loud.wav", loud, synth.SR)
    gains = matching_gains([tmp_path / "loud.wav", quiet], target_lufs=-23.0)
    after = [integrated_loudness(_apply(x, g), synth.SR) for x, g in zip((loud, quiet), gains)]
    assert after[0] == pytest.approx(-23.0, abs=0.05) and after[1] == pytest.approx(-23.0, abs=0.05)
    assert gains[0] < 0 < gains[1]


def test_matching_lowers_the_common_level_rather_than_clip():
    quiet = synth.lofi(6, seed=3) * np.float32(0.02)
    peaky = synth.lofi(6, seed=4)
    gains = matching_gains([quiet, peaky], target_lufs=-10.0)
    outs = [_apply(x, g) for x, g in zip((quiet, peaky), gains)]
    levels = [integrated_loudness(o, synth.SR) for o in outs]
    assert abs(levels[0] - levels[1]) < 0.05 and levels[0] < -10.0
    assert max(float(np.abs(o).max()) for o in outs) <= 10 ** (-1 / 20) + 1e-6


def test_a_silent_item_gets_no_gain_and_a_short_file_is_named(tmp_path):
    assert matching_gains([np.zeros((48_000, 2), np.float32), synth.lofi(3, seed=5)])[0] == 0.0
    write_audio(tmp_path / "blip.wav", synth.tone(440, 0.1), synth.SR)
    with pytest.raises(LoudnessError, match="blip.wav"):
        matching_gains([tmp_path / "blip.wav"])
