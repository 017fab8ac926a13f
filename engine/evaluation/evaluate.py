"""Evaluate a run's checkpoints and pick the best one.

For a checkpoint: generate ``per_style`` clips for every style (fixed seeds; a subset on request), then measure, each
with the embedder and the counts it used recorded next to it:

- FAD and FAD-inf of the generations against the validation split;
- CLAP score: mean cosine between each prompt and its generated audio, reported next to the same
  score for the real validation tracks with their own prompts, and their ratio (absolute CLAP
  scores of real text-to-music systems sit around 0.3-0.4; the ratio is what tells quality);
  only when the clap-music embedder is installed;
- style distinctness: leave-one-out nearest-centroid accuracy of the generations' mean
  embeddings over the styles, with the chance level (1 / number of styles).

Combined score (higher is better), from the metrics present, weights renormalised over them:
``0.5 * 1/(1 + FAD-inf) + 0.25 * min(CLAP ratio, 1) + 0.25 * (distinctness - chance)/(1 - chance)``.

Results: ``runs/<run>/eval/step-<N>.json``, the table ``eval/summary.json`` and ``eval/best.json``
(the best step by combined score, which checkpoint retention keeps).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_json
from engine.catalog.store import Catalog
from engine.catalog.track import ACCEPTED, SPLIT_VALIDATION
from engine.errors import LofiError
from engine.evaluation.clips import (
    checkpoint_pipeline,
    generate_samples,
    reset_if_changed,
    style_jobs,
)
from engine.labels.prompts import build_prompt
from engine.labels.styles import load_styles
from engine.metrics.embedders import availability, load_embedder, models_dir
from engine.metrics.folders import EmbeddingCache, embed_files, fad_between
from engine.model.variants import model_variant
from engine.progress import CancelToken, ProgressCallback, no_progress
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.workspace import Workspace

WEIGHTS = {"fad": 0.5, "clap": 0.25, "distinctness": 0.25}


class EvaluationError(LofiError):
    """Evaluation cannot run as asked (no validation tracks, no such checkpoint)."""


@dataclass(frozen=True)
class EvalSettings:
    per_style: int = 2
    duration: float = 10.0
    steps: int | None = None  # default: the base model variant's (8 turbo, 50 base/sft)
    guidance: float | None = None  # default: the variant's (1.0 turbo, 7.0 base/sft)
    seed: int = 0
    embedder: str | None = None  # default: clap-music when installed, else builtin
    styles: tuple[str, ...] = ()  # default: all styles; a subset is quicker but not comparable with a full run
    device: str | None = None  # default: cuda when present, else cpu


@dataclass
class EvalResult:
    step: int
    embedding: str
    samples: int
    n_ref_frames: int
    n_eval_frames: int
    fad: float
    fad_inf: float
    fad_inf_r2: float
    clap: float | None
    clap_real: float | None
    clap_ratio: float | None
    clap_samples: int
    distinctness: float
    distinctness_chance: float
    styles: int
    combined: float
    settings: dict = field(default_factory=dict)


def _run_dir(ws: Workspace, run: str) -> Path:
    run_dir = ws.runs_dir / run
    if not (run_dir / "config.json").exists():
        raise EvaluationError(f"no run named {run} in {ws.runs_dir} (see `lofi runs`)")
    return run_dir


def _validation_tracks(ws: Workspace):
    tracks = [t for t in Catalog(ws.catalog_path).all()
              if t.status == ACCEPTED and t.split == SPLIT_VALIDATION and t.output]
    if not tracks:
        raise EvaluationError(f"no validation tracks in {ws.root}: run `lofi split` (FAD needs a reference set)")
    return tracks


def distinctness(embeddings: dict[str, list[np.ndarray]]) -> tuple[float, float]:
    """Leave-one-out nearest-centroid accuracy over styles, and the chance level."""
    styles = [s for s, embs in embeddings.items() if len(embs) >= 2]
    if len(styles) < 2:
        return 0.0, 1.0
    correct = total = 0
    for style in styles:
        for i, e in enumerate(embeddings[style]):
            centroids = {}
            for other in styles:
                pool = [x for j, x in enumerate(embeddings[other]) if not (other == style and j == i)]
                centroids[other] = np.mean(pool, axis=0)
            guess = min(centroids, key=lambda s: np.linalg.norm(e - centroids[s]))
            correct += guess == style
            total += 1
    return correct / total, 1.0 / len(styles)


def combined_score(fad_inf: float, clap_ratio: float | None, acc: float, chance: float) -> float:
    parts = {"fad": 1.0 / (1.0 + max(fad_inf, 0.0)),
             "distinctness": max(0.0, (acc - chance) / (1.0 - chance)) if chance < 1 else 0.0}
    if clap_ratio is not None:
        parts["clap"] = min(max(clap_ratio, 0.0), 1.0)
    weight = sum(WEIGHTS[k] for k in parts)
    return sum(WEIGHTS[k] * v for k, v in parts.items()) / weight


def _clap_score(clap, files: list[Path], prompts: list[str], cache: EmbeddingCache) -> float:
    audio = embed_files(clap, files, cache)
    text = clap.embed_text(prompts)
    scores = []
    for f, t in zip(files, text):
        a = audio[str(f)].mean(axis=0)
        scores.append(float(a @ t / (np.linalg.norm(a) * np.linalg.norm(t) + 1e-12)))
    return float(np.mean(scores))


def evaluate_checkpoint(ws: Workspace, run: str, step: int, settings: EvalSettings = EvalSettings(),
                        progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> EvalResult:
    run_dir = _run_dir(ws, run)
    if step not in ckpt.list_checkpoints(run_dir):
        raise EvaluationError(f"run {run} has no valid checkpoint at step {step}")
    reference = _validation_tracks(ws)
    root = models_dir(ws.root)
    name = settings.embedder or ("clap-music" if availability("clap-music", root).available else "builtin")
    embedder = load_embedder(name, root)
    cache = EmbeddingCache(ws.cache_dir / "embeddings")

    out = run_dir / "eval" / f"step-{step}"
    lora = json.loads((ckpt.checkpoint_dir(run_dir, step) / ckpt.CHECKSUMS).read_text())[ckpt.LORA_FILE]
    sampler = model_variant(TrainConfig.load(run_dir).base_model).sampler(settings.steps, settings.guidance)
    reset_if_changed(out, {"lora_sha256": lora, "duration": settings.duration, "seed": settings.seed, **sampler})
    jobs = style_jobs(out, settings.per_style, settings.seed, settings.styles)
    generate_samples(checkpoint_pipeline(run_dir, step, device=settings.device), jobs, settings.duration, sampler,
                     progress, cancel)

    ref_files = [ws.resolve(t.output) for t in reference]
    report = fad_between(embedder, ref_files, [j.path for j in jobs], cache, cancel=cancel)
    per_file = embed_files(embedder, [j.path for j in jobs], cache)
    by_style: dict[str, list[np.ndarray]] = {}
    for job in jobs:
        by_style.setdefault(job.style, []).append(per_file[str(job.path)].mean(axis=0))
    acc, chance = distinctness(by_style)

    clap = clap_real = ratio = None
    if availability("clap-music", root).available:
        clap_model = embedder if name == "clap-music" else load_embedder("clap-music", root)
        clap = _clap_score(clap_model, [j.path for j in jobs], [j.prompt for j in jobs], cache)
        taxonomy = load_styles()
        prompts = [t.prompt or build_prompt(t, taxonomy)[0] for t in reference]  # unlabelled: as training would
        clap_real = _clap_score(clap_model, ref_files, prompts, cache)
        ratio = clap / clap_real if clap_real and clap_real > 0 else None

    result = EvalResult(step, name, len(jobs), report.n_ref, report.n_eval, report.fad, report.fad_inf,
                        report.fad_inf_r2, clap, clap_real, ratio, len(jobs) if clap is not None else 0, acc, chance,
                        len(by_style), combined_score(report.fad_inf, ratio, acc, chance), asdict(settings))
    atomic_write_json(run_dir / "eval" / f"step-{step}.json", asdict(result))
    _update_summary(run_dir)
    return result


def load_results(run_dir: Path) -> dict[int, dict]:
    results = {}
    for path in sorted((Path(run_dir) / "eval").glob("step-*.json")):
        try:
            results[int(path.stem.split("-", 1)[1])] = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
    return results


def _update_summary(run_dir: Path) -> None:
    results = load_results(run_dir)
    best = max(results, key=lambda s: results[s]["combined"])
    atomic_write_json(run_dir / "eval" / "summary.json", {"best": best, "steps": results})
    atomic_write_json(run_dir / "eval" / "best.json", {"step": best, "combined": results[best]["combined"]})


@dataclass(frozen=True)
class CheckpointRow:
    step: int
    loss: float | None
    fad: float | None
    fad_inf: float | None
    clap: float | None
    clap_ratio: float | None
    distinctness: float | None
    combined: float | None
    best: bool


def checkpoint_table(ws: Workspace, run: str) -> list[CheckpointRow]:
    run_dir = _run_dir(ws, run)
    losses = read_metrics(run_dir / "metrics.jsonl").steps
    results = load_results(run_dir)
    best = ckpt.best_checkpoints(run_dir)
    rows = []
    for step in sorted(set(ckpt.list_checkpoints(run_dir)) | set(results)):
        r = results.get(step, {})
        rows.append(CheckpointRow(step, losses.get(step, {}).get("loss"), r.get("fad"), r.get("fad_inf"), r.get("clap"),
                                  r.get("clap_ratio"), r.get("distinctness"), r.get("combined"), step in best))
    return rows
