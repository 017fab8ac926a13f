"""Text to 48 kHz stereo audio with the four ONNX graphs of a bundle.

Same steps as ``AceStepPipeline.__call__`` for text-to-music: text encoder on the formatted caption
(its graph also looks up the lyric ids' embeddings), condition encoder (timbre from the silence
latent), the DiT over the shifted flow-matching schedule (Euler, APG guidance above 1 unless turbo),
VAE decoder, then the pipeline's peak normalisation to -1 dBFS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numpy as np

from engine.errors import LofiError
from engine.inference.bundle import Bundle
from engine.inference.prompt import format_lyrics, format_text, token_ids
from engine.inference.schedule import APG, euler_step, sigmas
from engine.progress import CancelToken

TARGET_PEAK = 10.0 ** (-1.0 / 20.0)


class GenerationError(LofiError):
    """Generation parameters are outside what the bundle supports."""


class OnnxGenerator:
    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        m = bundle.manifest
        self.audio, self.scheduler, self.guidance, self.prompt = m["audio"], m["scheduler"], m["guidance"], m["prompt"]
        self.sample_rate = int(self.audio["sample_rate"])
        self.default_steps = int(m["default_steps"])
        self.max_duration = float(m["max_duration_sec"])

    def _run(self, graph: str, **feeds: np.ndarray) -> list[np.ndarray]:
        return cast(list[np.ndarray], self.bundle.sessions[graph].run(None, feeds))

    def latent_frames(self, duration: float) -> int:
        return math.ceil(duration * float(self.audio["latent_rate"]))

    def initial_noise(self, duration: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        shape = (1, self.latent_frames(duration), int(self.audio["acoustic_dim"]))
        return rng.standard_normal(shape, dtype=np.float32)

    def condition(self, caption: str, lyrics: str, duration: float, bpm: int | None = None,
                  keyscale: str | None = None, timesignature: str | None = None) -> np.ndarray:
        p = self.prompt
        text = format_text(p, caption, duration, bpm, keyscale, timesignature)
        text_ids = token_ids(self.bundle.tokenizer, text, p["max_text_tokens"])
        lyric_ids = token_ids(self.bundle.tokenizer, format_lyrics(p, lyrics), p["max_lyric_tokens"])
        text_hidden, lyric_hidden = self._run("text_encoder", input_ids=text_ids, lyric_input_ids=lyric_ids)
        timbre = self.bundle.silence_latent[:, : p["timbre_frames"], :].astype(np.float32)
        hidden, _mask = self._run("condition_encoder", text_hidden_states=text_hidden,
                                  text_attention_mask=np.ones(text_ids.shape, dtype=bool),
                                  lyric_hidden_states=lyric_hidden,
                                  lyric_attention_mask=np.ones(lyric_ids.shape, dtype=bool), refer_audio=timbre)
        return hidden

    def _context(self, frames: int) -> np.ndarray:
        """Silence latents (tiled when longer than stored) + an all-ones chunk mask: generate everything."""
        silence = self.bundle.silence_latent
        reps = -(-frames // silence.shape[1])
        src = np.tile(silence, (1, reps, 1))[:, :frames, :]
        return np.concatenate([src, np.ones_like(src)], axis=-1).astype(np.float32)

    def _velocity(self, x: np.ndarray, t: float, hidden: np.ndarray, context: np.ndarray) -> np.ndarray:
        """The DiT graph takes an even number of frames; padding with zeros is what the model does itself."""
        frames = x.shape[1]
        if frames % 2:
            x = np.pad(x, ((0, 0), (0, 1), (0, 0)))
            context = np.pad(context, ((0, 0), (0, 1), (0, 0)))
        ts = np.full((x.shape[0],), t, dtype=np.float32)
        (v,) = self._run("transformer", hidden_states=x, timestep=ts, timestep_r=ts, encoder_hidden_states=hidden,
                         context_latents=context)
        return v[:, :frames]

    def generate(self, caption: str, duration: float, seed: int = 0, steps: int | None = None,
                 guidance_scale: float | None = None, lyrics: str = "[Instrumental]",
                 latents: np.ndarray | None = None, on_step: Callable[[int, int], None] | None = None,
                 cancel: CancelToken | None = None, bpm: int | None = None, keyscale: str | None = None,
                 timesignature: str | None = None) -> np.ndarray:
        """Stereo float32 audio [frames, 2], exactly ``duration`` seconds long. ``bpm``/``keyscale``/
        ``timesignature`` fill the caption's metadata as the pipeline's arguments of the same names do."""
        if not 0 < duration <= self.max_duration:
            raise GenerationError(f"duration must be between 0 and {self.max_duration:g} s, got {duration:g}")
        steps = steps or self.default_steps
        if steps < 1:
            raise GenerationError(f"steps must be at least 1, got {steps}")
        guidance_scale = self.guidance["default_scale"] if guidance_scale is None else guidance_scale
        hidden = self.condition(caption, lyrics, duration, bpm, keyscale, timesignature)
        x = self.initial_noise(duration, seed) if latents is None else np.asarray(latents, dtype=np.float32)
        context = self._context(x.shape[1])
        apg = None
        if guidance_scale > 1.0 and not self.scheduler["turbo"]:
            g = self.guidance
            apg = APG(guidance_scale, g["momentum"], g["norm_threshold"], g["eta"])
            null = np.broadcast_to(self.bundle.null_condition, hidden.shape).astype(np.float32)
        levels = sigmas(steps, float(self.scheduler["shift"]))
        for i in range(steps):
            if cancel is not None:
                cancel.raise_if_cancelled()
            t = float(levels[i])
            if apg is not None:
                both = self._velocity(np.concatenate([x, x]), t, np.concatenate([hidden, null]),
                                      np.concatenate([context, context]))
                v = apg(both[:1], both[1:])
            else:
                v = self._velocity(x, t, hidden, context)
            x = euler_step(x, v, levels[i], levels[i + 1])
            if on_step is not None:
                on_step(i + 1, steps)
        (audio,) = self._run("vae_decoder", latents=np.ascontiguousarray(x.transpose(0, 2, 1)))
        return self._normalise(audio[0])[:, : int(round(duration * self.sample_rate))].T.copy()

    @staticmethod
    def _normalise(audio: np.ndarray) -> np.ndarray:
        """[channels, frames] scaled like the pipeline: anti-clip, then peak at -1 dBFS."""
        audio = audio.astype(np.float32)
        peak = float(np.abs(audio).max())
        if peak > 1.0:
            audio = audio / peak
        return audio * np.float32(TARGET_PEAK / max(float(np.abs(audio).max()), 1e-6))
