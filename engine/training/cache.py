"""Encode each training track once per base model: VAE latents and the packed conditioning.

A cache entry is keyed by the audio hash, the prompt/lyrics/metadata text, the crop length (the
text template states a duration) and the model identity, so editing one track's tags re-encodes
that track only. Training steps never decode or encode audio; they crop the cached latents.

Stored per track (safetensors): ``latents`` [T, D] (the VAE posterior mean at 25 Hz), and the packed
conditioning [L, H] (text, lyrics and timbre by the frozen condition encoder; timbre from the model's
silence latent, as ACE-Step does for text-to-music) twice: ``encoder_hidden_states`` with the track's
bpm / key / time signature in the caption's metadata, ``encoder_hidden_states_no_metadata`` with "N/A"
there, which is what inference sees when a user gives none.

Memory: the VAE encodes with diffusers' tiling (30 s tiles, 2 s of overlap on each side), so the peak
depends on the tile and not on the track (``benchmarks/cache_memory.py``); the tiled latents equal the
untiled encode to float rounding because the overlap exceeds the encoder's receptive field (~0.55 s).

Vocal tracks are encoded and trained whole (ingest keeps at most 240 s, as upstream's preprocessing
does): their lyrics describe the whole song, and a crop would pair one part of the audio with all of
the words. Instrumentals are cropped at each step; their caption states the crop's duration.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from engine.atomic import atomic_path
from engine.audio.io import decode
from engine.audio.process import resample, to_stereo
from engine.model.load import Pipeline
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.training.data import TrainItem

CACHE_FORMAT = 2  # 2: two conditionings (with / without metadata); vocal tracks whole


@dataclass(frozen=True)
class CachedItem:
    item: TrainItem
    path: Path

    @property
    def whole(self) -> bool:
        """Trained uncropped: a vocal track (see the module docstring)."""
        return is_vocal(self.item)


def is_vocal(item: TrainItem) -> bool:
    return not item.lyrics.lstrip().startswith("[Instrumental]")


def cache_key(item: TrainItem, model_id: str, crop_sec: float) -> str:
    parts = [f"v{CACHE_FORMAT}", model_id, item.sha256, item.prompt, item.lyrics, str(item.bpm), str(item.key),
             str(item.time_signature), item.language, "whole" if is_vocal(item) else f"{crop_sec:g}"]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def silence_context(pipe: Pipeline, frames: int, dtype: torch.dtype) -> torch.Tensor:
    """Context latents for text-to-music: the silence latent (tiled) and an all-ones chunk mask."""
    silence = pipe.condition_encoder.silence_latent.to(dtype=dtype)
    if silence.shape[1] < frames:
        silence = silence.repeat(1, math.ceil(frames / silence.shape[1]), 1)
    silence = silence[:, :frames, :]
    return torch.cat([silence, torch.ones_like(silence)], dim=-1)


@torch.no_grad()
def encode_latents(vae: Any, audio: np.ndarray, device: str | torch.device) -> torch.Tensor:
    """[T, D] float32 VAE posterior mean of stereo ``audio`` [frames, 2] at the VAE's rate, tiled (bounded memory)."""
    vae.enable_tiling()
    wave = torch.from_numpy(np.ascontiguousarray(audio.T)).unsqueeze(0).to(device=device, dtype=vae.dtype)
    return cast(torch.Tensor, vae.encode(wave).latent_dist.mean[0].transpose(0, 1).float())


def track_audio(path: Path, rate: int) -> np.ndarray:
    """A track as the VAE takes it: stereo float32 [frames, 2] at ``rate``."""
    decoded = decode(Path(path))
    return resample(to_stereo(decoded.samples), decoded.sample_rate, rate)


@torch.no_grad()
def encode_condition(pipe: Pipeline, item: TrainItem, duration: float, metadata: bool = True) -> torch.Tensor:
    """[L, H] float32 packed conditioning, formatted as the pipeline formats its prompt (metadata "N/A" if not)."""
    device, dtype = pipe.condition_encoder.device, pipe.condition_encoder.dtype
    meta = {"bpm": item.bpm, "keyscale": item.key, "timesignature": (item.time_signature or "").split("/")[0] or None}
    text, text_mask, lyric, lyric_mask = pipe.encode_prompt(
        prompt=item.prompt, lyrics=item.lyrics, device=device, vocal_language=item.language,
        audio_duration=duration, **(meta if metadata else {}),
    )
    timbre_frames = math.ceil(30 * pipe.latents_per_second)
    refer = pipe.condition_encoder.silence_latent[:, :timbre_frames, :].to(device=device, dtype=dtype)
    hidden, _ = pipe.condition_encoder(
        text_hidden_states=text.to(dtype), text_attention_mask=text_mask,
        lyric_hidden_states=lyric.to(dtype), lyric_attention_mask=lyric_mask,
        refer_audio_acoustic_hidden_states_packed=refer,
        refer_audio_order_mask=torch.zeros(1, device=device, dtype=torch.long),
    )
    return cast(torch.Tensor, hidden[0].float().contiguous().cpu())


def encode_item(pipe: Pipeline, item: TrainItem, crop_sec: float) -> dict[str, torch.Tensor]:
    rate = int(pipe.sample_rate)
    audio = track_audio(Path(item.audio), rate)
    latents = encode_latents(pipe.vae, audio, pipe.vae.device)
    seconds = audio.shape[0] / rate
    duration = seconds if is_vocal(item) else min(crop_sec, seconds)
    return {"latents": latents.contiguous().cpu(),
            "encoder_hidden_states": encode_condition(pipe, item, duration),
            "encoder_hidden_states_no_metadata": encode_condition(pipe, item, duration, metadata=False)}


def prepare(pipe: Pipeline, items: list[TrainItem], cache_dir: Path, model_id: str, crop_sec: float,
            progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> list[CachedItem]:
    """Make sure every item is encoded; reuse what is cached. Returns the cache entries in item order."""
    folder = Path(cache_dir) / model_id
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, item in enumerate(items):
        if cancel is not None:
            cancel.raise_if_cancelled()
        path = folder / f"{cache_key(item, model_id, crop_sec)}.safetensors"
        if not path.exists():
            tensors = encode_item(pipe, item, crop_sec)
            with atomic_path(path, suffix=".safetensors") as tmp:
                save_file(tensors, str(tmp), metadata={"track": item.id})
        out.append(CachedItem(item, path))
        progress(Progress(i + 1, len(items), item.id))
    return out


def load_cached(entry: CachedItem) -> dict[str, torch.Tensor]:
    return load_file(str(entry.path))
