"""Generate audio for a list of prompts with a pipeline (a checkpoint's LoRA already loaded).

Files that already exist are kept, so an interrupted evaluation resumes; each file is written
atomically. Reused by the export's precision comparison (same prompts and seeds on every side).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.audio.io import write_audio
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class SampleJob:
    style: str
    prompt: str
    seed: int
    path: Path


def generate_samples(pipe, jobs: list[SampleJob], duration: float, steps: int,
                     progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> list[Path]:
    done = []
    for i, job in enumerate(jobs):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if not job.path.exists():
            with torch.no_grad():
                audio = pipe(prompt=job.prompt, lyrics="[Instrumental]", audio_duration=duration,
                             num_inference_steps=steps, guidance_scale=1.0,
                             generator=torch.Generator().manual_seed(job.seed)).audios[0]
            write_audio(job.path, audio.float().cpu().numpy().T, int(pipe.sample_rate))
        done.append(job.path)
        progress(Progress(i + 1, len(jobs), job.path.name))
    return done
