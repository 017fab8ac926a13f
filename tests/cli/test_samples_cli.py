"""``lofi best``, ``lofi samples``, ``lofi report`` and the base row of ``lofi checkpoints`` on a run without a
model (rendering on the tiny model is tested in tests/engine/evaluation/test_matrix.py)."""

import json

import pytest
from click.testing import CliRunner

from engine.evaluation.matrix import ClipSettings
from lofi_tui.cli import main
from tests.runs import fake_clips, fake_run


@pytest.fixture
def ws(workspace):
    run_dir = fake_run(workspace, [100, 200])
    fake_clips(run_dir, None, ["CORE-01"], ClipSettings(1.0, 1, 0))
    fake_clips(run_dir, 200, ["CORE-01", "CORE-02"], ClipSettings(1.0, 1, 0))
    return workspace


def lofi(ws, *args):
    return CliRunner().invoke(main, ["-w", str(ws.root), *args], catch_exceptions=False)


def test_best_by_hand_is_recorded_shown_and_cleared(ws):
    chosen = json.loads(lofi(ws, "best", "--run", "r", "--step", "100", "--note", "warm", "--json").output)
    assert chosen == {"run": "r", "automatic": None, "manual": 100, "note": "warm", "chosen": 100}
    table = json.loads(lofi(ws, "checkpoints", "--run", "r", "--json").output)
    assert [r["step"] for r in table["checkpoints"]] == [None, 100, 200]  # the base model first
    assert [r["chosen"] for r in table["checkpoints"]] == [False, True, False] and table["best"]["note"] == "warm"
    assert "chosen by hand: step 100 (warm)" in lofi(ws, "checkpoints", "--run", "r").output
    assert json.loads(lofi(ws, "best", "--run", "r", "--clear", "--json").output)["chosen"] is None
    bad = lofi(ws, "best", "--run", "r", "--step", "150")
    assert bad.exit_code == 1 and "error: run r has no valid checkpoint at step 150" in bad.output


def test_samples_lists_the_matrix_and_names_bad_columns(ws):
    out = json.loads(lofi(ws, "samples", "--run", "r", "--style", "CORE-01", "--style", "core-02",
                          "--checkpoints", "200,base", "--no-render", "--json").output)
    assert out["columns"] == ["200", "base"] and out["settings"] == {"duration": 1.0, "steps": 1, "seed": 0}
    cells = {row["style"]: row["cells"] for row in out["rows"]}
    assert cells["CORE-01"]["200"].endswith("eval/step-200/CORE-01-0.wav") and cells["CORE-02"]["base"] is None
    assert out["generated"] == 0 and "lofi hip hop" in out["rows"][0]["prompt"]
    assert len(json.loads(lofi(ws, "samples", "--run", "r", "--category", "seasonal", "--no-render",
                               "--json").output)["rows"]) == 9
    bad = lofi(ws, "samples", "--run", "r", "--checkpoints", "300", "--no-render")
    assert bad.exit_code == 1 and "has no checkpoint '300'; its columns are base, 100, 200" in bad.output


def test_report_command_writes_the_page(ws, tmp_path):
    out = json.loads(lofi(ws, "report", "--run", "r", "--out", str(tmp_path / "share"), "--audio", "files",
                          "--json").output)
    assert out["clips"] == 3 and out["missing"] == 38 * 3 - 3 and out["path"] == str(tmp_path / "share" / "index.html")
    assert (tmp_path / "share" / "audio" / "200" / "CORE-02.mp3").exists()
