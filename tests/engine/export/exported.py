"""One tiny-model run, trained a few steps and exported at all four precisions, shared by the export,
generator and daemon tests (registered in ``tests/conftest.py``, so it is built once per session).

The export is interrupted once on purpose (cancelled after the fp32 DiT graph) and then resumed,
so every test session also exercises resuming.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.errors import Cancelled
from engine.progress import CancelToken
from engine.training.config import TrainConfig
from engine.training.loop import Trainer
from engine.training.runs import create_run

PRECISIONS = ["fp32", "fp16", "int8", "int4"]
RUN = "export-e2e"


@dataclass
class Exported:
    workspace: object
    run: str
    result: object  # ExportResult of the resumed export
    first_ran: list[str]  # stages finished before the interruption
    out: Path

    def bundle(self, precision: str) -> Path:
        return self.out / precision


@pytest.fixture(scope="session")
def exported(train_workspace, tiny_model, tmp_path_factory) -> Exported:
    from engine.export.exporter import export_checkpoint

    ws = train_workspace
    cfg = TrainConfig(run=RUN, base_model=str(tiny_model), workspace=str(ws.root), max_steps=3, checkpoint_every=3,
                      warmup_steps=1, crop_sec=2.0, learning_rate=1e-2, schedule="constant", rank=4, alpha=8.0,
                      cfg_dropout=0.0)
    assert Trainer(create_run(ws, cfg)).run() == "finished"
    out = tmp_path_factory.mktemp("export") / "bundle"
    cancel, seen = CancelToken(), []

    def stop_after_dit(p):
        seen.append(p.label)
        if p.label == "fp32/transformer" and seen.count(p.label) == 2:  # reported at start and end
            cancel.cancel()

    with pytest.raises(Cancelled):
        export_checkpoint(ws, RUN, PRECISIONS, out=out, progress=stop_after_dit, cancel=cancel)
    finished = [label for label in dict.fromkeys(seen) if seen.count(label) == 2]
    result = export_checkpoint(ws, RUN, PRECISIONS, out=out)
    return Exported(ws, RUN, result, finished, out)


def imported_modules(importtime_log: str) -> set[str]:
    """Module names from the stderr of ``python -X importtime``."""
    return {line.split("|")[-1].strip() for line in importtime_log.splitlines() if line.startswith("import time:")}
