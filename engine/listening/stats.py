"""Exact binomial statistics for blind listening tests.

- p-values: the exact one-sided binomial test against guessing, P(X >= k | n, 1/2), in integer
  arithmetic; for preferences the exact two-sided sign test of wins against losses (ties dropped).
- intervals: two-sided Clopper-Pearson ("exact"), the bounds where the binomial tail reaches
  (1 - level) / 2.
- power: the smallest true accuracy that a test of n trials detects at alpha 0.05 with 80 % power.

Written out rather than taken from ``scipy.stats`` so that the dashboard does not load it; the tests
check every figure against ``scipy.stats.binomtest`` and its ``proportion_ci``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

import numpy as np

ALPHA = 0.05
POWER = 0.80
LEVEL = 0.95


@lru_cache(maxsize=128)
def _log_comb(n: int) -> np.ndarray:
    return np.array([math.log(math.comb(n, i)) for i in range(n + 1)])


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0 or p >= 1.0:
        return 1.0 if k <= n else 0.0
    if k > n or p <= 0.0:
        return 0.0
    i = np.arange(k, n + 1)
    terms = np.exp(_log_comb(n)[k:] + i * math.log(p) + (n - i) * math.log1p(-p))
    return float(min(terms.sum(), 1.0))


def _tail_half(k: int, n: int) -> Fraction:
    """P(X >= k | n, 1/2), exactly."""
    return Fraction(sum(math.comb(n, i) for i in range(max(k, 0), n + 1)), 2 ** n)


def p_greater(k: int, n: int) -> float:
    """Exact one-sided p-value of k successes in n trials against guessing (probability 1/2)."""
    return float(_tail_half(k, n))


def p_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value against 1/2 (symmetric, so twice the smaller tail, at most 1)."""
    if n == 0:
        return 1.0
    return float(min(Fraction(1), 2 * min(_tail_half(k, n), _tail_half(n - k, n))))


def _solve_increasing(f: Callable[[float], float], target: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """The p in [lo, hi] where the increasing function f crosses ``target``, to the last bit."""
    while True:
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            return mid
        if f(mid) < target:
            lo = mid
        else:
            hi = mid


def _lower_bound(k: int, n: int, tail: float) -> float:
    return 0.0 if k == 0 else _solve_increasing(lambda p: binom_sf(k, n, p), tail)


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Two-sided exact confidence interval for a proportion of k in n."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1.0 - level) / 2.0
    high = 1.0 if k == n else 1.0 - _lower_bound(n - k, n, tail)  # by symmetry: failures' lower bound
    return _lower_bound(k, n, tail), high


def critical_count(n: int, alpha: float = ALPHA) -> int | None:
    """The fewest correct answers out of n that are significant at ``alpha``; None when none are."""
    limit, tail = Fraction(alpha) * 2 ** n, 0
    for k in range(n, -1, -1):
        tail += math.comb(n, k)
        if tail > limit:
            return k + 1 if k < n else None
    return 0


def detectable_accuracy(n: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """The smallest true accuracy that n trials detect at ``alpha`` with probability ``power``;
    None when n is too small for any result to be significant."""
    k = critical_count(n, alpha)
    if k is None:
        return None
    return _solve_increasing(lambda p: binom_sf(k, n, p), power, 0.5, 1.0)


def trials_needed(accuracy: float, alpha: float = ALPHA, power: float = POWER, limit: int = 5000) -> int | None:
    """The fewest trials whose detectable accuracy is at most ``accuracy``."""
    for n in range(1, limit + 1):
        detectable = detectable_accuracy(n, alpha, power)
        if detectable is not None and detectable <= accuracy:
            return n
    return None
