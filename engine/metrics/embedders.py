"""Audio embedders behind one interface, and where their weights live.

=========  ========  ==========================================================================
name       weights   notes
=========  ========  ==========================================================================
builtin    none      log-mel statistics per 1 s window (mean and std of 64 bands, 16 kHz).
                     Always available offline; NOT comparable with published FAD numbers.
clap       local     LAION CLAP in transformers format (ClapModel + ClapProcessor), recommended
                     laion/clap-htsat-unfused; audio and text embeddings (see engine.metrics.clap).
vggish     local     the classic FAD embedding as torchvggish + fadtk compute it (16 kHz, 0.96 s
                     frames, 128-d, before the final ReLU, no PCA; see engine.metrics.vggish),
                     weights as a safetensors file with torchvggish's parameter names.
=========  ========  ==========================================================================

Every embedder has an ``identity`` (preprocessing version + weights sha256): the embedding cache is
keyed by it, so new weights or a changed front end never reuse old embeddings. Weights are never
downloaded here: :func:`availability` says exactly what to get and where to put it. The models
directory is ``$LOFI_MODELS``, else ``<workspace>/models``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import numpy as np
import soxr

from engine import settings
from engine.audio.quality import to_mono
from engine.errors import LofiError
from engine.hashing import file_sha256

CLAP_RECOMMENDED = "laion/clap-htsat-unfused"


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
    convention: str  # which published convention its values follow
    identity: str  # preprocessing version + weights hash: the embedding cache key


class Embedder(Protocol):
    """What FAD needs of an embedder: who it is (the cache key) and frame embeddings of audio."""

    info: EmbedderInfo

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Availability:
    name: str
    available: bool
    path: str | None
    convention: str
    instructions: str | None


CONVENTIONS = {
    "builtin": "lofi-tui's own log-mel statistics; only for relative comparisons",
    "clap": f"fadtk's CLAP FAD (10 s windows, 1 s hop, L2-normalised); CLAP score as stable-audio-metrics; "
            f"checkpoint {CLAP_RECOMMENDED} recommended",
    "vggish": "fadtk's VGGish FAD: torchvggish front end, embedding before the final ReLU, no PCA",
}


def models_dir(workspace_root: Path | None = None) -> Path:
    configured = settings.current()
    if configured.models:
        return configured.models
    return (Path(workspace_root) if workspace_root else configured.workspace) / "models"


def mono_at(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
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
                        "log-mel statistics (64 bands, mean+std per 1 s); not comparable with published FAD",
                        CONVENTIONS["builtin"], "builtin/logmel-stats-1")

    def __init__(self) -> None:
        import librosa

        self._mel = librosa.filters.mel(sr=16_000, n_fft=512, n_mels=64, fmin=50, fmax=8000).astype(np.float32)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        x = mono_at(samples, sample_rate, 16_000)
        frames = _windows(x, 512, 160) * np.hanning(512).astype(np.float32)
        logmel = np.log(self._mel @ (np.abs(np.fft.rfft(frames, axis=1)) ** 2).T + 1e-6).T  # [frames, 64]
        per_window, hop = 100, 50  # 1 s windows, 0.5 s hop, at 10 ms frames
        starts = range(0, max(1, logmel.shape[0] - per_window + 1), hop)
        return np.stack([np.concatenate([logmel[s : s + per_window].mean(0), logmel[s : s + per_window].std(0)])
                         for s in starts])


class VGGishEmbedder:
    """VGGish (Hershey et al. 2017) as fadtk takes it; ``post_relu=True`` for the after-ReLU convention."""

    def __init__(self, path: Path, post_relu: bool = False) -> None:
        import torch
        from safetensors.torch import load_file

        from engine.metrics import vggish

        self._torch = torch
        self._examples = vggish.examples
        self.model = vggish.VGGish(post_relu=post_relu)
        try:
            self.model.load_state_dict(load_file(str(path)))
        except (OSError, RuntimeError) as exc:
            raise EmbedderError(f"vggish weights {path} could not be loaded: {exc}") from exc
        self.model.eval()
        variant = "post-relu" if post_relu else "pre-relu"
        self.info = EmbedderInfo(
            "vggish", vggish.SAMPLE_RATE, 0.96, 0.96, 128, not post_relu,
            f"VGGish, 0.96 s frames, raw 128-d (no PCA), {variant}",
            CONVENTIONS["vggish"] if not post_relu else "torchvggish's embedding after the final ReLU (not fadtk's)",
            f"vggish/{vggish.FRONTEND_VERSION}/{variant}/{file_sha256(path)}")

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        patches = self._examples(mono_at(samples, sample_rate, self.info.sample_rate))
        with self._torch.no_grad():
            return cast(np.ndarray, self.model(self._torch.from_numpy(patches)[:, None]).numpy()).astype(np.float64)


def _instructions(name: str, root: Path) -> str:
    if name == "clap":
        return (f"put a LAION CLAP checkpoint in transformers format in {root / 'clap'}: "
                f"`hf download {CLAP_RECOMMENDED} --local-dir {root / 'clap'}` "
                "(not laion/larger_clap_music: its text embeddings are all alike, and it is refused on load)")
    return (f"put VGGish weights as {root / 'vggish.safetensors'}: download torchvggish's release weights "
            "(https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth), then "
            "`python -c \"import torch; from safetensors.torch import save_file; "
            f"save_file(torch.load('vggish-10086976.pth', weights_only=True), '{root / 'vggish.safetensors'}')\"`")


NAMES = ("builtin", "clap", "vggish")


def availability(name: str, root: Path) -> Availability:
    """Whether the files are in place (cheap: nothing is loaded; CLAP's self-check runs on load)."""
    if name not in NAMES:
        raise EmbedderError(f"unknown embedder {name!r}; choose one of {', '.join(NAMES)}")
    if name == "builtin":
        return Availability(name, True, None, CONVENTIONS[name], None)
    path = root / ("clap" if name == "clap" else "vggish.safetensors")
    ok = (path / "config.json").exists() if name == "clap" else path.exists()
    return Availability(name, ok, str(path), CONVENTIONS[name], None if ok else _instructions(name, root))


def load_embedder(name: str, root: Path, vggish_post_relu: bool = False) -> Embedder:
    """The named embedder with its weights from ``root``; ``vggish_post_relu`` picks torchvggish's after-ReLU
    output instead of fadtk's default."""
    state = availability(name, root)
    if not state.available:
        raise EmbedderError(f"embedder {name} is not installed: {state.instructions}")
    if name == "builtin":
        return BuiltinEmbedder()
    assert state.path is not None  # the weights' place, for every embedder but the built-in one
    if name == "clap":
        from engine.metrics.clap import ClapEmbedder

        return ClapEmbedder(Path(state.path))
    return VGGishEmbedder(Path(state.path), post_relu=vggish_post_relu)
