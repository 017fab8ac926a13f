"""One small trained run with a validation track, shared by the evaluation tests (it takes a while to train)."""

import pytest

from engine.catalog.store import Catalog
from engine.ingest.batch import ingest
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace
from tests.audio_files import lofi_file


@pytest.fixture(scope="package")
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


