"""Fréchet Audio Distance, computed the numerically stable way, and FAD-inf.

FAD = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)) over frame embeddings, covariances
with n - 1. Tr((S1 S2)^(1/2)) is taken as the sum of the square roots of the eigenvalues of
R S2 R, with R = S1^(1/2) from a symmetric eigendecomposition: R S2 R is symmetric positive
semi-definite, so everything stays real (eigenvalues clipped at 0), all in float64.

FAD is biased upward roughly like 1/n, so a number means little without n. FAD-inf (as in fadtk)
evaluates FAD on random subsets of the evaluated set at several sizes from 500 frames (fadtk's
minimum) up, fits FAD = a + b/n and reports the intercept a, with the fit's R^2.

Validity: a covariance from n frames in d dimensions has rank at most n - 1, so with n < d it is
singular and FAD mostly measures the sample size. A FAD is marked "not reliable (n < 2d)" when
either side has fewer than 2d frames; FAD-inf is unavailable below 500 evaluated frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

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
    return cast(np.ndarray, (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T)


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


RELIABLE_FRAMES_PER_DIM = 2
FAD_INF_MIN_FRAMES = 500  # fadtk's smallest subset


def reliability(n_ref: int, n_eval: int, dim: int) -> str | None:
    """None when both sides have at least 2d frames, else why the FAD is not reliable."""
    need = RELIABLE_FRAMES_PER_DIM * dim
    short = [f"{n} {side} frames" for n, side in ((n_eval, "evaluated"), (n_ref, "reference")) if n < need]
    if not short:
        return None
    return f"not reliable (n < 2d): {' and '.join(short)} for {dim} dimensions (need {need})"


def fad_inf(reference: np.ndarray | Stats, evaluated: np.ndarray, points: int = 8, seed: int = 0) -> FadInf:
    """Fit FAD against 1/n over random subsets of ``evaluated``, from 500 frames to all of them."""
    ref = reference if isinstance(reference, Stats) else stats(reference)
    x = np.asarray(evaluated, dtype=np.float64)
    n_total = x.shape[0]
    if n_total < FAD_INF_MIN_FRAMES:
        raise MetricError(f"FAD-inf unavailable: needs at least {FAD_INF_MIN_FRAMES} evaluated frames "
                          f"(fadtk's minimum), got {n_total}")
    sizes = sorted({int(s) for s in np.linspace(FAD_INF_MIN_FRAMES, n_total, points)})
    if len(sizes) < 3:
        raise MetricError(f"FAD-inf unavailable: {n_total} evaluated frames leave no range of subset sizes "
                          f"above {FAD_INF_MIN_FRAMES} to fit over")
    rng = np.random.default_rng(seed)
    values = [fad(ref, x[rng.choice(n_total, size=s, replace=False)]) for s in sizes]
    inv = 1.0 / np.array(sizes, dtype=np.float64)
    slope, intercept = np.polyfit(inv, values, 1)
    predicted = intercept + slope * inv
    fitted = np.asarray(values)
    total = np.sum((fitted - np.mean(values)) ** 2)
    r2 = 1.0 - np.sum((fitted - predicted) ** 2) / total if total > 0 else 1.0
    return FadInf(float(intercept), float(slope), float(r2), sizes)


def per_track_fad(reference: Stats, tracks: dict[str, np.ndarray]) -> dict[str, float]:
    """FAD of each track's frames against the reference: outliers stand out at the top."""
    out = {name: fad(reference, emb) for name, emb in tracks.items() if emb.shape[0] >= 2}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
