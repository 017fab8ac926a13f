import json
import shutil

import pytest

from engine.export.merge import resolve_step
from engine.training import checkpoints as ckpt
from tests.runs import fake_checkpoints


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    fake_checkpoints(run, [100, 200, 300, 400, 500])
    (run / "eval").mkdir()
    (run / "eval" / "best.json").write_text(json.dumps({"step": 200, "combined": 0.4}))
    return run


def test_a_checkpoint_chosen_by_hand_wins_for_export_and_survives_retention(run_dir):
    assert resolve_step(run_dir, None) == 200
    pick = ckpt.mark_best(run_dir, 300, "  warmer keys, less hiss ")
    assert (pick.automatic, pick.manual, pick.note, pick.chosen) == (200, 300, "warmer keys, less hiss", 300)
    assert ckpt.best_pick(run_dir) == pick  # persisted
    assert resolve_step(run_dir, None) == resolve_step(run_dir, "best") == 300
    assert resolve_step(run_dir, "latest") == 500

    deleted = ckpt.apply_retention(run_dir, keep_last=1)
    assert deleted == [100, 400]  # the automatic pick stays too: it is still shown next to the choice
    assert ckpt.list_checkpoints(run_dir) == [200, 300, 500]

    assert ckpt.clear_best_mark(run_dir).chosen == 200
    assert resolve_step(run_dir, None) == 200


def test_only_an_existing_checkpoint_can_be_chosen(run_dir):
    with pytest.raises(ckpt.CheckpointError, match="run has no valid checkpoint at step 250"):
        ckpt.mark_best(run_dir, 250)
    assert ckpt.best_pick(run_dir).manual is None


def test_a_chosen_checkpoint_that_was_deleted_by_hand_falls_back_to_the_automatic_pick(run_dir):
    ckpt.mark_best(run_dir, 400)

    shutil.rmtree(ckpt.checkpoint_dir(run_dir, 400))
    assert resolve_step(run_dir, None) == 200
