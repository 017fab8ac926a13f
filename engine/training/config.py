"""Everything a run needs, saved as ``runs/<run>/config.json`` so it can be reproduced or resumed.

Each field carries its own help, range, CLI flag and form label in ``metadata`` (as peft's ``LoraConfig``
does), so the ``lofi train`` options, the dashboard's training form and :meth:`TrainConfig.validate` are
all generated from this one class: a default or a range is written once, here.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.errors import LofiError

DEFAULT_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


class TrainConfigError(LofiError):
    """A training setting is out of range or config.json is unreadable."""


def setting(default: Any = MISSING, *, help: str, flag: str | None = None, label: str | None = None,
            minimum: float | None = None, maximum: float | None = None, positive: bool = False,
            choices: tuple[str, ...] = (), default_factory: Any = MISSING) -> Any:
    """A dataclass field with the metadata the CLI, the form and validation read.

    ``flag`` is the CLI option (``None``: not a CLI option); ``label`` the form's label (``None``: not on
    the form); ``minimum``/``maximum`` are inclusive bounds, ``positive`` means strictly above zero.
    """
    meta = {"help": help, "flag": flag, "label": label, "minimum": minimum, "maximum": maximum,
            "positive": positive, "choices": choices}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Setting:
    """One training setting as the CLI and the dashboard form present it."""

    name: str
    type: type
    default: Any
    help: str
    flag: str | None
    label: str | None
    minimum: float | None
    maximum: float | None
    positive: bool
    choices: tuple[str, ...]

    def check(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this setting, or None (None itself means "the model's default")."""
        what = self.flag or self.name
        if value is None:
            return None
        if self.choices and value not in self.choices:
            return f"{what} must be one of {', '.join(self.choices)}, got {value!r}"
        if self.type in (int, float) and not isinstance(value, bool):
            if self.positive and not value > 0:
                return f"{what} must be positive, got {value}"
            if self.minimum is not None and value < self.minimum:
                return f"{what} must be at least {self.minimum:g}, got {value}"
            if self.maximum is not None and value > self.maximum:
                return f"{what} must be at most {self.maximum:g}, got {value}"
        return None


