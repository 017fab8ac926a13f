"""A run as training and evaluation leave it, without a model: checkpoints with valid checksums and
synthesized clips recorded for the sample matrix. For tests of what reads runs (matrix, report, screen)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from engine.audio import synth
from engine.evaluation.matrix import ClipSettings, clip_dir, clip_identity
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.workspace import Workspace
from tests.audio_files import write


def fake_run(workspace: Workspace, steps: list[int], name: str = "r") -> Path:
    """A run (its base model does not exist) with checkpoints at ``steps``."""
    run_dir = workspace.runs_dir / name
    run_dir.mkdir(parents=True)
    TrainConfig(run=name, base_model=str(workspace.root / "no-model"), workspace=str(workspace.root)).save(run_dir)
    fake_checkpoints(run_dir, steps)
    return run_dir


def fake_checkpoints(run_dir: Path, steps: list[int]) -> None:
    """Checkpoint folders that pass the checksum test (their contents are not loadable weights)."""
    for step in steps:
        folder = ckpt.checkpoint_dir(run_dir, step)
        folder.mkdir(parents=True)
        sums = {}
        for name in (ckpt.LORA_FILE, ckpt.STATE_FILE):
            data = f"{name} of step {step}".encode()
            (folder / name).write_bytes(data)
            sums[name] = hashlib.sha256(data).hexdigest()
        (folder / ckpt.CHECKSUMS).write_text(json.dumps(sums))


def fake_clips(run_dir: Path, step: int | None, styles: list[str], settings: ClipSettings = ClipSettings(1.0, 1, 0),
               gain: float = 0.3, seconds: float | None = None) -> list[Path]:
    """Clips of a column as evaluation or the matrix writes them: ``<style>-0.wav`` plus the identity file.
    Each column gets its own tone (and ``gain``), so columns differ in pitch and loudness."""
    folder = clip_dir(run_dir, step)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clips.json").write_text(json.dumps(clip_identity(run_dir, step, settings)))
    freq = 220.0 * (1 + (step or 0) / 10)
    return [write(folder / f"{s}-0.wav", synth.tone(freq, seconds or settings.duration, amplitude=gain))
            for s in styles]
