"""Generate audio for a list of prompts with a checkpoint's LoRA loaded on the base model.

Files that already exist are kept, so an interrupted evaluation resumes; each file is written
atomically. Reused by the export's precision comparison: the same :func:`style_jobs` (prompts and
seeds) rendered by two pipelines, then ``engine.metrics.folders.fad_between`` on the two folders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.atomic import atomic_write_json
from engine.audio.io import write_audio
from engine.labels.prompts import metadata_bpm, preset_prompt
from engine.labels.styles import load_styles
from engine.model.load import Pipeline, load_pipeline, resolve_device
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig


@dataclass(frozen=True)
class SampleJob:
    style: str
    prompt: str
    seed: int
    path: Path


def style_jobs(out_dir: Path, per_style: int, seed: int = 0, styles: tuple[str, ...] = ()) -> list[SampleJob]:
    """``per_style`` clips for each style (all of them unless ``styles`` picks some), each with its own
    fixed seed, so that checkpoints and precisions are compared on identical prompts and noise."""
    taxonomy = load_styles()
    ids = [taxonomy.get(s).id for s in styles] if styles else taxonomy.ids
    return [SampleJob(sid, preset_prompt(taxonomy.get(sid)), seed + k, Path(out_dir) / f"{sid}-{k}.wav")
            for sid in ids for k in range(per_style)]


def reset_if_changed(out_dir: Path, identity: dict[str, Any]) -> None:
    """Resuming reuses existing clips, so they must come from the same weights and settings:
    ``identity`` is recorded in ``out_dir/clips.json`` and, when it differs, the old clips go."""
    out_dir = Path(out_dir)
    marker = out_dir / "clips.json"
    try:
        same = json.loads(marker.read_text()) == identity
    except (OSError, ValueError):
        same = False
    if not same:
        for old in out_dir.glob("*.wav"):
            old.unlink()
        atomic_write_json(marker, identity)


def column_pipeline(run_dir: Path, step: int | None, pipe: Pipeline | None = None, dtype: str = "fp32",
                    device: str | None = None) -> Pipeline:
    """The run's base model with the LoRA saved at ``step`` loaded through diffusers; ``step=None`` is the
    base model alone (the step-0 baseline every checkpoint is compared with). Passing the ``pipe`` of an
    earlier column swaps the LoRA instead of loading the base model again."""
    if pipe is None:
        pipe = load_pipeline(TrainConfig.load(run_dir).base_model, dtype=dtype, device=resolve_device(device))
    else:
        pipe.unload_lora_weights()
    if step is not None:
        pipe.load_lora_weights(ckpt.checkpoint_dir(run_dir, step), weight_name=ckpt.LORA_FILE)
    return pipe


def generate_samples(pipe: Pipeline, jobs: list[SampleJob], duration: float, sampler: dict[str, Any],
                     progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> list[Path]:
    """Render the missing clips; ``sampler`` is the model variant's (``Variant.sampler``): steps, shift, guidance.
    The caption's bpm goes into the metadata, as training puts it there."""
    done = []
    for i, job in enumerate(jobs):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if not job.path.exists():
            with torch.no_grad():
                audio = pipe(prompt=job.prompt, lyrics="[Instrumental]", audio_duration=duration,
                             bpm=metadata_bpm(job.prompt, None), generator=torch.Generator().manual_seed(job.seed),
                             **sampler).audios[0]
            write_audio(job.path, audio.float().cpu().numpy().T, int(pipe.sample_rate))
        done.append(job.path)
        progress(Progress(i + 1, len(jobs), job.path.name))
    return done
