"""Validate a local ACE-Step 1.5 checkpoint in diffusers format before any work starts.

Every problem is reported with the path, what is missing or broken, and the remedy, because the
alternative (a stack trace from deep inside ``from_pretrained`` minutes into a run) helps nobody.
Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from engine.errors import LofiError
from engine.model.variants import Variant, variant_of_config

TINY_MARKER = "lofi_model.json"  # written by engine.model.tiny next to a tiny checkpoint

COMPONENTS = ("vae", "text_encoder", "tokenizer", "transformer", "condition_encoder", "scheduler")
WEIGHTED = ("vae", "text_encoder", "transformer", "condition_encoder")
REMEDY = (
    "get a diffusers-format release, e.g. `hf download ACE-Step/acestep-v15-xl-turbo-diffusers --local-dir DIR` "
    "(or ACE-Step/acestep-v15-xl-base-diffusers, Runware/acestep-v15-sft-diffusers, "
    "Runware/acestep-v15-base-diffusers), or build an offline test model with `lofi model init-tiny DIR`. "
    "Expected layout: model_index.json, vae/, text_encoder/, tokenizer/, transformer/, condition_encoder/, scheduler/"
)


class BaseModelError(LofiError):
    """The base model directory is missing, incomplete or unusable on this device."""


@dataclass(frozen=True)
class ComponentInfo:
    name: str
    class_name: str
    parameters: int
    dtype: str | None


@dataclass(frozen=True)
class ModelSummary:
    path: Path
    tiny: bool
    components: list[ComponentInfo] = field(default_factory=list)
    transformer_config: dict[str, Any] = field(default_factory=dict)

    @property
    def total_parameters(self) -> int:
        return sum(c.parameters for c in self.components)

    @property
    def variant(self) -> Variant:
        return variant_of_config(self.transformer_config)

    def parameters(self, component: str) -> int:
        return next((c.parameters for c in self.components if c.name == component), 0)


def _fail(path: Path, problem: str) -> BaseModelError:
    return BaseModelError(f"base model {path}: {problem}; {REMEDY}")


def model_variant(model_dir: Path | str) -> Variant:
    """The variant of a diffusers-format checkpoint, from ``transformer/config.json`` (no weights loaded); a
    missing or broken config says what to get, as :func:`check_base_model` does."""
    root = Path(model_dir).expanduser().resolve()
    return variant_of_config(_read_json(root / "transformer" / "config.json", root))


def _read_json(path: Path, root: Path) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise _fail(root, f"missing {path.relative_to(root)}") from None
    except json.JSONDecodeError as exc:
        raise _fail(root, f"{path.relative_to(root)} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes) without loading tensors."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError("file shorter than a safetensors header")
        (size,) = struct.unpack("<Q", raw)
        if size > 100_000_000:
            raise ValueError("implausible header size")
        header: dict[str, Any] = json.loads(fh.read(size))
    header.pop("__metadata__", None)
    return header


def _weights(component_dir: Path, root: Path) -> list[Path]:
    for index in component_dir.glob("*.safetensors.index.json"):  # a sharded component: every shard must be there
        shards = set(_read_json(index, root).get("weight_map", {}).values())
        missing = sorted(s for s in shards if not (component_dir / s).exists())
        if missing:
            raise _fail(root, f"{index.relative_to(root)} lists {len(shards)} shards but {', '.join(missing)} "
                              "is missing (an interrupted download?)")
    files = sorted(component_dir.glob("*.safetensors"))
    if files:
        return files
    if list(component_dir.glob("*.bin")):
        raise _fail(root, f"{component_dir.name}/ has only .bin (pickle) weights; we load safetensors only: "
                          "convert them or use the official diffusers-format release")
    raise _fail(root, f"{component_dir.name}/ has no *.safetensors weights file")


def _count(files: list[Path], root: Path) -> tuple[int, str | None]:
    total, dtypes = 0, set()
    for f in files:
        try:
            header = safetensors_header(f)
        except (OSError, ValueError) as exc:
            raise _fail(root, f"{f.relative_to(root)} is not a readable safetensors file ({exc})") from None
        for tensor in header.values():
            n = 1
            for dim in tensor["shape"]:
                n *= dim
            total += n
            dtypes.add(tensor["dtype"])
    return total, ",".join(sorted(dtypes)) or None


def check_base_model(path: Path | str) -> ModelSummary:
    """Validate the layout, configs, weights and tokenizer; return a summary or raise BaseModelError."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise _fail(root, "directory does not exist")
    index = _read_json(root / "model_index.json", root)
    if index.get("_class_name") != "AceStepPipeline":
        raise _fail(root, f"model_index.json describes {index.get('_class_name')!r}, not an AceStepPipeline")
    infos = []
    transformer_config: dict[str, Any] = {}
    for name in COMPONENTS:
        if name not in index:
            raise _fail(root, f"model_index.json lists no {name!r} component")
        cdir = root / name
        if not cdir.is_dir():
            raise _fail(root, f"missing component directory {name}/")
        class_name = str(index[name][1]) if isinstance(index[name], list) else "?"
        if name == "tokenizer":
            if not (cdir / "tokenizer.json").exists():
                raise _fail(root, "tokenizer/ has no tokenizer.json")
            infos.append(ComponentInfo(name, class_name, 0, None))
            continue
        config_name = "scheduler_config.json" if name == "scheduler" else "config.json"
        config = _read_json(cdir / config_name, root)
        if name == "transformer":
            transformer_config = config
        if name in WEIGHTED:
            params, dtype = _count(_weights(cdir, root), root)
            infos.append(ComponentInfo(name, class_name, params, dtype))
        else:
            infos.append(ComponentInfo(name, class_name, 0, None))
    return ModelSummary(root, is_tiny(root), infos, transformer_config)


