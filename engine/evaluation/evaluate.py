"""Evaluate a run's checkpoints and pick the best one.

For a checkpoint: generate ``per_style`` clips for every style (fixed seeds; a subset on request), then measure, each
with the embedder and the counts it used recorded next to it:

- FAD against the validation split, with the embedding, its dimension and both frame counts; FAD-inf when there
  are at least 500 evaluated frames (fadtk's minimum); "not reliable (n < 2d)" when either side has fewer than
  twice as many frames as the embedding has dimensions;
- CLAP score as stable-audio-metrics computes it (see ``engine.metrics.clap``), next to the same score for the real
  validation tracks with their own prompts, and their ratio (absolute CLAP scores of real text-to-music systems sit
  around 0.3-0.4; the ratio is what tells quality); only when a CLAP checkpoint is installed;
- style distinctness: leave-one-out nearest-centroid accuracy of the generations' mean embeddings over the styles,
  with the chance level (1 / number of styles).

The defaults (3 clips of 10 s for each of the 38 styles: 1140 s of audio) give 1140 CLAP frames (more than
2 x 512 and more than 500), 1140 VGGish frames and 2052 builtin frames.

Combined score (higher is better), from the components that are present and reliable, weights renormalised over
them: ``0.5 * 1/(1 + FAD-inf, else FAD) + 0.25 * min(CLAP ratio, 1) + 0.25 * (distinctness - chance)/(1 - chance)``.
A component marked unreliable (``caveats``) is left out, so a tiny sample cannot pick the best checkpoint; when none
is reliable there is no combined score. The component values stay in the result.

Results: ``runs/<run>/eval/step-<N>.json``, the table ``eval/summary.json`` and ``eval/best.json``
(the best step by combined score, which checkpoint retention keeps). Results written by an older metrics version
are shown with a caveat and never picked as best.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from engine.atomic import atomic_write_json
from engine.catalog.store import Catalog
from engine.catalog.track import ACCEPTED, SPLIT_VALIDATION, Track
from engine.errors import LofiError
from engine.evaluation.clips import column_pipeline, generate_samples, reset_if_changed, style_jobs
from engine.evaluation.matrix import BASE, ClipSettings, clip_dir, clip_identity
from engine.labels.prompts import build_prompt
from engine.labels.styles import load_styles
from engine.listening.report import checkpoint_notes
from engine.metrics.embedders import Embedder, availability, load_embedder, models_dir
from engine.metrics.folders import EmbeddingCache, embed_files, fad_between
from engine.model.check import model_variant
from engine.progress import CancelToken, ProgressCallback, no_progress
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.workspace import Workspace

WEIGHTS = {"fad": 0.5, "clap": 0.25, "distinctness": 0.25}
METRICS_VERSION = 2  # 2: VGGish and CLAP as the references compute them, validity marks


class EvaluationError(LofiError):
    """Evaluation cannot run as asked (no validation tracks, no such checkpoint)."""


@dataclass(frozen=True)
class EvalSettings:
    per_style: int = 3  # 38 styles x 3 x 10 s: enough frames for a reliable CLAP FAD (n >= 2d)
    duration: float = ClipSettings.duration  # clip settings: one default for evaluation and the sample matrix
    steps: int | None = None  # default: the base model variant's (8 turbo, 50 base/sft)
    guidance: float | None = None  # default: the variant's (1.0 turbo, 7.0 base/sft)
    seed: int = ClipSettings.seed
    embedder: str | None = None  # default: clap when installed, else builtin
    styles: tuple[str, ...] = ()  # default: all styles; a subset is quicker but not comparable with a full run
    device: str | None = None  # default: cuda when present, else cpu


@dataclass(frozen=True)
class Caveat:
    """Why one metric of a result should not be trusted (and is left out of the combined score)."""

    metric: str  # "fad", "fad_inf", "clap", "distinctness" or "all"
    reason: str


@dataclass
class EvalResult:
    step: int | None  # None: the base model without the LoRA
    embedding: str
    embedding_identity: str
    dim: int
    samples: int
    n_ref_frames: int
    n_eval_frames: int
    fad: float
    fad_inf: float | None
    fad_inf_r2: float | None
    clap: float | None
    clap_real: float | None
    clap_ratio: float | None
    clap_samples: int
    distinctness: float
    distinctness_chance: float
    styles: int
    components: dict[str, float]  # each part of the combined score, in [0, 1], before weighting
    caveats: dict[str, str]  # metric -> why it is not reliable / not available
    combined: float | None
    metrics_version: int = METRICS_VERSION
    settings: dict[str, Any] = field(default_factory=dict)


def _run_dir(ws: Workspace, run: str) -> Path:
    run_dir = ws.runs_dir / run
    if not (run_dir / "config.json").exists():
        raise EvaluationError(f"no run named {run} in {ws.runs_dir} (see `lofi runs`)")
    return run_dir


def _validation_tracks(ws: Workspace) -> list[Track]:
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


def score_components(fad_value: float, clap_ratio: float | None, acc: float, chance: float) -> dict[str, float]:
    """Each metric mapped to [0, 1], higher is better (FAD-inf when available, else FAD)."""
    parts = {"fad": 1.0 / (1.0 + max(fad_value, 0.0)),
             "distinctness": max(0.0, (acc - chance) / (1.0 - chance)) if chance < 1 else 0.0}
    if clap_ratio is not None:
        parts["clap"] = min(max(clap_ratio, 0.0), 1.0)
    return parts


def combined_score(components: dict[str, float], caveats: dict[str, str]) -> float | None:
    """Weighted mean over the components without a caveat; None when none is left."""
    usable = {k: v for k, v in components.items() if k not in caveats}
    if not usable:
        return None
    return sum(WEIGHTS[k] * v for k, v in usable.items()) / sum(WEIGHTS[k] for k in usable)


def _clap_score(clap: Embedder, files: list[Path], prompts: list[str], cache: EmbeddingCache) -> float:
    from engine.metrics.clap import ClapEmbedder, clap_score

    assert isinstance(clap, ClapEmbedder)  # load_embedder("clap") gives one

    view = clap.clip_view()
    audio = embed_files(view, files, cache)
    return clap_score([audio[str(f)] for f in files], clap.embed_text(prompts))


def evaluate_checkpoint(ws: Workspace, run: str, step: int | None, settings: EvalSettings = EvalSettings(),
                        progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> EvalResult:
    """Score one checkpoint, or with ``step=None`` the base model without the LoRA (``eval/base.json``),
    on the same prompts and seeds: the baseline that tells whether training changed anything."""
    run_dir = _run_dir(ws, run)
    if step is not None and step not in ckpt.list_checkpoints(run_dir):
        raise EvaluationError(f"run {run} has no valid checkpoint at step {step}")
    reference = _validation_tracks(ws)
    root = models_dir(ws.root)
    name = settings.embedder or ("clap" if availability("clap", root).available else "builtin")
    embedder = load_embedder(name, root)
    cache = EmbeddingCache(ws.cache_dir / "embeddings")

    variant = model_variant(TrainConfig.load(run_dir).base_model)
    steps = settings.steps or variant.steps
    out = clip_dir(run_dir, step)
    reset_if_changed(out, clip_identity(run_dir, step, ClipSettings(settings.duration, steps, settings.seed)))
    jobs = style_jobs(out, settings.per_style, settings.seed, settings.styles)
    generate_samples(column_pipeline(run_dir, step, device=settings.device), jobs, settings.duration,
                     variant.sampler(steps, settings.guidance), progress, cancel)

    ref_files = [ws.resolve(t.audio) for t in reference]
    report = fad_between(embedder, ref_files, [j.path for j in jobs], cache, cancel=cancel)
    per_file = embed_files(embedder, [j.path for j in jobs], cache)
    by_style: dict[str, list[np.ndarray]] = {}
    for job in jobs:
        by_style.setdefault(job.style, []).append(per_file[str(job.path)].mean(axis=0))
    acc, chance = distinctness(by_style)

    caveats: dict[str, str] = {}
    if report.reliability_note:
        caveats["fad"] = report.reliability_note
    if report.fad_inf_note:
        caveats["fad_inf"] = report.fad_inf_note
    if chance >= 1:
        caveats["distinctness"] = "needs at least 2 styles with at least 2 clips each"
    clap = clap_real = ratio = None
    if availability("clap", root).available:
        clap_model = embedder if name == "clap" else load_embedder("clap", root)
        clap = _clap_score(clap_model, [j.path for j in jobs], [j.prompt for j in jobs], cache)
        taxonomy = load_styles()
        prompts = [t.prompt or build_prompt(t, taxonomy)[0] for t in reference]  # unlabelled: as training would
        clap_real = _clap_score(clap_model, ref_files, prompts, cache)
        if clap_real > 0:
            ratio = clap / clap_real
        else:
            caveats["clap"] = f"the real tracks' CLAP score is {clap_real:.3f} (not above 0): no ratio to judge by"
    fad_value = report.fad_inf if report.fad_inf is not None else report.fad
    components = score_components(fad_value, ratio, acc, chance)
    result = EvalResult(step, name, embedder.info.identity, report.dim, len(jobs), report.n_ref, report.n_eval,
                        report.fad, report.fad_inf, report.fad_inf_r2, clap, clap_real, ratio,
                        len(jobs) if clap is not None else 0, acc, chance, len(by_style), components, caveats,
                        combined_score(components, caveats), settings=asdict(settings))
    if step is None:
        atomic_write_json(run_dir / "eval" / f"{BASE}.json", asdict(result))
    else:
        atomic_write_json(run_dir / "eval" / f"step-{step}.json", asdict(result))
        _update_summary(run_dir)
    return result


def load_results(run_dir: Path) -> dict[int, dict[str, Any]]:
    results = {}
    for path in sorted((Path(run_dir) / "eval").glob("step-*.json")):
        try:
            results[int(path.stem.split("-", 1)[1])] = json.loads(path.read_text())
        except (ValueError, OSError):
            continue
    return results


def _current(result: dict[str, Any]) -> bool:
    return result.get("metrics_version") == METRICS_VERSION


def _update_summary(run_dir: Path) -> None:
    results = load_results(run_dir)
    ranked = {s: r["combined"] for s, r in results.items() if _current(r) and r.get("combined") is not None}
    best = max(ranked, key=ranked.__getitem__) if ranked else None
    atomic_write_json(run_dir / "eval" / "summary.json", {"best": best, "steps": results})
    if best is None:
        (run_dir / "eval" / ckpt.AUTO_BEST).unlink(missing_ok=True)
    else:
        atomic_write_json(run_dir / "eval" / ckpt.AUTO_BEST, {"step": best, "combined": ranked[best]})


def load_base_result(run_dir: Path) -> dict[str, Any] | None:
    try:
        return cast(dict[str, Any], json.loads((Path(run_dir) / "eval" / f"{BASE}.json").read_text()))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class CheckpointRow:
    step: int | None  # None: the base model without the LoRA
    loss: float | None
    embedding: str | None
    dim: int | None
    n_eval_frames: int | None
    n_ref_frames: int | None
    fad: float | None
    fad_inf: float | None
    clap: float | None
    clap_ratio: float | None
    distinctness: float | None
    combined: float | None
    best: bool  # the evaluation's automatic pick
    chosen: bool = False  # chosen by hand (``lofi best``); export and retention prefer it
    caveats: tuple[Caveat, ...] = ()
    listening: str | None = None  # finished blind tests of this checkpoint, e.g. "ABX vs step 800: 13/16 distinguishable"

    @property
    def label(self) -> str:
        return BASE if self.step is None else str(self.step)

    def reliable(self, metric: str) -> bool:
        """False when ``metric`` (or the whole result) carries a caveat."""
        return not any(c.metric in (metric, "all") for c in self.caveats)


STALE = Caveat("all", f"computed by an older metrics version (before v{METRICS_VERSION}); run `lofi eval` again")


def _row(step: int | None, loss: float | None, r: dict[str, Any], best: bool = False, chosen: bool = False,
         listening: str | None = None) -> CheckpointRow:
    caveats = tuple(Caveat(k, v) for k, v in r.get("caveats", {}).items())
    if r and not _current(r):
        caveats = (STALE,)
    return CheckpointRow(step, loss, r.get("embedding"), r.get("dim"), r.get("n_eval_frames"), r.get("n_ref_frames"),
                         r.get("fad"), r.get("fad_inf"), r.get("clap"), r.get("clap_ratio"), r.get("distinctness"),
                         r.get("combined"), best, chosen, caveats, listening)


def checkpoint_table(ws: Workspace, run: str) -> list[CheckpointRow]:
    """The base model (step-0 baseline) first, then every checkpoint with its loss and metrics."""
    run_dir = _run_dir(ws, run)
    losses = read_metrics(run_dir / "metrics.jsonl").steps
    results = load_results(run_dir)
    pick = ckpt.best_pick(run_dir)
    listening = checkpoint_notes(ws, run)
    rows = [_row(None, None, load_base_result(run_dir) or {})]
    for step in sorted(set(ckpt.list_checkpoints(run_dir)) | set(results)):
        rows.append(_row(step, losses.get(step, {}).get("loss"), results.get(step, {}), step == pick.automatic,
                         step == pick.manual, listening.get(step)))
    return rows
