"""``lofi compare-precisions``: the same prompts and seeds rendered by several bundles, then FAD of
each set against the fp32 one (the evaluation issue's FAD), graph sizes, and generation time.

Clips are reused when a bundle, duration and step count are unchanged, so a second call only
re-embeds (cached) and re-measures. The reports are kept in ``OUT/report.json`` for the dashboard.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.atomic import atomic_write_json
from engine.audio.io import write_audio
from engine.inference.bundle import Bundle
from engine.inference.generator import OnnxGenerator
from engine.metrics.embedders import Embedder
from engine.metrics.folders import EmbeddingCache, fad_between
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress


@dataclass
class PrecisionReport:
    bundle: Path
    precision: str
    graph_bytes: dict[str, int]
    total_bytes: int
    clips: int
    generated: int  # clips made in this call (the others were reused)
    seconds_per_audio_minute: float | None  # None when every clip was reused
    fad: float | None  # vs the reference set; None for the reference itself
    fad_inf: float | None
    embedding: str | None
    n_ref_frames: int | None
    n_eval_frames: int | None
    dim: int | None = None
    fad_note: str | None = None  # "not reliable (n < 2d): ..." when too few frames; None otherwise


REPORT = "report.json"


def load_comparison(out_dir: Path) -> list[PrecisionReport] | None:
    """The last comparison written to ``out_dir``, or None."""
    try:
        rows = json.loads((Path(out_dir) / REPORT).read_text(encoding="utf-8"))
        return [PrecisionReport(**{**row, "bundle": Path(row["bundle"])}) for row in rows]
    except (OSError, ValueError, TypeError):
        return None


def compare_precisions(bundles: list[Path], prompts: int, out_dir: Path, embedder: Embedder, cache_dir: Path | None,
                       duration: float = 10.0, steps: int | None = None, seed: int = 0,
                       progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
                       ) -> list[PrecisionReport]:
    """The reference is the fp32 bundle when one is given, else the first."""
    from engine.evaluation.clips import reset_if_changed, style_jobs  # torch: keep this module light to import

    opened = [Bundle.open(b) for b in bundles]
    ref_index = next((i for i, b in enumerate(opened) if b.manifest["precision"] == "fp32"), 0)
    total = len(opened) * prompts
    reports, folders = [], []
    for i, bundle in enumerate(opened):
        gen = OnnxGenerator(bundle)
        folder = Path(out_dir) / f"{i}-{bundle.manifest['precision']}"
        folder.mkdir(parents=True, exist_ok=True)
        reset_if_changed(folder, {"bundle": bundle.version, "duration": duration, "steps": steps or gen.default_steps})
        made, seconds = 0, 0.0
        for k, job in enumerate(style_jobs(folder, 1, seed)[:prompts]):
            if cancel is not None:
                cancel.raise_if_cancelled()
            if not job.path.exists():
                started = time.perf_counter()
                audio = gen.generate(job.prompt, duration, seed=job.seed, steps=steps, cancel=cancel)
                seconds += time.perf_counter() - started
                write_audio(job.path, audio, gen.sample_rate, fmt="wav")
                made += 1
            progress(Progress(i * prompts + k + 1, total, f"{bundle.manifest['precision']}: {job.path.name}"))
        graphs = {n: g["bytes"] for n, g in bundle.manifest["graphs"].items()}
        reports.append(PrecisionReport(bundle.root, bundle.manifest["precision"], graphs, sum(graphs.values()),
                                       prompts, made, seconds / (made * duration / 60) if made else None,
                                       None, None, None, None, None))
        folders.append(folder)
    cache = EmbeddingCache(cache_dir)
    for i, report in enumerate(reports):
        if i == ref_index:
            continue
        fad = fad_between(embedder, folders[ref_index], folders[i], cache, cancel=cancel)
        report.fad, report.fad_inf, report.embedding = fad.fad, fad.fad_inf, fad.embedding
        report.n_ref_frames, report.n_eval_frames = fad.n_ref, fad.n_eval
        report.dim, report.fad_note = fad.dim, fad.reliability_note
    atomic_write_json(Path(out_dir) / REPORT, [{**asdict(r), "bundle": str(r.bundle)} for r in reports])
    return reports
