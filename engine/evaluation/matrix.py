"""The sample matrix: one clip per style (rows) and column (the base model, then each checkpoint).

Every cell of a row has the same prompt and seed, so what differs between cells is the weights. A
checkpoint's cells are its evaluation clips (``eval/step-N/<style>-0.wav``, the evaluation's first
seed), so a matrix after ``lofi eval`` costs nothing and ``lofi eval`` after a matrix reuses its
clips; the base model's cells live in ``eval/base/``. The clip settings (duration, inference steps,
seed) are those of the run's newest evaluation clips, else the evaluation's defaults. Listing reads
files only; filling loads the models (PyTorch) when it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from engine.errors import LofiError
from engine.labels.prompts import preset_prompt
from engine.labels.styles import load_styles
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig

BASE = "base"
CLIP_INDEX = 0  # the matrix shows each style's first evaluation clip (seed = settings.seed)
IDENTITY_FILE = "clips.json"


class MatrixError(LofiError):
    """A matrix that cannot be built as asked (unknown checkpoint or style)."""


@dataclass(frozen=True)
class ClipSettings:
    duration: float = 10.0
    steps: int = 8
    seed: int = 0


@dataclass(frozen=True)
class Column:
    step: int | None  # None: the base model without the LoRA

    @property
    def label(self) -> str:
        return BASE if self.step is None else str(self.step)


@dataclass(frozen=True)
class Cell:
    style: str
    column: Column
    path: Path
    ready: bool  # the clip exists and was made with this column's weights and the matrix settings


@dataclass
class SampleMatrix:
    run: str
    run_dir: Path
    settings: ClipSettings
    styles: list[str]
    columns: list[Column]
    prompts: dict[str, str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (style, column label) -> cell

    def cell(self, style: str, column: Column) -> Cell:
        return self.cells[(style, column.label)]

    def missing(self) -> list[Cell]:
        return [c for c in self.cells.values() if not c.ready]


def clip_dir(run_dir: Path, step: int | None) -> Path:
    """Where a column's clips live: ``eval/step-N/`` for a checkpoint, ``eval/base/`` for the base model."""
    return Path(run_dir) / "eval" / (BASE if step is None else f"step-{step}")


def clip_identity(run_dir: Path, step: int | None, settings: ClipSettings) -> dict[str, Any]:
    """What a column's clips depend on: the LoRA's checksum (or the base model's identity) and the settings."""
    if step is None:
        from engine.model.load import model_identity  # engine.model.check loads torch (tiny model builder)

        weights = {"base_model": model_identity(TrainConfig.load(run_dir).base_model)}
    else:
        sums = json.loads((ckpt.checkpoint_dir(run_dir, step) / ckpt.CHECKSUMS).read_text())
        weights = {"lora_sha256": sums[ckpt.LORA_FILE]}
    return {**weights, "duration": settings.duration, "steps": settings.steps, "seed": settings.seed}


def _recorded_identity(directory: Path) -> dict[str, Any] | None:
    try:
        return cast(dict[str, Any], json.loads((directory / IDENTITY_FILE).read_text()))
    except (OSError, ValueError):
        return None


def run_clip_settings(run_dir: Path) -> ClipSettings:
    """The settings of the run's newest evaluation clips, so that the matrix reuses them."""
    markers = sorted((Path(run_dir) / "eval").glob(f"*/{IDENTITY_FILE}"), key=lambda p: p.stat().st_mtime)
    for marker in reversed(markers):
        ident = _recorded_identity(marker.parent) or {}
        try:
            return ClipSettings(float(ident["duration"]), int(ident["steps"]), int(ident["seed"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ClipSettings()


def parse_columns(spec: str | None) -> list[str] | None:
    """``"200,400,base"`` -> ["200", "400", "base"]; None or blank means every column."""
    if not spec or not spec.strip():
        return None
    return [part.strip().lower().removeprefix("step-") for part in spec.split(",") if part.strip()]


def matrix_columns(run_dir: Path, wanted: list[str] | None = None) -> list[Column]:
    """The base model, then every valid checkpoint; or the ``wanted`` ones, in that order."""
    every = [Column(None)] + [Column(s) for s in ckpt.list_checkpoints(run_dir)]
    if wanted is None:
        return every
    by_label = {c.label: c for c in every}
    unknown = [w for w in wanted if w not in by_label]
    if unknown:
        raise MatrixError(f"run {Path(run_dir).name} has no checkpoint {unknown[0]!r}; "
                          f"its columns are {', '.join(by_label)}")
    return [by_label[w] for w in wanted]


def sample_matrix(run_dir: Path, styles: list[str] | tuple[str, ...] = (), columns: list[str] | None = None,
                  category: str | None = None, settings: ClipSettings | None = None) -> SampleMatrix:
    """A run's matrix as it stands on disk (nothing is generated): every style, the chosen ``styles``, or
    those of a ``category``; clip ``settings`` default to the run's evaluation clips'."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise MatrixError(f"no run named {run_dir.name} in {run_dir.parent} (see `lofi runs`)")
    taxonomy = load_styles()
    ids = [taxonomy.get(s).id for s in styles] if styles else taxonomy.ids
    if category:
        ids = [s for s in ids if taxonomy.category(s) == category]
    settings = settings or run_clip_settings(run_dir)
    matrix = SampleMatrix(run_dir.name, run_dir, settings, ids, matrix_columns(run_dir, columns),
                          {s: preset_prompt(taxonomy.get(s)) for s in ids})
    for column in matrix.columns:
        folder = clip_dir(run_dir, column.step)
        current = _recorded_identity(folder) == clip_identity(run_dir, column.step, settings)
        for style in ids:
            path = folder / f"{style}-{CLIP_INDEX}.wav"
            matrix.cells[(style, column.label)] = Cell(style, column, path, current and path.exists())
    return matrix


def fill_matrix(matrix: SampleMatrix, progress: ProgressCallback = no_progress,
                cancel: CancelToken | None = None) -> int:
    """Generate the missing cells column by column (the base model loads once; LoRAs are swapped);
    returns how many were made.

    Clips are written atomically and kept, so a cancelled fill resumes where it stopped; a column whose
    clips came from other weights or settings starts afresh.
    """
    from engine.evaluation.clips import SampleJob, column_pipeline, generate_samples, reset_if_changed
    from engine.model.check import model_variant
    from engine.training.config import TrainConfig

    sampler = model_variant(TrainConfig.load(matrix.run_dir).base_model).sampler(matrix.settings.steps)
    todo = matrix.missing()
    done, pipe = 0, None
    for column in matrix.columns:
        cells = [c for c in todo if c.column == column]
        if not cells:
            continue
        if cancel is not None:
            cancel.raise_if_cancelled()
        reset_if_changed(clip_dir(matrix.run_dir, column.step), clip_identity(matrix.run_dir, column.step,
                                                                              matrix.settings))
        jobs = [SampleJob(c.style, matrix.prompts[c.style], matrix.settings.seed + CLIP_INDEX, c.path) for c in cells]

        def report(p: Progress, before: int = done, label: str = column.label) -> None:
            progress(Progress(before + p.done, len(todo), f"{label}: {p.label}"))

        pipe = column_pipeline(matrix.run_dir, column.step, pipe)
        generate_samples(pipe, jobs, matrix.settings.duration, sampler, report, cancel)
        done += len(jobs)
    return done
