"""Load a validated ACE-Step 1.5 checkpoint with diffusers, never touching the network."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, TypeAlias

from engine.model.check import COMPONENTS, check_base_model

# diffusers' AceStepPipeline. Its components are registered at run time, so attribute access cannot be checked,
# and mypy does not follow diffusers (see [tool.mypy] in pyproject.toml): the pipeline is untyped to us.
Pipeline: TypeAlias = Any


def resolve_device(device: str | None = None) -> str:
    """``cuda`` when a GPU is present, else ``cpu``; an explicit device (``--device``) is kept."""
    if device not in (None, "", "auto"):
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_pipeline(model_dir: Path | str, dtype: str = "fp32", device: str = "cpu") -> Pipeline:
    """``AceStepPipeline`` from a local directory, validated first (fails fast with a remedy)."""
    import torch
    from diffusers import AceStepPipeline
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    diffusers_logging.disable_progress_bar()  # progress is ours to report; stderr stays readable
    transformers_logging.disable_progress_bar()
    summary = check_base_model(model_dir)
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    pipe = AceStepPipeline.from_pretrained(summary.path, dtype=torch_dtype, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def model_identity(model_dir: Path | str) -> str:
    """A short stable id of a checkpoint (configs and weight file sizes): cache keys depend on it."""
    root = Path(model_dir).resolve()
    digest = hashlib.sha256()
    for name in ("model_index.json", *[f"{c}/config.json" for c in COMPONENTS], "tokenizer/tokenizer.json"):
        path = root / name
        if path.exists():
            digest.update(name.encode() + path.read_bytes())
    for weights in sorted(root.glob("*/*.safetensors")):
        digest.update(f"{weights.relative_to(root)}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]
