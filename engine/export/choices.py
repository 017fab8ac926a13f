"""What can be exported: the runs with checkpoints and their default pick, and what is known about one
checkpoint before anything runs (its evaluation, each precision's estimated size, where its export goes
and how far that export got). Light: nothing here imports torch or onnx."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from engine.errors import LofiError
from engine.export.merge import best_step, run_base_model
from engine.export.sizes import estimate_bundle_bytes, parameter_counts
from engine.export.status import ExportStatus, default_out, read_status
from engine.inference.bundle import PRECISIONS
from engine.training.runs import list_runs
from engine.workspace import Workspace


@dataclass(frozen=True)
class RunChoice:
    run: str
    steps: list[int]  # valid checkpoints, ascending
    best: int | None  # the evaluated best, when the run was evaluated
    default: int  # what `lofi export` takes without --checkpoint: the best, else the latest


@dataclass
class CheckpointInfo:
    run: str
    step: int
    best: bool
    metrics: dict[str, Any] | None  # runs/<run>/eval/step-N.json
    base_model: Path
    status: ExportStatus  # of ``status.out``, the export folder shown
    estimates: dict[str, int] = field(default_factory=dict)  # precision -> bytes, from parameter counts
    estimate_error: str | None = None


def checkpoint_metrics(run_dir: Path, step: int) -> dict[str, Any] | None:
    """The checkpoint's evaluation (``runs/<run>/eval/step-N.json``), or None when not evaluated."""
    try:
        return cast(dict[str, Any], json.loads((Path(run_dir) / "eval" / f"step-{step}.json").read_text()))
    except (OSError, ValueError):
        return None


def run_choices(ws: Workspace) -> list[RunChoice]:
    choices = []
    for run in list_runs(ws):
        if run.checkpoints:
            best = best_step(Path(run.path), run.checkpoints)
            choices.append(RunChoice(run.name, run.checkpoints, best, run.checkpoints[-1] if best is None else best))
    return choices


def checkpoint_info(ws: Workspace, run: str, step: int, out: Path | None = None) -> CheckpointInfo:
    """Reads the export folder's stages (checksums): call it off the UI thread."""
    run_dir = ws.runs_dir / run
    base = run_base_model(run_dir)
    info = CheckpointInfo(run, step, best_step(run_dir, [step]) == step, checkpoint_metrics(run_dir, step), base,
                          read_status(out or default_out(ws, run, step)))
    try:
        counts = parameter_counts(base)
        info.estimates = {p: estimate_bundle_bytes(counts, p) for p in PRECISIONS}
    except (LofiError, OSError, ValueError) as exc:  # a damaged base model: no estimate, the rest still works
        info.estimate_error = f"no size estimate: {exc}"
    return info
