"""What a bundle needs from the PyTorch pipeline besides graphs: audio geometry, the sampler's
settings, the prompt templates and two learned arrays (silence latent, null condition).

Read from the pipeline itself (its call defaults, its own prompt formatter) so the ONNX generator
reproduces it without importing torch.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

from engine.inference.prompt import BPM, CAPTION, DURATION, KEYSCALE, LANGUAGE, LYRICS, TIMESIGNATURE
from engine.model.internals import format_prompt
from engine.model.load import Pipeline
from engine.model.variants import variant_of_config

_SENTINEL = 987654321  # a duration no prompt contains, replaced by the placeholder
_BPM_SENTINEL = 987654320  # likewise for the bpm


def _call_default(pipe: Pipeline, name: str) -> Any:
    return inspect.signature(type(pipe).__call__).parameters[name].default


def prompt_spec(pipe: Pipeline) -> dict[str, Any]:
    text, lyrics = format_prompt(pipe, prompt=CAPTION, lyrics=LYRICS, vocal_language=LANGUAGE,
                                 audio_duration=float(_SENTINEL), bpm=_BPM_SENTINEL, keyscale=KEYSCALE,
                                 timesignature=TIMESIGNATURE)
    text = text.replace(str(_SENTINEL), DURATION).replace(str(_BPM_SENTINEL), BPM)
    return {"text_template": text, "lyrics_template": lyrics,
            "max_text_tokens": _call_default(pipe, "max_text_length"),
            "max_lyric_tokens": _call_default(pipe, "max_lyric_length"),
            "timbre_frames": math.ceil(30 * pipe.latents_per_second)}


def write_facts(pipe: Pipeline, out_dir: Path) -> dict[str, Any]:
    """Save the arrays into ``out_dir`` and return the manifest sections describing the model."""
    out_dir = Path(out_dir)
    ce = pipe.condition_encoder
    np.save(out_dir / "silence_latent.npy", ce.silence_latent.detach().float().numpy(), allow_pickle=False)
    np.save(out_dir / "null_condition.npy", ce.null_condition_emb.detach().float().numpy(), allow_pickle=False)
    variant = variant_of_config(pipe.transformer.config)
    turbo = variant.turbo
    vae = pipe.vae.config
    return {
        "audio": {"sample_rate": int(pipe.sample_rate), "channels": int(vae.audio_channels),
                  "latent_rate": float(pipe.latents_per_second),
                  "samples_per_latent": int(math.prod(vae.downsampling_ratios)),
                  "acoustic_dim": int(pipe.transformer.config.audio_acoustic_hidden_dim),
                  "normalisation": "peak to -1 dBFS (after dividing by the peak when above 1)"},
        "scheduler": {"type": "flow_match_euler", "shift": variant.shift, "turbo": turbo,
                      "timesteps": "t = linspace(1, 0, steps + 1); t = shift*t / (1 + (shift-1)*t); Euler to 0"},
        "guidance": {"type": "apg", "default_scale": variant.guidance,
                     "momentum": -0.75, "norm_threshold": 2.5, "eta": 0.0, "applies": "scale > 1 and not turbo"},
        "default_steps": variant.steps,
        "variant": variant.name,
        "prompt": prompt_spec(pipe),
        "arrays": {"silence_latent": "silence_latent.npy", "null_condition": "null_condition.npy"},
    }
