"""One clip from a bundle to an audio file, timed: ``lofi generate`` and the export wizard's Try step."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine.audio.io import write_audio
from engine.inference.bundle import Bundle
from engine.inference.generator import OnnxGenerator
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress


@dataclass(frozen=True)
class ClipRequest:
    prompt: str
    duration: float = 30.0
    seed: int = 0
    bpm: int | None = None
    key: str | None = None
    steps: int | None = None  # None: the bundle's default
    guidance: float | None = None  # None: the bundle's default
    lyrics: str = "[Instrumental]"


@dataclass(frozen=True)
class Clip:
    path: Path
    duration: float
    sample_rate: int
    channels: int
    seed: int
    seconds: float  # generation time
    precision: str

    @property
    def seconds_per_audio_minute(self) -> float:
        return self.seconds / (self.duration / 60)


def generate_clip(bundle: Path, request: ClipRequest, out: Path, progress: ProgressCallback = no_progress,
                  cancel: CancelToken | None = None) -> Clip:
    gen = OnnxGenerator(Bundle.open(bundle))
    started = time.perf_counter()
    audio = gen.generate(request.prompt, request.duration, seed=request.seed, steps=request.steps,
                         guidance_scale=request.guidance, lyrics=request.lyrics, bpm=request.bpm, keyscale=request.key,
                         on_step=lambda i, n: progress(Progress(i, n, f"step {i}/{n}")), cancel=cancel)
    seconds = time.perf_counter() - started
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_audio(out, audio, gen.sample_rate)
    return Clip(Path(out), audio.shape[0] / gen.sample_rate, gen.sample_rate, audio.shape[1], request.seed, seconds,
                gen.bundle.manifest["precision"])
