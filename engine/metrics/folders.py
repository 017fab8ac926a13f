"""Embedding folders of audio (with a cache) and FAD between two sets: ``lofi fad``'s engine."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

from engine.atomic import atomic_write_bytes
from engine.audio.io import SUPPORTED_FORMATS, decode
from engine.hashing import file_sha256
from engine.metrics.embedders import Embedder, EmbedderInfo
from engine.metrics.fad import MetricError, fad, fad_inf, per_track_fad, reliability, stats
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress


class EmbeddingCache:
    """``<root>/<embedder>/<identity digest>/<audio sha256>.npy``.

    The identity (weights hash + preprocessing version) is part of the key, so the same audio is
    never embedded twice by one embedder, and other weights or a changed front end never reuse
    what an earlier one wrote.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root else None
        self.hits = 0

    def _path(self, info: EmbedderInfo, audio: Path) -> Path | None:
        if self.root is None:
            return None
        identity = hashlib.sha256(info.identity.encode()).hexdigest()[:16]
        digest = file_sha256(audio)
        return self.root / info.name / identity / f"{digest}.npy"

    def embed(self, embedder: Embedder, audio: Path) -> np.ndarray:
        path = self._path(embedder.info, audio)
        if path is not None and path.exists():
            self.hits += 1
            return cast(np.ndarray, np.load(path, allow_pickle=False))
        decoded = decode(Path(audio))
        emb = np.asarray(embedder.embed(decoded.samples, decoded.sample_rate), dtype=np.float64)
        if path is not None:
            buf = io.BytesIO()
            np.save(buf, emb, allow_pickle=False)
            atomic_write_bytes(path, buf.getvalue())
        return emb


def audio_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_FORMATS and p.is_file())


def embed_files(embedder: Embedder, files: list[Path], cache: EmbeddingCache, progress: ProgressCallback = no_progress,
                cancel: CancelToken | None = None) -> dict[str, np.ndarray]:
    out = {}
    for i, f in enumerate(files):
        if cancel is not None:
            cancel.raise_if_cancelled()
        out[str(f)] = cache.embed(embedder, f)
        progress(Progress(i + 1, len(files), Path(f).name))
    return out


@dataclass(frozen=True)
class FadReport:
    fad: float
    fad_inf: float | None  # None when there are too few frames; fad_inf_note says why
    fad_inf_r2: float | None
    embedding: str
    dim: int
    comparable: bool
    n_ref: int  # embedding frames
    n_eval: int
    files_ref: int
    files_eval: int
    reliability_note: str | None  # "not reliable (n < 2d): ..." or None
    fad_inf_note: str | None
    per_track: dict[str, float] = field(default_factory=dict)

    @property
    def reliable(self) -> bool:
        return self.reliability_note is None

    def summary(self) -> str:
        """The FAD with what it was measured with, as every printed FAD should be."""
        inf = (f"FAD-inf {self.fad_inf:.4f} (fit R² {self.fad_inf_r2:.2f})" if self.fad_inf is not None
               else self.fad_inf_note)
        note = f"; {self.reliability_note}" if self.reliability_note else ""
        return (f"FAD {self.fad:.4f}, {inf}; embedding {self.embedding} ({self.dim}-d), "
                f"{self.n_eval} evaluated frames / {self.files_eval} files vs {self.n_ref} reference frames / "
                f"{self.files_ref} files{note}")


def _as_files(source: Path | list[Path]) -> list[Path]:
    return audio_files(source) if isinstance(source, (str, Path)) else list(source)


def fad_between(embedder: Embedder, reference: Path | list[Path], evaluated: Path | list[Path],
                cache: EmbeddingCache | None = None, progress: ProgressCallback = no_progress,
                cancel: CancelToken | None = None) -> FadReport:
    """FAD of ``evaluated`` against ``reference`` (each a folder of audio or a list of files).

    Also the quantized-versus-full comparison: two folders rendered from the same prompts and seeds.
    """
    reference, evaluated = _as_files(reference), _as_files(evaluated)
    cache = cache or EmbeddingCache(None)
    if not reference or not evaluated:
        raise MetricError(f"FAD needs audio on both sides (found {len(reference)} reference and "
                          f"{len(evaluated)} evaluated files)")
    ref = embed_files(embedder, reference, cache, progress, cancel)
    ev = embed_files(embedder, evaluated, cache, progress, cancel)
    ref_all, ev_all = np.concatenate(list(ref.values())), np.concatenate(list(ev.values()))
    ref_stats = stats(ref_all)
    try:
        inf, inf_note = fad_inf(ref_stats, ev_all), None
    except MetricError as exc:
        inf, inf_note = None, str(exc)
    per_track = {Path(k).name: v for k, v in per_track_fad(ref_stats, ev).items()}
    info = embedder.info
    return FadReport(fad(ref_stats, ev_all), inf.value if inf else None, inf.r2 if inf else None, info.name, info.dim,
                     info.comparable, ref_all.shape[0], ev_all.shape[0], len(ref), len(ev),
                     reliability(ref_all.shape[0], ev_all.shape[0], info.dim), inf_note, per_track)
