import numpy as np
import pytest
import soxr

from engine.audio import synth
from engine.audio.quality import analyze, gate

SR = synth.SR


def verdict(x, sr=SR):
    return gate(analyze(x, sr), x.shape[0] / sr)


def test_good_music_passes_and_scores_high():
    v = verdict(synth.lofi(31, seed=1))
    assert v.accepted and v.reason is None
    assert analyze(synth.lofi(31, seed=1), SR).score >= 75


def test_under_30_seconds_is_too_short():
    v = verdict(synth.lofi(29.5, seed=1))
    assert (v.accepted, v.reason) == (False, "too_short")
    assert "29.5 s" in v.message


def _with_clipped_share(share):
    x = synth.lofi(40, seed=2) * 0.5
    n = int(share * x.size)
    flat = x.reshape(-1)
    flat[np.linspace(0, flat.size - 1, n).astype(int)] = 1.0
    return x


def test_clipping_threshold_is_one_tenth_of_a_percent():
    assert verdict(_with_clipped_share(0.0008)).accepted
    v = verdict(_with_clipped_share(0.0015))
    assert (v.accepted, v.reason) == (False, "excessive_clipping")


def test_silence_threshold_is_half_the_samples():
    music = synth.lofi(20, seed=3)
    mostly_quiet = np.concatenate([music, synth.silence(25)])  # 55 % silent plus the music's own quiet bits
    v = verdict(mostly_quiet)
    assert (v.accepted, v.reason) == (False, "excessive_silence")
    assert verdict(np.concatenate([synth.lofi(40, seed=3), synth.silence(5)])).accepted


def test_upsampled_low_bandwidth_source_scores_lower():
    x = synth.lofi(35, seed=4)
    dull = soxr.resample(soxr.resample(x, SR, 16_000), 16_000, SR)
    full, low = analyze(x, SR), analyze(dull, SR)
    assert low.bandwidth_hz < 8_500 < 16_000 < full.bandwidth_hz
    assert low.score < full.score - 20
    assert low.components["bandwidth"] == 0.0


def test_brickwall_limited_master_scores_lower_on_dynamics():
    x = synth.lofi(35, seed=5)
    squashed = np.tanh(x * 20) * 0.95
    assert analyze(squashed, SR).components["dynamics"] < analyze(x, SR).components["dynamics"]


def test_score_is_deterministic_and_components_are_stored():
    x = synth.lofi(35, seed=6)
    a, b = analyze(x, SR), analyze(x.copy(), SR)
    assert a == b
    stored = a.as_dict()
    for key in ("clipping_share", "silence_share", "bandwidth_hz", "crest_db", "bandwidth_score", "dynamics_score"):
        assert key in stored
    assert 0 <= a.score <= 100


@pytest.mark.parametrize("rule_order", [True])
def test_first_failing_rule_wins(rule_order):
    short_and_clipped = np.clip(synth.lofi(10, seed=7) * 10, -1, 1)
    assert verdict(short_and_clipped).reason == "too_short"
