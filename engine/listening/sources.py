"""What a listening test compares, written as the CLI and the screens take it:

- ``ckpt:<run>/<step>``: the run's base model with the LoRA of that checkpoint (PyTorch);
- ``base:<run>``: the run's base model without a LoRA (PyTorch);
- ``bundle:<path>``: an export bundle, one precision (onnxruntime only);
- ``real:validation``: excerpts of the workspace's validation tracks ("which is real?" only).

Generated sources render the same prompts with the same seeds, so a trial differs only in the model.
The torch pipeline and the ONNX generator draw their initial noise differently, so a checkpoint
against a bundle shares prompt and seed number but not the noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LofiError
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.workspace import Workspace

REAL = "real:validation"


class SourceError(LofiError):
    """A source string names nothing usable."""


@dataclass(frozen=True)
class Source:
    spec: str  # normalised, e.g. "ckpt:lofi-v1/1200"
    kind: str  # ckpt | base | bundle | real
    label: str  # short name for reports and model cards: "step 1200", "base model", "int8", "real tracks"
    run: str | None = None  # the training run it belongs to (a bundle: the run its manifest names)
    step: int | None = None
    path: Path | None = None  # bundle directory
    identity: dict[str, Any] = field(default_factory=dict)  # what makes its audio what it is (weights, bundle version)

    @property
    def generated(self) -> bool:
        return self.kind != "real"


def parse_source(ws: Workspace, text: str) -> Source:
    """Check that ``text`` names something that exists, and say what to write instead when it does not."""
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("ckpt", "base", "bundle", "real"):
        raise SourceError(f"unknown source {text!r}: use ckpt:<run>/<step>, base:<run>, bundle:<path> or "
                          f"{REAL}")
    if kind == "real":
        if rest != "validation":
            raise SourceError(f"unknown source {text!r}: the real tracks are {REAL}")
        return Source(REAL, "real", "real tracks")
    if kind == "bundle":
        return _bundle(ws, rest)
    run, _, step = rest.partition("/")
    run_dir = ws.runs_dir / run
    if not run or not (run_dir / "config.json").exists():
        raise SourceError(f"{text!r}: no run named {run!r} in {ws.runs_dir} (see `lofi runs`)")
    if kind == "base":
        from engine.model.load import model_identity
        from engine.training.config import TrainConfig

        base = TrainConfig.load(run_dir).base_model
        return Source(f"base:{run}", "base", "base model", run=run,
                      identity={"base_model": str(base), "model": model_identity(base)})
    return _checkpoint(run_dir, run, step, text)


def _checkpoint(run_dir: Path, run: str, step_text: str, text: str) -> Source:
    from engine.training import checkpoints as ckpt

    steps = ckpt.list_checkpoints(run_dir)
    if not step_text.isdigit() or int(step_text) not in steps:
        have = ", ".join(map(str, steps)) or "none yet"
        raise SourceError(f"{text!r}: run {run} has no valid checkpoint at step {step_text or '?'} (it has: {have})")
    step = int(step_text)
    lora = json.loads((ckpt.checkpoint_dir(run_dir, step) / ckpt.CHECKSUMS).read_text())[ckpt.LORA_FILE]
    return Source(f"ckpt:{run}/{step}", "ckpt", f"step {step}", run=run, step=step, identity={"lora_sha256": lora})


def _bundle(ws: Workspace, text: str) -> Source:
    from engine.inference.bundle import bundle_version, read_manifest

    path = Path(text).expanduser()
    if not path.is_absolute() and not path.exists() and (ws.root / path).exists():
        path = ws.root / path  # exports/<name>/int8 written relative to the workspace
    path = path.resolve()
    manifest = read_manifest(path)
    lora = manifest.get("lora", {})
    spec = f"bundle:{ws.relative(path) if path.is_relative_to(ws.root) else path}"
    return Source(spec, "bundle", manifest["precision"], run=lora.get("run"), step=lora.get("step"), path=path,
                  identity={"bundle": bundle_version(manifest)})


@dataclass(frozen=True)
class Render:
    """One clip to render: a prompt and a seed, written to ``path``."""

    prompt: str
    seed: int
    path: Path


def render(ws: Workspace, source: Source, jobs: list[Render], duration: float, steps: int,
           progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> None:
    """Render every job whose file does not exist yet (so an interrupted preparation resumes), the way
    ``lofi eval`` renders: ``steps`` sampling steps, guidance 1.0, instrumental."""
    todo = [job for job in jobs if not job.path.exists()]
    if not todo:
        return
    if source.kind == "bundle":
        assert source.path is not None  # parse_source gives every bundle its directory
        _render_bundle(source.path, todo, duration, steps, progress, cancel)
        return
    from engine.evaluation.clips import SampleJob, column_pipeline, generate_samples
    from engine.model.check import model_variant
    from engine.training.config import TrainConfig

    assert source.run is not None  # checkpoints and base models are named by their run
    run_dir = ws.runs_dir / source.run
    pipe = column_pipeline(run_dir, source.step if source.kind == "ckpt" else None)
    samples = [SampleJob("", job.prompt, job.seed, job.path) for job in todo]
    sampler = model_variant(TrainConfig.load(run_dir).base_model).sampler(steps)
    generate_samples(pipe, samples, duration, sampler, progress, cancel)


def _render_bundle(path: Path, jobs: list[Render], duration: float, steps: int, progress: ProgressCallback,
                   cancel: CancelToken | None) -> None:
    from engine.audio.io import write_audio
    from engine.inference.bundle import Bundle
    from engine.inference.generator import OnnxGenerator

    generator = OnnxGenerator(Bundle.open(path))
    for i, job in enumerate(jobs):
        audio = generator.generate(job.prompt, duration, seed=job.seed, steps=steps, guidance_scale=1.0, cancel=cancel)
        write_audio(job.path, audio, generator.sample_rate)
        progress(Progress(i + 1, len(jobs), job.path.name))
