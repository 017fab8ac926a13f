"""Creating tests end to end on the tiny model and real validation tracks: renders, level matching
measured on the clips written, resuming an interrupted preparation, where results live."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.loudness import integrated_loudness
from engine.audio.playback import RATE, load_clip
from engine.catalog.store import Catalog
from engine.errors import Cancelled, LofiError
from engine.ingest.batch import ingest
from engine.listening.design import listening_dirs
from engine.listening.prepare import ListeningRequest, create_test
from engine.listening.report import checkpoint_notes, comparisons, model_card_lines
from engine.listening.session import Session
from engine.progress import CancelToken
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace
from tests.audio_files import lofi_file
from tests.engine.listening.helpers import answer_all


@pytest.fixture(scope="module")
def lab(tiny_model, tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("lab")
    for i in range(3):
        lofi_file(root / "src" / f"t{i}.wav", 31, seed=140 + i)
    ws = Workspace.open(root / "ws")
    report = ingest(ws, [root / "src"], jobs=1)
    catalog = Catalog(ws.catalog_path)
    for i, r in enumerate(report.results):
        catalog.update(r.track_id, lambda t, i=i: setattr(t, "split", "train" if i == 0 else "validation"))
    config = TrainConfig(run="r", base_model=str(tiny_model), workspace=str(ws.root), max_steps=2, checkpoint_every=2,
                         warmup_steps=1, crop_sec=2.0, rank=4, learning_rate=5e-3)
    Trainer(create_run(ws, config)).run()
    return ws


def _assert_matched(test) -> None:
    for i, pair in enumerate(test.clips):
        a, b = (load_clip(test.clip(i, s)).samples for s in "ab")
        assert a.shape == b.shape == (int(test.duration * RATE), 2)
        la, lb = integrated_loudness(a, RATE), integrated_loudness(b, RATE)  # measured on what is played
        assert abs(la - lb) <= 0.5 and pair.lufs_a == pytest.approx(la, abs=1e-3)
        assert max(np.abs(a).max(), np.abs(b).max()) <= 1.0


@pytest.mark.slow
def test_an_abx_test_of_a_checkpoint_against_its_base_model(lab):
    request = ListeningRequest("abx", "ckpt:r/2", "base:r", trials=4, seed=11, listener="ana", duration=1.0, steps=1)
    cancel, seen = CancelToken(), []

    def stop_after_two(p):
        seen.append(p.label)
        if p.done == 2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        create_test(lab, request, progress=stop_after_two, cancel=cancel)
    [partial] = listening_dirs(lab, partial=True)
    test = create_test(lab, request)  # the same request resumes the interrupted preparation
    assert test.dir == lab.runs_dir / "r" / "listening" / partial.name.removesuffix(".partial")
    assert not listening_dirs(lab, partial=True) and not (test.dir / "renders").exists()
    assert test.seed == 11 and test.trials == 4 and test.a["identity"]["lora_sha256"]
    _assert_matched(test)
    answer_all(Session(test), correct=4)
    assert checkpoint_notes(lab, "r")[2] == "ABX vs base model: 4/4 inconclusive"
    assert model_card_lines(lab, "r", 2) == []  # base:r is not a source of step 2's export


@pytest.mark.slow
def test_which_is_real_pairs_generated_clips_with_validation_excerpts(lab):
    test = create_test(lab, ListeningRequest("real", "ckpt:r/2", "real:validation", trials=3, practice=1, seed=5,
                                             listener="ben", duration=2.0, steps=1))
    tracks = {t.id for t in Catalog(lab.catalog_path).all() if t.split == "validation"}
    assert {m.track for m in test.materials} <= tracks and len(test.materials) == 4
    assert all(0 <= m.offset <= 29 for m in test.materials)
    assert any("real tracks repeat" in w for w in test.warnings)  # 2 tracks for 4 clips
    _assert_matched(test)
    session = Session(test)
    answer_all(session, correct=2)
    [comparison] = [c for c in comparisons(lab) if c.pooled.kind == "real"]
    assert (comparison.pooled.correct, comparison.pooled.answered) == (2, 3)


def test_requests_that_cannot_work_say_what_to_do(lab):
    def fails(match, **kw):
        base = dict(kind="abx", a="ckpt:r/2", b="base:r")
        with pytest.raises(LofiError, match=match):  # ListeningError, or SourceError for a source
            create_test(lab, ListeningRequest(**{**base, **kw}))

    fails("unknown test kind 'mushra'", kind="mushra")
    fails("use ckpt:<run>/<step>", a="r/2")
    fails("no valid checkpoint at step 7 \\(it has: 0, 2\\)", a="ckpt:r/7")
    fails("no run named 'nope'", b="base:nope")
    fails("only be used with --kind real", b="real:validation")
    fails("needs real:validation on one side", kind="real")
    fails("preference has no right answer", kind="preference", practice=2)
    fails("--trials must be at least 1", trials=0)
