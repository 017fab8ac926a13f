"""Fréchet Audio Distance, computed the numerically stable way, and FAD-inf.

FAD = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)) over frame embeddings, covariances
with n - 1. Tr((S1 S2)^(1/2)) is taken as the sum of the square roots of the eigenvalues of
R S2 R, with R = S1^(1/2) from a symmetric eigendecomposition: R S2 R is symmetric positive
semi-definite, so everything stays real (eigenvalues clipped at 0), all in float64.

FAD is biased upward roughly like 1/n, so a number means little without n. FAD-inf (as in fadtk)
evaluates FAD on random subsets of the evaluated set at several sizes, fits FAD = a + b/n and
reports the intercept a, with the fit's R^2 so a poor extrapolation is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import LofiError


class MetricError(LofiError):
    """Not enough data for a metric to mean anything."""


@dataclass(frozen=True)
class Stats:
    mu: np.ndarray
    cov: np.ndarray
    n: int


def stats(embeddings: np.ndarray) -> Stats:
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise MetricError(f"need at least 2 embedding frames for statistics, got {x.shape[0] if x.ndim == 2 else 0}")
    return Stats(x.mean(axis=0), np.cov(x, rowvar=False, ddof=1), x.shape[0])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: Stats, b: Stats) -> float:
    root = _sqrt_psd(a.cov)
    middle = root @ b.cov @ root
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = a.mu - b.mu
    value = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_sqrt
    return float(max(value, 0.0))


def fad(reference: np.ndarray | Stats, evaluated: np.ndarray | Stats) -> float:
    ref = reference if isinstance(reference, Stats) else stats(reference)
    ev = evaluated if isinstance(evaluated, Stats) else stats(evaluated)
    return frechet_distance(ref, ev)


@dataclass(frozen=True)
class FadInf:
    value: float  # the intercept: FAD extrapolated to infinitely many frames
    slope: float
    r2: float
    sizes: list[int]


def fad_inf(reference: np.ndarray | Stats, evaluated: np.ndarray, points: int = 8, seed: int = 0) -> FadInf:
    """Fit FAD against 1/n over random subsets of ``evaluated`` (from 20 % of it to all of it)."""
    ref = reference if isinstance(reference, Stats) else stats(reference)
    x = np.asarray(evaluated, dtype=np.float64)
    n_total = x.shape[0]
    low = max(2, int(0.2 * n_total))
    if n_total < 4:
        raise MetricError(f"FAD-inf needs at least 4 evaluated frames, got {n_total}")
    sizes = sorted({int(s) for s in np.linspace(low, n_total, points)})
    rng = np.random.default_rng(seed)
    values = [fad(ref, x[rng.choice(n_total, size=s, replace=False)]) for s in sizes]
    inv = 1.0 / np.array(sizes, dtype=np.float64)
    slope, intercept = np.polyfit(inv, values, 1)
    predicted = intercept + slope * inv
    total = np.sum((values - np.mean(values)) ** 2)
    r2 = 1.0 - np.sum((values - predicted) ** 2) / total if total > 0 else 1.0
    return FadInf(float(intercept), float(slope), float(r2), sizes)


def per_track_fad(reference: Stats, tracks: dict[str, np.ndarray]) -> dict[str, float]:
    """FAD of each track's frames against the reference: outliers stand out at the top."""
    out = {name: fad(reference, emb) for name, emb in tracks.items() if emb.shape[0] >= 2}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
