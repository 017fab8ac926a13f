import json

import numpy as np
import pytest

from engine.audio.io import decode
from engine.errors import Cancelled
from engine.evaluation.clips import style_jobs
from engine.evaluation.evaluate import EvalSettings, checkpoint_table, evaluate_checkpoint
from engine.evaluation.matrix import (
    ClipSettings,
    MatrixError,
    clip_dir,
    fill_matrix,
    parse_columns,
    sample_matrix,
)
from engine.progress import CancelToken
from tests.runs import fake_clips, fake_run

TINY = ClipSettings(duration=1.0, steps=1, seed=0)


@pytest.fixture
def run_dir(workspace):
    return fake_run(workspace, [100, 200])


def test_columns_are_the_base_model_then_every_checkpoint_and_cells_reuse_evaluation_clips(run_dir):
    fake_clips(run_dir, 200, ["CORE-01", "SEASON-02"], TINY)
    matrix = sample_matrix(run_dir)
    assert [c.label for c in matrix.columns] == ["base", "100", "200"]
    assert len(matrix.styles) == 38 and matrix.settings == TINY  # the evaluation clips' settings
    core = matrix.cell("CORE-01", matrix.columns[2])
    assert core.ready and core.path == clip_dir(run_dir, 200) / "CORE-01-0.wav"
    # the evaluation's first clip of a style is the matrix cell: same file, prompt and seed
    first = style_jobs(clip_dir(run_dir, 200), per_style=2, seed=TINY.seed, styles=("CORE-01",))[0]
    assert first.path == core.path and first.prompt == matrix.prompts["CORE-01"] and first.seed == TINY.seed
    assert len(matrix.missing()) == 38 * 3 - 2


def test_clips_from_other_weights_or_settings_are_not_shown_as_rendered(run_dir):
    fake_clips(run_dir, 100, ["CORE-01"], TINY)
    fake_clips(run_dir, 200, ["CORE-01"], ClipSettings(2.0, 1, 0))  # newer, so the matrix takes its settings
    matrix = sample_matrix(run_dir, ["CORE-01"])
    assert matrix.settings.duration == 2.0
    assert [matrix.cell("CORE-01", c).ready for c in matrix.columns] == [False, False, True]
    marker = clip_dir(run_dir, 200) / "clips.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "lora_sha256": "retrained"}))
    assert not sample_matrix(run_dir, ["CORE-01"]).cell("CORE-01", matrix.columns[2]).ready


def test_choosing_columns_styles_and_categories(run_dir):
    assert parse_columns("200, base,step-100") == ["200", "base", "100"] and parse_columns(" ") is None
    matrix = sample_matrix(run_dir, ["season-02", "CORE-01"], parse_columns("200,base"))
    assert matrix.styles == ["SEASON-02", "CORE-01"] and [c.label for c in matrix.columns] == ["200", "base"]
    assert sample_matrix(run_dir, category="vocal").styles == ["VOCAL-01", "VOCAL-02", "VOCAL-03", "VOCAL-04",
                                                              "VOCAL-05"]
    with pytest.raises(MatrixError, match="has no checkpoint '300'; its columns are base, 100, 200"):
        sample_matrix(run_dir, columns=["300"])
    with pytest.raises(MatrixError, match="no run named nope"):
        sample_matrix(run_dir.parent / "nope")


@pytest.mark.slow
def test_filling_renders_missing_cells_resumes_after_cancel_and_the_base_column_is_a_baseline(evaluated_run):
    ws = evaluated_run
    run_dir = ws.runs_dir / "r"
    matrix = sample_matrix(run_dir, ["CORE-01", "SEASON-02"], ["base", "4"], settings=TINY)
    assert len(matrix.missing()) == 4 - sum(c.ready for c in matrix.cells.values())
    for c in matrix.cells.values():  # start from nothing, whatever other tests left
        c.path.unlink(missing_ok=True)
    matrix = sample_matrix(run_dir, ["CORE-01", "SEASON-02"], ["base", "4"], settings=TINY)

    cancel, seen = CancelToken(), []

    def stop_after_first(p):
        seen.append((p.done, p.total))
        cancel.cancel()

    with pytest.raises(Cancelled):
        fill_matrix(matrix, stop_after_first, cancel)
    assert seen == [(1, 4)]
    matrix = sample_matrix(run_dir, ["CORE-01", "SEASON-02"], ["base", "4"], settings=TINY)
    assert len(matrix.missing()) == 3  # the finished clip was kept
    progress = []
    assert fill_matrix(matrix, lambda p: progress.append(p.done)) == 3 and progress == [1, 2, 3]
    matrix = sample_matrix(run_dir, ["CORE-01", "SEASON-02"], ["base", "4"], settings=TINY)
    assert not matrix.missing()
    base, tuned = (decode(matrix.cell("CORE-01", c).path).samples for c in matrix.columns)
    assert base.shape == tuned.shape and not np.allclose(base, tuned)  # same prompt and seed, other weights

    before = matrix.cell("CORE-01", matrix.columns[0]).path.stat().st_mtime_ns
    result = evaluate_checkpoint(ws, "r", None, EvalSettings(per_style=2, duration=1.0, steps=1,
                                                             styles=("CORE-01", "SEASON-02")))
    assert result.step is None and (run_dir / "eval" / "base.json").exists()
    assert matrix.cell("CORE-01", matrix.columns[0]).path.stat().st_mtime_ns == before  # reused, not redone
    rows = checkpoint_table(ws, "r")
    assert rows[0].label == "base" and rows[0].fad == result.fad and rows[0].embedding == result.embedding
    assert not rows[0].best and [r.label for r in rows[1:]] == ["0", "2", "4"]
