import json

import numpy as np
import pytest

from engine.evaluation.clips import reset_if_changed, style_jobs
from engine.evaluation.evaluate import (
    EvalSettings,
    EvaluationError,
    checkpoint_table,
    combined_score,
    distinctness,
    evaluate_checkpoint,
)
from engine.labels.styles import StyleError
from engine.metrics.tiny_clap import build_tiny_clap
from engine.training import checkpoints as ckpt

STYLES = ("CORE-01", "SEASON-01", "THEME-01", "VOCAL-01")
SETTINGS = EvalSettings(per_style=2, duration=1.0, steps=1, styles=STYLES)


@pytest.fixture
def clap_models(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "eval-models"
    if not (root / "clap-music").exists():
        build_tiny_clap(root / "clap-music")
    monkeypatch.setenv("LOFI_MODELS", str(root))
    return root


@pytest.mark.slow
def test_evaluating_checkpoints_records_metrics_and_marks_the_best(evaluated_run, clap_models):
    ws = evaluated_run
    first = evaluate_checkpoint(ws, "r", 2, SETTINGS)
    cache = ws.cache_dir / "embeddings" / "clap-music"
    cached_before = set(cache.iterdir())
    second = evaluate_checkpoint(ws, "r", 4, SETTINGS)
    new = set(cache.iterdir()) - cached_before
    assert len(new) == 4 * 2  # only the new generations; the reference was not embedded again

    for result in (first, second):
        assert result.embedding == "clap-music" and result.samples == 8 and result.styles == 4
        assert result.n_eval_frames >= 8 and result.n_ref_frames > 0
        assert result.clap is not None and result.clap_real is not None and result.clap_samples == 8
        assert result.distinctness_chance == pytest.approx(1 / 4)
        assert result.fad >= 0 and np.isfinite(result.fad_inf) and 0 < result.combined <= 1
    stored = json.loads((ws.runs_dir / "r" / "eval" / "step-4.json").read_text())
    assert stored["fad"] == second.fad and stored["settings"]["per_style"] == 2
    best = json.loads((ws.runs_dir / "r" / "eval" / "best.json").read_text())["step"]
    assert best == max((first, second), key=lambda r: r.combined).step
    rows = checkpoint_table(ws, "r")
    assert [r.label for r in rows] == ["base", "0", "2", "4"] and [r.best for r in rows].count(True) == 1
    assert next(r for r in rows if r.step == 4).loss is not None
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


def test_combined_score_rewards_lower_fad_and_higher_distinctness():
    assert combined_score(0.1, None, 0.5, 0.1) > combined_score(5.0, None, 0.5, 0.1)
    assert combined_score(1.0, 0.8, 0.9, 0.1) > combined_score(1.0, 0.8, 0.2, 0.1)
    assert combined_score(1.0, 0.9, 0.5, 0.1) > combined_score(1.0, 0.3, 0.5, 0.1)


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
