import json

import numpy as np
import pytest

from engine.catalog.store import Catalog
from engine.evaluation.clips import reset_if_changed, style_jobs
from engine.evaluation.evaluate import (
    STALE,
    EvalSettings,
    EvaluationError,
    checkpoint_table,
    combined_score,
    distinctness,
    evaluate_checkpoint,
    score_components,
)
from engine.ingest import ingest
from engine.labels.styles import StyleError
from engine.metrics.tiny_clap import build_tiny_clap
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace
from tests.audio_files import lofi_file

STYLES = ("CORE-01", "SEASON-01", "THEME-01", "VOCAL-01")
SETTINGS = EvalSettings(per_style=2, duration=1.0, steps=1, styles=STYLES)


@pytest.fixture(scope="module")
def evaluated_run(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    for i in range(3):
        lofi_file(root / "src" / f"t{i}.wav", 31, seed=120 + i)
    ws = Workspace.open(root / "ws")
    report = ingest(ws, [root / "src"], jobs=1)
    catalog = Catalog(ws.catalog_path)
    for i, r in enumerate(report.results):
        catalog.update(r.track_id, lambda t, i=i: setattr(t, "split", "validation" if i == 0 else "train"))
    config = TrainConfig(run="r", base_model=str(tiny_model), workspace=str(ws.root), max_steps=4, checkpoint_every=2,
                         warmup_steps=1, crop_sec=2.0, rank=4, learning_rate=5e-3)
    Trainer(create_run(ws, config)).run()
    return ws


@pytest.fixture
def clap_models(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "eval-models"
    if not (root / "clap").exists():
        build_tiny_clap(root / "clap")
    monkeypatch.setenv("LOFI_MODELS", str(root))
    return root


@pytest.mark.slow
def test_evaluating_checkpoints_records_metrics_and_marks_the_best(evaluated_run, clap_models):
    ws = evaluated_run
    eval_dir = ws.runs_dir / "r" / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / "step-0.json").write_text(json.dumps({"step": 0, "fad": 0.01, "combined": 0.99}))  # old metrics
    first = evaluate_checkpoint(ws, "r", 2, SETTINGS)
    cache = ws.cache_dir / "embeddings" / "clap"
    cached_before = set(cache.rglob("*.npy"))
    second = evaluate_checkpoint(ws, "r", 4, SETTINGS)
    new = set(cache.rglob("*.npy")) - cached_before
    assert len(new) == 4 * 2  # only the new generations; the reference was not embedded again

    for result in (first, second):
        assert result.embedding == "clap" and result.samples == 8 and result.styles == 4 and result.dim == 8
        assert result.n_eval_frames == 8 and result.n_ref_frames == 31  # 1 s clips; a 31 s track, a frame a second
        assert result.clap is not None and result.clap_real is not None and result.clap_samples == 8
        assert result.distinctness_chance == pytest.approx(1 / 4)
        # 8 frames for 8 dimensions: the FAD is kept and shown, marked, and left out of the combined score
        assert result.caveats["fad"].startswith("not reliable (n < 2d): 8 evaluated frames")
        assert result.fad >= 0 and result.fad_inf is None and "500" in result.caveats["fad_inf"]
        assert "fad" in result.components
        assert result.combined == pytest.approx(combined_score(result.components, {"fad": "left out"}))
    stored = json.loads((eval_dir / "step-4.json").read_text())
    assert stored["fad"] == second.fad and stored["settings"]["per_style"] == 2 and stored["caveats"]["fad"]
    best = json.loads((eval_dir / "best.json").read_text())["step"]
    assert best == max((first, second), key=lambda r: r.combined).step  # never the old-metrics step 0
    rows = {r.step: r for r in checkpoint_table(ws, "r")}
    assert list(rows) == [0, 2, 4] and [r.best for r in rows.values()].count(True) == 1
    assert rows[0].caveats == (STALE,) and not rows[0].reliable("fad")
    assert not rows[4].reliable("fad") and rows[4].reliable("distinctness") and rows[4].n_eval_frames == 8
    assert rows[4].loss is not None and rows[4].embedding == "clap"
    assert best in ckpt.best_checkpoints(ws.runs_dir / "r")


@pytest.mark.slow
def test_builtin_embedder_when_clap_is_missing(evaluated_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LOFI_MODELS", str(tmp_path / "no-models"))
    result = evaluate_checkpoint(evaluated_run, "r", 4, SETTINGS)
    assert result.embedding == "builtin" and result.clap is None and result.clap_ratio is None


def test_missing_checkpoint_or_validation_is_a_clear_error(evaluated_run, tmp_path):
    with pytest.raises(EvaluationError, match="no valid checkpoint at step 3"):
        evaluate_checkpoint(evaluated_run, "r", 3, SETTINGS)


def test_distinctness_is_one_for_separated_styles_and_near_chance_for_noise():
    rng = np.random.default_rng(0)
    separated = {s: [np.eye(4)[k] * 10 + rng.normal(scale=0.1, size=4) for _ in range(3)] for k, s in enumerate("abcd")}
    assert distinctness(separated) == (1.0, 0.25)
    noise = {s: [rng.normal(size=16) for _ in range(6)] for s in "abcdefgh"}
    acc, chance = distinctness(noise)
    assert acc < 0.45 and chance == 0.125


def _combined(fad_value, ratio, acc, chance):
    return combined_score(score_components(fad_value, ratio, acc, chance), {})


def test_combined_score_rewards_lower_fad_and_higher_distinctness():
    assert _combined(0.1, None, 0.5, 0.1) > _combined(5.0, None, 0.5, 0.1)
    assert _combined(1.0, 0.8, 0.9, 0.1) > _combined(1.0, 0.8, 0.2, 0.1)
    assert _combined(1.0, 0.9, 0.5, 0.1) > _combined(1.0, 0.3, 0.5, 0.1)


def test_components_with_a_caveat_are_left_out_and_the_rest_renormalised():
    parts = score_components(1.0, 0.2, 0.55, 0.1)  # fad 0.5, clap 0.2, distinctness 0.5
    assert parts == pytest.approx({"fad": 0.5, "clap": 0.2, "distinctness": 0.5})
    assert combined_score(parts, {}) == pytest.approx(0.5 * 0.5 + 0.25 * 0.2 + 0.25 * 0.5)
    assert combined_score(parts, {"clap": "no ratio"}) == pytest.approx((0.5 * 0.5 + 0.25 * 0.5) / 0.75)
    assert combined_score(parts, {"fad": "n < 2d", "clap": "x", "distinctness": "y"}) is None
    # a small sample cannot pick the best: checkpoints that differ only in an unreliable FAD tie
    good, bad = score_components(0.1, 0.5, 0.5, 0.1), score_components(50.0, 0.5, 0.5, 0.1)
    assert combined_score(good, {"fad": "n < 2d"}) == combined_score(bad, {"fad": "n < 2d"})


def test_clips_from_other_weights_or_settings_are_not_reused(tmp_path):
    identity = {"lora_sha256": "a", "duration": 1.0, "steps": 1, "seed": 0}
    reset_if_changed(tmp_path, identity)
    (tmp_path / "CORE-01-0.wav").write_bytes(b"clip")
    reset_if_changed(tmp_path, dict(identity))
    assert (tmp_path / "CORE-01-0.wav").exists()  # same checkpoint and settings: resume
    reset_if_changed(tmp_path, {**identity, "lora_sha256": "b"})
    assert not (tmp_path / "CORE-01-0.wav").exists()
    assert json.loads((tmp_path / "clips.json").read_text())["lora_sha256"] == "b"


def test_every_style_gets_its_clips_with_fixed_seeds(tmp_path):
    jobs = style_jobs(tmp_path, per_style=2, seed=7)
    assert len(jobs) == 38 * 2 and len({j.style for j in jobs}) == 38 and {j.seed for j in jobs} == {7, 8}
    assert len({j.path for j in jobs}) == 76 and all(j.prompt for j in jobs)
    assert [j.style for j in style_jobs(tmp_path, 1, styles=("season-02",))] == ["SEASON-02"]
    with pytest.raises(StyleError, match="unknown style 'NOPE-9'"):
        style_jobs(tmp_path, 1, styles=("NOPE-9",))
