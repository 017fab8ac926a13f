"""Checkpoints: ``runs/<run>/checkpoints/step-<N>/``, written atomically and verified by checksum.

Each holds ``pytorch_lora_weights.safetensors`` (diffusers LoRA format, with the adapter config as
metadata so ``AceStepPipeline.load_lora_weights(dir, weight_name=...)`` reproduces the trained
rsLoRA scaling), ``training_state.pt`` (optimizer, LR schedule, step, learning-rate factor;
loaded with ``weights_only=True``) and ``checksums.json``. A checkpoint directory is assembled
under a temporary name and renamed into place, so a kill leaves either nothing or a whole one;
one whose checksums do not match is skipped with a warning.

Retention keeps the last K checkpoints plus the best ones: the automatic pick in
``runs/<run>/eval/best.json`` (``{"step": N}``, written by checkpoint evaluation) and the one a
producer chose by ear in ``eval/manual_best.json`` (``{"step": N, "note": ...}``), which the export
also takes by default instead of the automatic pick.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from engine.atomic import atomic_write_json, fsync_dir
from engine.errors import LofiError
from engine.hashing import file_sha256

if TYPE_CHECKING:
    import torch
    from peft import LoraConfig

# torch, diffusers and peft are imported inside the functions that need them: the dashboard and the
# light CLI commands list and verify checkpoints without loading PyTorch.

LORA_FILE = "pytorch_lora_weights.safetensors"
STATE_FILE = "training_state.pt"
CHECKSUMS = "checksums.json"
AUTO_BEST = "best.json"
MANUAL_BEST = "manual_best.json"


class CheckpointError(LofiError):
    """A checkpoint that does not exist or cannot be used as asked."""


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step}"


def save_checkpoint(run_dir: Path, step: int, transformer: torch.nn.Module, lora_config: LoraConfig,
                    state: dict[str, Any]) -> Path:
    import torch
    from diffusers import AceStepPipeline
    from peft.utils import get_peft_model_state_dict

    final = checkpoint_dir(run_dir, step)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    metadata = lora_config.to_dict()
    metadata["target_modules"] = sorted(metadata.get("target_modules") or [])
    AceStepPipeline.save_lora_weights(
        tmp,
        transformer_lora_layers=get_peft_model_state_dict(transformer),
        transformer_lora_adapter_metadata=metadata,
        weight_name=LORA_FILE,
        safe_serialization=True,
    )
    torch.save(state, tmp / STATE_FILE)
    sums = {name: file_sha256(tmp / name) for name in (LORA_FILE, STATE_FILE)}
    atomic_write_json(tmp / CHECKSUMS, sums)
    for name in (LORA_FILE, STATE_FILE):
        with open(tmp / name, "rb") as fh:
            os.fsync(fh.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return final


def is_valid(path: Path) -> bool:
    try:
        sums = json.loads((path / CHECKSUMS).read_text())
        return all(file_sha256(path / name) == digest for name, digest in sums.items()) and len(sums) == 2
    except (OSError, ValueError):
        return False


def list_checkpoints(run_dir: Path, warn: Callable[[str], None] = lambda _m: None) -> list[int]:
    """Steps of the valid checkpoints, ascending; corrupt or partial ones are reported and skipped."""
    root = Path(run_dir) / "checkpoints"
    steps = []
    for path in sorted(root.glob("step-*")) if root.exists() else []:
        try:
            step = int(path.name.split("-", 1)[1])
        except ValueError:
            continue
        if is_valid(path):
            steps.append(step)
        else:
            warn(f"checkpoint {path.name} is corrupt or incomplete (checksum mismatch); skipping it")
    return sorted(steps)


def load_lora_into(transformer: torch.nn.Module, path: Path) -> None:
    """Put a checkpoint's LoRA weights into a transformer that already has the adapter."""
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    raw = load_file(str(Path(path) / LORA_FILE))
    state = {k.removeprefix("transformer."): v for k, v in raw.items()}
    result = set_peft_model_state_dict(transformer, state, adapter_name="default")
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise RuntimeError(f"checkpoint {path} has LoRA weights this model does not expect: {unexpected[:3]}")


def load_state(path: Path) -> dict[str, Any]:
    import torch

    return cast(dict[str, Any], torch.load(Path(path) / STATE_FILE, weights_only=True))


@dataclass(frozen=True)
class BestPick:
    """The evaluation's automatic pick and the checkpoint chosen by ear; the choice wins where both exist."""

    automatic: int | None
    manual: int | None = None
    note: str = ""

    @property
    def chosen(self) -> int | None:
        return self.manual if self.manual is not None else self.automatic


def _read_pick(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
        return {**record, "step": int(record["step"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def best_pick(run_dir: Path) -> BestPick:
    auto = _read_pick(Path(run_dir) / "eval" / AUTO_BEST)
    manual = _read_pick(Path(run_dir) / "eval" / MANUAL_BEST)
    return BestPick(auto["step"] if auto else None, manual["step"] if manual else None,
                    str(manual.get("note") or "") if manual else "")


def mark_best(run_dir: Path, step: int, note: str = "") -> BestPick:
    """Choose a checkpoint by hand, with why: export then defaults to it and retention keeps it."""
    if step not in list_checkpoints(run_dir):
        raise CheckpointError(f"run {Path(run_dir).name} has no valid checkpoint at step {step}")
    atomic_write_json(Path(run_dir) / "eval" / MANUAL_BEST, {"step": step, "note": note.strip()})
    return best_pick(run_dir)


def clear_best_mark(run_dir: Path) -> BestPick:
    """Forget the choice by hand; the automatic pick applies again."""
    (Path(run_dir) / "eval" / MANUAL_BEST).unlink(missing_ok=True)
    return best_pick(run_dir)


def best_checkpoints(run_dir: Path) -> set[int]:
    """Steps retention keeps whatever their age: the automatic pick and the one chosen by hand."""
    pick = best_pick(run_dir)
    return {s for s in (pick.automatic, pick.manual) if s is not None}


def apply_retention(run_dir: Path, keep_last: int) -> list[int]:
    """Delete checkpoints that are neither among the last ``keep_last`` nor best; returns the deleted steps."""
    steps = list_checkpoints(run_dir)
    keep = set(steps[-keep_last:]) | best_checkpoints(run_dir)
    deleted = [s for s in steps if s not in keep]
    for step in deleted:
        shutil.rmtree(checkpoint_dir(run_dir, step), ignore_errors=True)
    return deleted
