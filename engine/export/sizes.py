"""Bundle sizes estimated before anything runs, from the base model's parameter counts.

Counts come from the safetensors headers (shapes only: no weights are read, no torch), and bytes per
weight follow what each precision stores, floors included: fp16 two bytes; int8 one byte, the VAE
decoder at fp16; int4 0.625 bytes (4 bits plus an fp32 scale per block of 32) for the DiT and the text
encoder, with the condition encoder (lyric and timbre encoders) and the token table kept at one byte and
the VAE decoder at two. Norms, biases and graph overhead are left out, so real bundles come out a
little larger. The export benchmark prints the same figures for the release architecture.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.export.stages import ExportError

COMPONENTS = {"text_encoder": "text_encoder", "condition_encoder": "condition_encoder",
              "transformer": "transformer", "vae_decoder": "vae"}
TOKEN_TABLE = "embed_tokens.weight"


@dataclass(frozen=True)
class ParameterCounts:
    text_encoder: int
    condition_encoder: int
    transformer: int
    vae_decoder: int
    token_table: int  # part of text_encoder
    extra_bytes: int = 0  # files every bundle carries whatever the precision (tokenizer)

    @property
    def total(self) -> int:
        return self.text_encoder + self.condition_encoder + self.transformer + self.vae_decoder


def _shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header (8-byte little-endian length, then JSON)."""
    with open(path, "rb") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
    header.pop("__metadata__", None)
    return {name: info["shape"] for name, info in header.items()}


def parameter_counts(base_model: Path) -> ParameterCounts:
    base = Path(base_model)
    counts, table = {}, 0
    for key, folder in COMPONENTS.items():
        files = sorted((base / folder).glob("*.safetensors"))
        if not files:
            raise ExportError(f"{base / folder} holds no .safetensors weights; is {base} a diffusers ACE-Step "
                              "checkpoint? (`lofi model check` says what is missing)")
        shapes = {name: shape for f in files for name, shape in _shapes(f).items()}
        if key == "vae_decoder":
            shapes = {n: s for n, s in shapes.items() if n.startswith("decoder.")}
        if key == "text_encoder":
            table = sum(math.prod(s) for n, s in shapes.items() if n == TOKEN_TABLE or n.endswith("." + TOKEN_TABLE))
        counts[key] = sum(math.prod(s) for s in shapes.values())
    tokenizer = base / "tokenizer" / "tokenizer.json"
    return ParameterCounts(**counts, token_table=table, extra_bytes=tokenizer.stat().st_size if tokenizer.exists() else 0)


def estimate_bundle_bytes(counts: ParameterCounts, precision: str) -> int:
    c = counts
    weights: float
    if precision == "fp32":
        weights = 4 * c.total
    elif precision == "fp16":
        weights = 2 * c.total
    elif precision == "int8":
        weights = c.text_encoder + c.condition_encoder + c.transformer + 2 * c.vae_decoder
    elif precision == "int4":
        weights = (0.625 * (c.transformer + c.text_encoder - c.token_table) + c.token_table + c.condition_encoder
                   + 2 * c.vae_decoder)
    else:
        raise ExportError(f"unknown precision {precision!r}")
    return int(weights) + c.extra_bytes
