"""Everything a run needs, saved as ``runs/<run>/config.json`` so it can be reproduced or resumed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from engine.atomic import atomic_write_json
from engine.errors import LofiError

DEFAULT_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


class TrainConfigError(LofiError):
    """A training setting is out of range or config.json is unreadable."""


@dataclass
class TrainConfig:
    run: str
    base_model: str
    workspace: str | None = None
    dataset: str | None = None  # a folder from `lofi dataset build`; None = the workspace's train split
    require_license: bool = False
    # LoRA (rsLoRA scales by alpha / sqrt(rank))
    rank: int = 64
    alpha: float = 32.0
    rslora: bool = True
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    # optimisation
    learning_rate: float = 1e-4
    warmup_steps: int = 100
    schedule: str = "cosine"  # cosine | constant
    max_steps: int = 10_000
    batch_size: int = 1
    grad_accum: int = 1
    grad_clip: float = 0.5
    gradient_checkpointing: bool = False
    precision: str = "fp32"  # fp32 | bf16
    seed: int = 0
    crop_sec: float = 30.0
    cfg_dropout: float = 0.15  # share of steps trained on the null condition, for guidance
    timestep_shift: float = 3.0
    # bookkeeping
    checkpoint_every: int = 2000
    keep_last: int = 3
    sample_every: int = 0  # 0 = no samples
    sample_duration: float = 10.0
    sample_steps: int = 8
    # divergence handling
    spike_factor: float = 10.0  # a loss this many times its running average is a divergence...
    spike_warmup: int = 20  # ...once the average holds this many steps
    max_rollbacks: int = 2
    rollback_lr_factor: float = 0.5

    def validate(self) -> None:
        problems = []
        if not 1 <= self.rank <= 256:
            problems.append(f"--rank must be 1..256, got {self.rank}")
        if self.alpha <= 0:
            problems.append("--alpha must be positive")
        if self.precision not in ("fp32", "bf16"):
            problems.append(f"--precision must be fp32 or bf16, got {self.precision}")
        if self.schedule not in ("cosine", "constant"):
            problems.append(f"schedule must be cosine or constant, got {self.schedule}")
        if self.max_steps < 1 or self.batch_size < 1 or self.grad_accum < 1:
            problems.append("--max-steps, --batch-size and --grad-accum must be at least 1")
        if self.checkpoint_every < 1:
            problems.append("--checkpoint-every must be at least 1")
        if not 0 <= self.cfg_dropout < 1:
            problems.append("cfg_dropout must be in [0, 1)")
        if self.learning_rate <= 0 or self.grad_clip <= 0:
            problems.append("--lr and --grad-clip must be positive")
        if self.crop_sec <= 0:
            problems.append("--crop-sec must be positive")
        if problems:
            raise TrainConfigError("; ".join(problems))

    def save(self, run_dir: Path) -> None:
        atomic_write_json(Path(run_dir) / "config.json", asdict(self))

    @classmethod
    def load(cls, run_dir: Path) -> "TrainConfig":
        path = Path(run_dir) / "config.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrainConfigError(f"{path} not found: is {Path(run_dir).name} a training run?") from None
        except json.JSONDecodeError as exc:
            raise TrainConfigError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
