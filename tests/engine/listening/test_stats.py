"""Exact statistics against scipy.stats.binomtest, and the power rule's verdicts on constructed results."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from engine.listening import stats
from engine.listening.report import Report, _discrimination, _preference

# every (k, n) up to 30 trials, and a spread of larger tests (pooled listeners reach hundreds)
CASES = [(k, n) for n in range(1, 31) for k in range(n + 1)] + [
    (k, n) for n in (37, 64, 100, 250, 620) for k in sorted({0, 1, n // 4, n // 2, n // 2 + 3, 3 * n // 4, n - 1, n})]


def test_p_values_equal_scipy_binomtest_to_1e_12():
    for k, n in CASES:
        assert stats.p_greater(k, n) == pytest.approx(binomtest(k, n, 0.5, alternative="greater").pvalue, abs=1e-12)
        assert stats.p_two_sided(k, n) == pytest.approx(binomtest(k, n, 0.5).pvalue, abs=1e-12)


@pytest.mark.slow
def test_clopper_pearson_intervals_equal_scipy_proportion_ci_to_1e_12():
    for k, n in CASES:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        low, high = stats.clopper_pearson(k, n)
        assert low == pytest.approx(ci.low, abs=1e-12) and high == pytest.approx(ci.high, abs=1e-12), (k, n)


def test_critical_counts_and_power_match_their_definitions():
    for n in range(1, 80):
        k = stats.critical_count(n)
        significant = [j for j in range(n + 1) if binomtest(j, n, 0.5, alternative="greater").pvalue <= 0.05]
        assert k == (significant[0] if significant else None)
    for n in (10, 16, 20, 50, 100):
        p = stats.detectable_accuracy(n)
        k = stats.critical_count(n)
        # power at the detectable accuracy is 80 %: the chance of reaching the critical count
        assert stats.binom_sf(k, n, p) == pytest.approx(0.8, abs=1e-9)
        assert binomtest(k, n, 0.5, alternative="greater").pvalue <= 0.05
    assert stats.detectable_accuracy(4) is None  # 4 of 4 has p = 1/16 > 0.05
    assert stats.detectable_accuracy(16) == pytest.approx(0.8006, abs=1e-4)
    assert stats.trials_needed(0.75) == 23


def _abx(k: int, n: int, kind: str = "abx") -> Report:
    r = Report(kind, "a", "b", "A", "B", ["t"], ["ana"], "finished", n, n)
    _discrimination(r, k)
    return r


def test_the_power_rule_never_claims_indistinguishable_without_enough_trials():
    # at chance, but 20 trials only catch listeners right ~80 % of the time: no claim
    r = _abx(10, 20)
    assert r.verdict == "inconclusive" and "too few trials (n = 20)" in r.summary and "n >= 23" in r.summary
    assert r.trials_needed == 23
    # the same accuracy over 200 trials (e.g. pooled listeners) supports the claim
    r = _abx(100, 200, "real")
    assert r.verdict == "indistinguishable" and r.detectable <= 0.75
    # 56 % is above the 55 % ceiling even when not significant
    r = _abx(56, 100)
    assert r.verdict == "inconclusive" and "above 55 %" in r.summary
    # significant is significant at any n
    assert _abx(13, 16).verdict == "distinguishable" and _abx(13, 16).p_value == pytest.approx(0.0106, abs=1e-4)
    assert "picked the real track" in _abx(15, 20, "real").summary
    assert _abx(3, 3).verdict == "inconclusive" and "no result could be significant" in _abx(3, 3).summary


def _pref(w: int, t: int, losses: int) -> Report:
    r = Report("preference", "a", "b", "int8", "fp32", ["t"], ["ana"], "finished", w + t + losses, w + t + losses)
    _preference(r, w, t, losses)
    return r


def test_the_40_percent_criterion_is_judged_on_the_interval():
    met = _pref(9, 6, 5)
    assert met.verdict == "met" and met.ci_low >= 0.4 and met.rate == 0.75
    assert met.p_value == pytest.approx(binomtest(9, 14, 0.5).pvalue, abs=1e-12)
    assert _pref(2, 1, 17).verdict == "not met"
    undecided = _pref(5, 4, 11)  # 45 %: above 40 % but the interval reaches well below
    assert undecided.verdict == "inconclusive" and undecided.ci_low < 0.4 < undecided.ci_high
