import numpy as np
import pytest
import scipy.linalg

from engine.metrics.fad import MetricError, fad, fad_inf, per_track_fad, stats


def _direct(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def test_identical_sets_give_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert fad(x, x) == pytest.approx(0.0, abs=1e-8)


def test_mean_shift_adds_its_squared_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 8))
    shift = np.array([0.5, -0.3, 0, 0, 0.2, 0, 0, 0.1])
    assert fad(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_same_distribution_converges_to_zero_as_n_grows():
    rng = np.random.default_rng(2)
    values = [fad(rng.normal(size=(n, 32)), rng.normal(size=(n, 32))) for n in (100, 1000, 10000)]
    assert values[0] > values[1] > values[2] and values[2] < 0.1 * values[0]


def test_agrees_with_scipy_sqrtm_to_1e_6():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(400, 24)) @ rng.normal(size=(24, 24))
    b = rng.normal(size=(300, 24)) @ rng.normal(size=(24, 24)) + 0.3
    assert fad(a, b) == pytest.approx(_direct(a, b), rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_fad_inf_removes_most_of_the_small_sample_bias(seed):
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(20000, 16))
    shift = np.full(16, 0.25)
    evaluated = rng.normal(size=(150, 16)) + shift
    result = fad_inf(ref, evaluated)
    true = float(shift @ shift)  # 1.0; plain FAD at 150 frames sits near 1.5-1.8
    assert abs(result.value - true) < abs(fad(ref, evaluated) - true)
    assert result.slope > 0 and 0.8 < result.r2 <= 1.0 and result.sizes[-1] == 150


def test_per_track_fad_puts_the_outlier_first():
    rng = np.random.default_rng(5)
    ref = stats(rng.normal(size=(2000, 8)))
    tracks = {"a": rng.normal(size=(200, 8)), "odd": rng.normal(size=(200, 8)) + 2.0, "b": rng.normal(size=(200, 8))}
    assert next(iter(per_track_fad(ref, tracks))) == "odd"


def test_too_few_frames_is_a_clear_error():
    with pytest.raises(MetricError, match="at least 2 embedding frames"):
        fad(np.zeros((1, 4)), np.zeros((5, 4)))
