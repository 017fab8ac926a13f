import numpy as np
import pytest
import scipy.linalg

from engine.metrics.fad import (
    MetricError,
    Stats,
    fad,
    fad_inf,
    frechet_distance,
    per_track_fad,
    reliability,
    stats,
)


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
    ref = rng.normal(size=(20000, 64))
    shift = np.full(64, 0.125)
    evaluated = rng.normal(size=(2000, 64)) + shift
    result = fad_inf(ref, evaluated)
    true = float(shift @ shift)  # 1.0; plain FAD at 2000 frames sits near 1.55
    assert abs(result.value - true) < 0.1 < abs(fad(ref, evaluated) - true)
    assert result.slope > 0 and 0.9 < result.r2 <= 1.0
    assert result.sizes[0] == 500 and result.sizes[-1] == 2000  # fadtk's smallest subset up to all frames


def test_per_track_fad_puts_the_outlier_first():
    rng = np.random.default_rng(5)
    ref = stats(rng.normal(size=(2000, 8)))
    tracks = {"a": rng.normal(size=(200, 8)), "odd": rng.normal(size=(200, 8)) + 2.0, "b": rng.normal(size=(200, 8))}
    assert next(iter(per_track_fad(ref, tracks))) == "odd"


def test_too_few_frames_is_a_clear_error():
    with pytest.raises(MetricError, match="at least 2 embedding frames"):
        fad(np.zeros((1, 4)), np.zeros((5, 4)))


def test_frechet_distance_of_known_gaussians_is_exact():
    """Diagonal covariances: FAD = |mu1 - mu2|^2 + sum((sqrt(a_i) - sqrt(b_i))^2), no sampling involved."""
    a_var, b_var = np.array([1.0, 4.0, 0.25, 9.0]), np.array([4.0, 1.0, 1.0, 9.0])
    mu_a, mu_b = np.array([0.0, 1.0, 0.0, -2.0]), np.array([1.0, 1.0, 0.5, 0.0])
    expected = float(np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(a_var) - np.sqrt(b_var)) ** 2))  # 5.25 + 2.25
    got = frechet_distance(Stats(mu_a, np.diag(a_var), 1000), Stats(mu_b, np.diag(b_var), 1000))
    assert got == pytest.approx(expected, rel=1e-12) and expected == 7.5


def test_a_scaled_covariance_gives_its_closed_form():
    """S2 = c^2 S1: FAD = (1 - c)^2 Tr(S1) for any S1."""
    rng = np.random.default_rng(7)
    m = rng.normal(size=(6, 6))
    cov = m @ m.T
    got = frechet_distance(Stats(np.zeros(6), cov, 100), Stats(np.zeros(6), 9.0 * cov, 100))
    assert got == pytest.approx(4.0 * np.trace(cov), rel=1e-9)


def test_fewer_than_twice_the_dimension_in_frames_is_marked_not_reliable():
    note = reliability(n_ref=2000, n_eval=76, dim=512)
    assert note.startswith("not reliable (n < 2d)") and "76 evaluated frames" in note and "1024" in note
    assert "reference" not in note
    assert "reference" in reliability(n_ref=300, n_eval=2000, dim=512)
    assert reliability(n_ref=1024, n_eval=1024, dim=512) is None


def test_fad_inf_needs_fadtks_500_frames():
    rng = np.random.default_rng(8)
    with pytest.raises(MetricError, match="at least 500 evaluated frames"):
        fad_inf(rng.normal(size=(2000, 4)), rng.normal(size=(499, 4)))
    assert fad_inf(rng.normal(size=(2000, 4)), rng.normal(size=(600, 4))).sizes[0] == 500
