"""LAION CLAP (a transformers ``ClapModel`` in a local directory): FAD frames, text embeddings, CLAP score.

- FAD frames follow fadtk's CLAP loader: 48 kHz mono, int16 round trip, a 10 s window starting every
  1 s (the last ones zero-padded to 10 s), one L2-normalised embedding per window. A 10 s clip gives
  10 frames.
- CLAP score follows stable-audio-metrics: audio at 48 kHz, peak-normalised to -1 dBFS, int16 round
  trip; each clip's embedding is the mean of its L2-normalised embeddings over non-overlapping 10 s
  windows (one window for a 10 s clip; a clip shorter than a window is padded by the checkpoint's
  feature extractor, as laion_clap does), re-normalised; the score is the mean over clips of the
  cosine with the L2-normalised text embedding of the clip's own prompt.
- On load, a self-check embeds a few unrelated texts and refuses a checkpoint whose text embeddings
  are near-identical (``laion/larger_clap_music``'s are: ~0.999 cosine for any pair), since every
  CLAP score from it would be the same number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np

from engine.hashing import file_sha256
from engine.metrics.embedders import (
    CLAP_RECOMMENDED,
    CONVENTIONS,
    EmbedderError,
    EmbedderInfo,
    mono_at,
)

FAD_HOP_SEC = 1.0  # fadtk
SELF_CHECK_TEXTS = (
    "lofi hip hop beat with vinyl crackle and mellow rhodes",
    "heavy metal with distorted guitars and screaming vocals",
    "a dog barking in the rain",
    "solo classical violin sonata in a concert hall",
    "a man reading the news on the radio",
)
# mean pairwise cosine of SELF_CHECK_TEXTS above which a checkpoint is refused: working LAION checkpoints give
# 0.2-0.3, laion/larger_clap_music 0.999
MAX_TEXT_COSINE = 0.98
PREPROCESSING = "clap-1"  # part of the cache key: bump when windowing or normalisation changes


@dataclass(frozen=True)
class TextCheck:
    mean_cosine: float
    texts: int

    @property
    def ok(self) -> bool:
        return self.mean_cosine <= MAX_TEXT_COSINE


def weights_digest(path: Path) -> str:
    """sha256 over the checkpoint's weight and configuration files (names and contents)."""
    h = hashlib.sha256()
    wanted = ("*.safetensors", "*.bin", "config.json", "preprocessor_config.json")
    for file in sorted({f for pattern in wanted for f in Path(path).glob(pattern)}):
        h.update(f"{file.name}:{file_sha256(file)}\n".encode())
    return h.hexdigest()


def _int16_round_trip(x: np.ndarray) -> np.ndarray:
    clipped = cast(np.ndarray, np.clip(x, -1.0, 1.0))
    return (clipped * 32767.0).astype(np.int16).astype(np.float32) / 32767.0


class ClapEmbedder:
    """Audio frames for FAD (``embed``), text embeddings, and the per-clip view for the CLAP score."""

    def __init__(self, path: Path, check_text: bool = True) -> None:
        """``check_text=False`` skips the self-check: only for timing random-weight models, whose text towers
        collapse."""
        import torch
        from transformers import ClapModel, ClapProcessor
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the engine never prints; progress is reported by callers
        path = Path(path)
        try:
            self.model = ClapModel.from_pretrained(path, local_files_only=True).eval()
            self.processor = ClapProcessor.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"clap weights in {path} could not be loaded: {exc}") from exc
        self._torch = torch
        fe = self.processor.feature_extractor
        self.window = int(fe.nb_max_samples)
        rate = int(fe.sampling_rate)
        self.hop = min(self.window, int(round(FAD_HOP_SEC * rate)))
        dim = int(self.model.config.projection_dim)
        identity = f"clap/{PREPROCESSING}/{weights_digest(path)}"
        self.info = EmbedderInfo(
            "clap", rate, self.window / rate, self.hop / rate, dim, True,
            f"LAION CLAP ({path.name}), {self.window / rate:g} s windows every {self.hop / rate:g} s",
            CONVENTIONS["clap"], identity)
        self.text_check = self.check_text_tower() if check_text else None
        if self.text_check is not None and not self.text_check.ok:
            raise EmbedderError(
                f"the CLAP checkpoint in {path} has a collapsed text tower: {self.text_check.texts} unrelated texts "
                f"embed with mean cosine {self.text_check.mean_cosine:.4f} (working checkpoints: about 0.2-0.3), so "
                f"every CLAP score would be the same number (known for laion/larger_clap_music). Replace it: "
                f"`hf download {CLAP_RECOMMENDED} --local-dir {path}`")

    def check_text_tower(self) -> TextCheck:
        e = self.embed_text(list(SELF_CHECK_TEXTS))
        sims = e @ e.T
        upper = sims[np.triu_indices(len(e), 1)]
        return TextCheck(float(upper.mean()), len(e))

    def _embed_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        out = []
        with self._torch.no_grad():
            for i in range(0, len(windows), 8):
                inputs = self.processor(audio=windows[i : i + 8], sampling_rate=self.info.sample_rate,
                                        return_tensors="pt")
                wanted = {k: inputs[k] for k in ("input_features", "is_longer") if k in inputs}  # fused or not
                out.append(self.model.get_audio_features(**wanted).pooler_output)
        return _normalise(self._torch.cat(out).numpy().astype(np.float64))

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """[frames, dim]: a window starting every hop while audio remains, zero-padded (fadtk)."""
        x = _int16_round_trip(mono_at(samples, sample_rate, self.info.sample_rate))
        windows = [x[s : s + self.window] for s in range(0, max(x.size, 1), self.hop)]
        return self._embed_windows([np.pad(w, (0, self.window - w.size)) for w in windows])

    def embed_text(self, texts: list[str]) -> np.ndarray:
        with self._torch.no_grad():
            inputs = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            return _normalise(self.model.get_text_features(**inputs).pooler_output.numpy().astype(np.float64))

    def clip_view(self) -> ClapClipView:
        return ClapClipView(self)


class ClapClipView:
    """One embedding per clip, as stable-audio-metrics' CLAP score takes it (cached like any embedder)."""

    def __init__(self, clap: ClapEmbedder) -> None:
        self.clap = clap
        self.info = replace(clap.info, name="clap-clip", hop_sec=clap.info.window_sec,
                            description="LAION CLAP clip embedding for the CLAP score",
                            convention="stable-audio-metrics: peak -1 dBFS, 10 s windows, L2-normalised mean",
                            identity=clap.info.identity + "/clip")

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = mono_at(samples, sample_rate, self.info.sample_rate)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 0:
            x = x * np.float32(10 ** (-1 / 20) / peak)
        x = _int16_round_trip(x)
        w = self.clap.window
        windows = [x[s : s + w] for s in range(0, max(x.size - w, 0) + 1, w)]  # full windows; a short clip: itself
        return _normalise(cast(np.ndarray, self.clap._embed_windows(windows).mean(axis=0, keepdims=True)))


def _normalise(e: np.ndarray) -> np.ndarray:
    return cast(np.ndarray, e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12))


def clap_score(audio: list[np.ndarray], text: np.ndarray) -> float:
    """Mean cosine between each clip's embedding ([1, dim], normalised) and its prompt's (normalised)."""
    return float(np.mean([float(a[0] @ t) for a, t in zip(audio, text)]))
