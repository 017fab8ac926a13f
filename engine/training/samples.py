"""Fixed-prompt samples during training: one prompt per style category, fixed seeds, so steps compare."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from engine.atomic import atomic_write_json
from engine.audio.io import write_audio
from engine.labels.prompts import metadata_bpm, preset_prompt
from engine.labels.styles import load_styles
from engine.model.load import Pipeline

if TYPE_CHECKING:
    from engine.model.variants import Variant
    from engine.training.config import TrainConfig


def sample_prompts() -> list[tuple[str, str]]:
    """(style id, prompt) for the first preset of each category."""
    taxonomy = load_styles()
    return [(presets[0].id, preset_prompt(presets[0])) for presets in taxonomy.by_category().values() if presets]


@torch.no_grad()
def write_samples(pipe: Pipeline, folder: Path, config: TrainConfig, variant: Variant) -> Path:
    """Generate and save one WAV per prompt (seed = index) plus prompts.json describing them, with the model
    variant's sampler (steps, shift, guidance) and the caption's bpm in the metadata, as at inference."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i, (style, prompt) in enumerate(sample_prompts()):
        audio = pipe(prompt=prompt, lyrics="[Instrumental]", audio_duration=config.sample_duration,
                     bpm=metadata_bpm(prompt, None), generator=torch.Generator().manual_seed(i),
                     **variant.sampler(config.sample_steps)).audios[0]
        name = f"{i:02d}-{style}.wav"
        write_audio(folder / name, audio.float().cpu().numpy().T, int(pipe.sample_rate))
        records.append({"file": name, "style": style, "prompt": prompt, "seed": i})
    atomic_write_json(folder / "prompts.json", records)
    return folder