def check_precision(precision: str, device: str) -> None:
    """bf16 training needs hardware support; say so before the run starts rather than mid-step."""
    import torch

    if precision == "bf16" and device.startswith("cuda") and not torch.cuda.is_bf16_supported():
        raise BaseModelError("this GPU does not support bf16; train with --precision fp32")


def lora_parameters(summary: ModelSummary, rank: int, targets: tuple[str, ...]) -> int:
    """LoRA parameter count for ``rank`` on the DiT linears whose names end with one of ``targets``."""
    total = 0
    for f in sorted((summary.path / "transformer").glob("*.safetensors")):
        for name, tensor in safetensors_header(f).items():
            module = name.rsplit(".", 1)[0]
            if name.endswith(".weight") and len(tensor["shape"]) == 2 and any(module.endswith(t) for t in targets):
                out_features, in_features = tensor["shape"]
                total += rank * (in_features + out_features)
    return total


LORA_BYTES_PER_PARAMETER = 20
VAE_BYTES_PER_SECOND = 0.12e9  # extra fp32 peak of the release VAE (encoder_hidden_size 128) per second encoded
VAE_TILE_SECONDS = 30 + 2 * 2  # diffusers' encode tile (30 s) with its 2 s overlap on each side


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak GPU memory of a run, phase by phase, as the trainer loads things: every component while the
    latent cache is built (weights + one VAE tile's activations), then the DiT alone (the encoders move
    to the CPU) with the LoRA's weights, gradients and Adam state in fp32 and the activations of a step."""

    weights_gb: dict[str, float]  # per component, at the dtype the trainer loads it in
    caching_gb: float
    training_gb: float

    @property
    def peak_gb(self) -> float:
        return max(self.caching_gb, self.training_gb)


def _gb(n: float) -> float:
    return round(n / 1024**3, 2)


def training_memory(summary: ModelSummary, rank: int, targets: tuple[str, ...], precision: str,
                    crop_sec: float = 30.0, batch_size: int = 1, checkpointing: bool = True) -> MemoryEstimate:
    """Estimate for a GPU run. Frozen weights load in bf16 for a bf16 run (fp32 otherwise); LoRA parameters
    cost 20 bytes each at the optimizer step (fp32 weight, gradient, two Adam moments and AdamW's fp32 temporary):
    with that, the estimate came within 2 % of the peaks ``benchmarks/gpu_figures.py`` measured on an H200 (2B DiT
    at rank 64 and 256, XL at rank 64; 16 bytes left rank 256 11 % short). DiT activations: ~34 hidden-size values per
    token per layer at the working precision; gradient checkpointing keeps one layer's worth plus each layer's
    input. The VAE's tile activations use the figure measured on the release VAE (``benchmarks/cache_memory.py``),
    scaled by its width."""
    weight_bytes = 2 if precision == "bf16" else 4
    weights = {c.name: c.parameters * weight_bytes for c in summary.components if c.parameters}
    vae_width = json.loads((summary.path / "vae" / "config.json").read_text()).get("encoder_hidden_size", 128)
    vae_tile = VAE_BYTES_PER_SECOND * vae_width / 128 * VAE_TILE_SECONDS * weight_bytes / 4
    cfg = summary.transformer_config
    hidden = cfg.get("hidden_size", 2048)
    layers = cfg.get("num_hidden_layers", 24)
    tokens = crop_sec * 25 / cfg.get("patch_size", 2) * batch_size
    per_layer = 34 * tokens * hidden * weight_bytes
    activations = per_layer * (1 + 2 * layers / 34) if checkpointing else per_layer * layers
    lora = lora_parameters(summary, rank, targets) * LORA_BYTES_PER_PARAMETER
    return MemoryEstimate({k: _gb(v) for k, v in weights.items()}, _gb(sum(weights.values()) + vae_tile),
                          _gb(weights.get("transformer", 0) + lora + activations))


def gpu_memory_gb() -> float | None:
    """Total memory of the first NVIDIA GPU (from nvidia-smi, so no torch import), or None without one."""
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
        return round(float(out.splitlines()[0]) / 1024, 1)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def is_tiny(model_dir: Path) -> bool:
    """A checkpoint built by ``engine.model.tiny`` (random weights, not musical); read without torch."""
    marker = Path(model_dir) / TINY_MARKER
    return marker.exists() and json.loads(marker.read_text()).get("kind") == "tiny"