@dataclass
class TrainConfig:
    run: str = setting(help="Run name (a folder under runs/).", label="Run")
    base_model: str = setting(help="Local ACE-Step 1.5 diffusers checkpoint.", label="Base model")
    workspace: str | None = setting(None, help="The workspace the run trains from.")
    dataset: str | None = setting(None, help="Folder from `lofi dataset build`; none: the workspace's train split.")
    require_license: bool = setting(False, help="Leave out tracks with no license recorded.",
                                    flag="--require-license")
    # LoRA (rsLoRA scales by alpha / sqrt(rank))
    rank: int = setting(64, help="LoRA rank.", flag="--rank", label="Rank", minimum=1, maximum=256)
    alpha: float = setting(32.0, help="LoRA alpha (scale alpha/sqrt(rank) with rsLoRA, alpha/rank without).",
                           flag="--alpha", label="Alpha", positive=True)
    rslora: bool = setting(True, help="Rank-stabilised LoRA scaling.", flag="--rslora", label="rsLoRA")
    target_modules: list[str] = setting(help="DiT linear layers that get a LoRA, comma-separated.",
                                        flag="--target-modules", label="Targets",
                                        default_factory=lambda: list(DEFAULT_TARGETS))
    # optimisation
    learning_rate: float = setting(1e-4, help="Peak learning rate (AdamW).", flag="--lr", label="LR", positive=True)
    warmup_steps: int = setting(100, help="Linear warm-up steps.", flag="--warmup-steps", label="Warm-up",
                                minimum=0)
    schedule: str = setting("cosine", help="Learning-rate schedule after warm-up.", flag="--schedule",
                            choices=("cosine", "constant"))
    max_steps: int = setting(10_000, help="Optimizer steps; on resume, extends the run.", flag="--max-steps",
                             label="Steps", minimum=1)
    batch_size: int = setting(1, help="Tracks per optimizer step (accumulated one at a time).",
                              flag="--batch-size", label="Batch", minimum=1)
    grad_accum: int = setting(1, help="Gradient accumulation steps.", flag="--grad-accum", label="Grad accum",
                              minimum=1)
    grad_clip: float = setting(0.5, help="Gradient norm clip.", flag="--grad-clip", label="Grad clip",
                               positive=True)
    gradient_checkpointing: bool = setting(False, help="Trade compute for memory in the DiT.",
                                           flag="--gradient-checkpointing", label="Grad. checkpointing")
    precision: str = setting("fp32", help="Training precision.", flag="--precision", label="Precision",
                             choices=("fp32", "bf16"))
    seed: int = setting(0, help="Seed for data order, crops, noise and timesteps.", flag="--seed", label="Seed",
                        minimum=0)
    crop_sec: float = setting(30.0, help="Seconds of audio per training example.", flag="--crop-sec",
                              positive=True)
    cfg_dropout: float | None = setting(None, help="Share of steps trained on the null condition, for guidance "
                                        "(default: the model's: 0 for turbo, 0.15 for base/sft).",
                                        minimum=0.0, maximum=0.99)
    timesteps: str = setting("auto", help="Training timestep distribution (auto: the model's: the 8-step shift-3 "
                             "table for turbo, logit-normal for base/sft).", flag="--timesteps",
                             choices=("auto", "turbo-table", "logit-normal"))
    timestep_shift: float = setting(3.0, help="Shift of the turbo timestep table.", positive=True)
    metadata_dropout: float = setting(0.1, help="Share of steps whose caption metadata (bpm, key, time signature) "
                                      "reads N/A, so the LoRA also works when a user gives none.",
                                      minimum=0.0, maximum=1.0)
    processes: int = setting(1, help="Training processes (one per GPU; on a CPU, gloo workers); the per-step "
                             "batch (batch size x grad accum) is split between them.", flag="--processes",
                             label="Processes", minimum=1, maximum=64)
    # bookkeeping
    checkpoint_every: int = setting(2000, help="Steps between checkpoints.", flag="--checkpoint-every",
                                    label="Ckpt every", minimum=1)
    keep_last: int = setting(3, help="Checkpoints kept besides the best.", flag="--keep-last", minimum=1)
    sample_every: int = setting(0, help="Steps between sample clips (0: none).", flag="--sample-every",
                                label="Sample every", minimum=0)
    sample_duration: float = setting(10.0, help="Seconds per sample clip.", positive=True)
    sample_steps: int | None = setting(None, help="Inference steps per sample clip (default: the model's).",
                                       minimum=1)
    # divergence handling
    spike_factor: float = setting(10.0, help="A loss this many times its running mean is a divergence...",
                                  positive=True)
    spike_warmup: int = setting(20, help="...once the mean holds this many steps.", minimum=0)
    max_rollbacks: int = setting(2, help="Rollbacks to the last good checkpoint before giving up.", minimum=0)
    rollback_lr_factor: float = setting(0.5, help="Learning-rate factor applied at each rollback.", positive=True)

    def validate(self) -> None:
        problems = [p for s in settings() if (p := s.check(getattr(self, s.name))) is not None]
        if (self.batch_size * self.grad_accum) % self.processes:
            problems.append(f"--batch-size x --grad-accum ({self.batch_size * self.grad_accum}) must be a multiple "
                            f"of --processes ({self.processes}): each process takes an equal share of a step")
        if problems:
            raise TrainConfigError("; ".join(problems))

    def save(self, run_dir: Path) -> None:
        atomic_write_json(Path(run_dir) / "config.json", asdict(self))

    @classmethod
    def load(cls, run_dir: Path) -> TrainConfig:
        path = Path(run_dir) / "config.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrainConfigError(f"{path} not found: is {Path(run_dir).name} a training run?") from None
        except json.JSONDecodeError as exc:
            raise TrainConfigError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "list[str]": list}


def settings() -> list[Setting]:
    """Every TrainConfig field with its metadata, in declaration order."""
    out = []
    for f in fields(TrainConfig):
        base = str(f.type).split(" | ")[0]
        default = f.default_factory() if f.default_factory is not MISSING else (
            None if f.default is MISSING else f.default)
        out.append(Setting(name=f.name, type=_TYPES[base], default=default, **f.metadata))
    return out
