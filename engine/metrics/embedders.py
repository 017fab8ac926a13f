"""Audio embedders behind one interface, and where their weights live.

=============  ========  =======================================================================
name           weights   notes
=============  ========  =======================================================================
builtin        none      log-mel statistics per 1 s window (mean and std of 64 bands, 16 kHz).
                         Always available offline; NOT comparable with published FAD numbers.
clap-music     local     LAION CLAP music checkpoint in transformers format (ClapModel +
                         ClapProcessor), e.g. laion/larger_clap_music; audio and text embeddings.
vggish         local     the classic FAD embedding (16 kHz, 0.96 s frames, 128-d, no PCA),
                         weights as a safetensors file with torchvggish's parameter names.
=============  ========  =======================================================================

Weights are never downloaded here: :func:`availability` says exactly what to get and where to put
it. The models directory is ``$LOFI_MODELS``, else ``<workspace>/models``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from engine import settings
from engine.audio.quality import to_mono
from engine.errors import LofiError


class EmbedderError(LofiError):
    """An embedder is unknown or its weights are missing or broken."""


@dataclass(frozen=True)
class EmbedderInfo:
    name: str
    sample_rate: int
    window_sec: float
    hop_sec: float
    dim: int
    comparable: bool  # whether FAD with it can be compared with published numbers
    description: str


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    path: str | None
    instructions: str | None


def models_dir(workspace_root: Path | None = None) -> Path:
    configured = settings.current()
    if configured.models:
        return configured.models
    return (Path(workspace_root) if workspace_root else configured.workspace) / "models"


def _mono_at(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    mono = to_mono(samples).astype(np.float32)
    return mono if rate == target else soxr.resample(mono, rate, target).astype(np.float32)


def _windows(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    if x.size < size:
        x = np.pad(x, (0, size - x.size))
    count = 1 + (x.size - size) // hop
    return np.stack([x[i * hop : i * hop + size] for i in range(count)])


class BuiltinEmbedder:
    """Log-mel band statistics: cheap, deterministic and weight-free, for offline relative comparisons."""

    info = EmbedderInfo("builtin", 16_000, 1.0, 0.5, 128, False,
                        "log-mel statistics (64 bands, mean+std per 1 s); not comparable with published FAD")

    def __init__(self) -> None:
        import librosa

        self._mel = librosa.filters.mel(sr=16_000, n_fft=512, n_mels=64, fmin=50, fmax=8000).astype(np.float32)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = _mono_at(samples, sample_rate, 16_000)
        frames = _windows(x, 512, 160) * np.hanning(512).astype(np.float32)
        logmel = np.log(self._mel @ (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T + 1e-6).T  # [frames, 64]
        per_window, hop = 100, 50  # 1 s windows, 0.5 s hop, at 10 ms frames
        starts = range(0, max(1, logmel.shape[0] - per_window + 1), hop)
        return np.stack([np.concatenate([logmel[s : s + per_window].mean(0), logmel[s : s + per_window].std(0)])
                         for s in starts])


class ClapEmbedder:
    """LAION CLAP (transformers ``ClapModel``) loaded from a local directory; also embeds text."""

    def __init__(self, path: Path) -> None:
        import torch
        from transformers import ClapModel, ClapProcessor
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # the engine never prints; progress is reported by callers
        try:
            self.model = ClapModel.from_pretrained(path, local_files_only=True).eval()
            self.processor = ClapProcessor.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"clap-music weights in {path} could not be loaded: {exc}") from exc
        self._torch = torch
        fe = self.processor.feature_extractor
        self.window = int(fe.nb_max_samples)
        rate = int(fe.sampling_rate)
        dim = int(self.model.config.projection_dim)
        self.info = EmbedderInfo("clap-music", rate, self.window / rate, self.window / rate, dim, True,
                                 f"LAION CLAP ({path.name}), {self.window / rate:g} s windows")

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = _mono_at(samples, sample_rate, self.info.sample_rate)
        windows = list(_windows(x, self.window, self.window))
        out = []
        with self._torch.no_grad():
            for i in range(0, len(windows), 8):
                inputs = self.processor(audio=windows[i : i + 8], sampling_rate=self.info.sample_rate,
                                        return_tensors="pt")
                wanted = {k: inputs[k] for k in ("input_features", "is_longer") if k in inputs}  # fused or not
                out.append(self.model.get_audio_features(**wanted).pooler_output)
        return self._torch.cat(out).numpy().astype(np.float64)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        with self._torch.no_grad():
            inputs = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            return self.model.get_text_features(**inputs).pooler_output.numpy().astype(np.float64)


class VGGishEmbedder:
    """VGGish (Hershey et al. 2017): 96x64 log-mel patches -> 6 conv layers -> 3 FC layers -> 128-d."""

    info = EmbedderInfo("vggish", 16_000, 0.96, 0.96, 128, True, "VGGish, 0.96 s frames, raw 128-d (no PCA)")

    def __init__(self, path: Path) -> None:
        import librosa
        import torch
        from safetensors.torch import load_file

        from engine.metrics.vggish import VGGish

        self._torch = torch
        self.model = VGGish()
        try:
            self.model.load_state_dict(load_file(str(path)))
        except (OSError, RuntimeError) as exc:
            raise EmbedderError(f"vggish weights {path} could not be loaded: {exc}") from exc
        self.model.eval()
        self._mel = librosa.filters.mel(sr=16_000, n_fft=512, n_mels=64, fmin=125, fmax=7500, htk=True)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = _mono_at(samples, sample_rate, 16_000)
        frames = _windows(x, 400, 160) * np.hanning(401)[:-1].astype(np.float32)  # periodic Hann, as VGGish
        spec = np.abs(np.fft.rfft(frames, n=512, axis=1))
        logmel = np.log(spec @ self._mel.T + 0.01).astype(np.float32)  # [frames, 64]
        patches = _windows_2d(logmel, 96)
        with self._torch.no_grad():
            return self.model(self._torch.from_numpy(patches)[:, None]).numpy().astype(np.float64)


def _windows_2d(x: np.ndarray, size: int) -> np.ndarray:
    if x.shape[0] < size:
        x = np.pad(x, ((0, size - x.shape[0]), (0, 0)))
    count = x.shape[0] // size
    return x[: count * size].reshape(count, size, x.shape[1])


def _instructions(name: str, root: Path) -> str:
    if name == "clap-music":
        return (f"put a LAION CLAP music checkpoint in transformers format in {root / 'clap-music'}, e.g. "
                f"`hf download laion/larger_clap_music --local-dir {root / 'clap-music'}`")
    return (f"put VGGish weights as {root / 'vggish.safetensors'}: download torchvggish's vggish-10086976.pth, then "
            "`python -c \"import torch; from safetensors.torch import save_file; "
            f"save_file(torch.load('vggish-10086976.pth', weights_only=True), '{root / 'vggish.safetensors'}')\"`")


NAMES = ("builtin", "clap-music", "vggish")


def availability(name: str, root: Path) -> Availability:
    if name not in NAMES:
        raise EmbedderError(f"unknown embedder {name!r}; choose one of {', '.join(NAMES)}")
    if name == "builtin":
        return Availability(name, True, None, None)
    path = root / ("clap-music" if name == "clap-music" else "vggish.safetensors")
    ok = (path / "config.json").exists() if name == "clap-music" else path.exists()
    return Availability(name, ok, str(path), None if ok else _instructions(name, root))


def load_embedder(name: str, root: Path):
    state = availability(name, root)
    if not state.available:
        raise EmbedderError(f"embedder {name} is not installed: {state.instructions}")
    if name == "builtin":
        return BuiltinEmbedder()
    if name == "clap-music":
        return ClapEmbedder(Path(state.path))
    return VGGishEmbedder(Path(state.path))
