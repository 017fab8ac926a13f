"""Which ACE-Step 1.5 variant a checkpoint is, and every setting that follows from it.

One source of truth for the sampler (steps, shift, guidance) and the training objective (timestep
distribution, condition dropout) per variant, read by training, samples, evaluation, export and the daemon.

- turbo (``acestep-v15-turbo``, ``acestep-v15-xl-turbo``): guidance is distilled into the weights. Upstream
  generates with 8 steps at shift 3 and no CFG, and its LoRA trainer draws timesteps from that 8-step shift-3
  table with no condition dropout (ACE-Step-1.5 ``acestep/training/trainer.py``: ``TURBO_SHIFT3_TIMESTEPS``
  line 41, ``sample_discrete_timestep`` line 72, at commit f30aee4).
- base / sft (``acestep-v15-base``, ``-sft``, ``-xl-base``, ``-xl-sft``): generated with CFG (APG in diffusers'
  pipeline, guidance 7.0 by default), 50 steps (the step count the ACE-Step 1.5 XL release notes give for base and
  sft), shift 3 (upstream's UI default for base). Trained as upstream's base/sft path does: continuous
  logit-normal timesteps ``t = sigmoid(N(-0.4, 1.0))`` with ``r = t`` and 15 % of the samples on the learned null
  condition (``acestep/models/base/modeling_acestep_v15_base.py``: ``sample_t_r`` lines 173-198 and the
  ``full_cfg_condition_mask`` dropout in the training ``forward``; re-implemented in
  ``acestep/training_v2/timestep_sampling.py`` as ``sample_timesteps`` / ``apply_cfg_dropout``).

A checkpoint is turbo exactly when diffusers' ``AceStepPipeline`` thinks so: ``is_turbo`` or ``model_version ==
"turbo"`` in ``transformer/config.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TURBO_TABLE, LOGIT_NORMAL = "turbo-table", "logit-normal"


@dataclass(frozen=True)
class Variant:
    name: str  # "turbo" or "base" (sft models share the base settings)
    steps: int
    shift: float
    guidance: float  # 1.0: no classifier-free guidance
    timesteps: str  # TURBO_TABLE or LOGIT_NORMAL
    cfg_dropout: float  # share of training samples conditioned on the null embedding
    timestep_mu: float = -0.4
    timestep_sigma: float = 1.0

    @property
    def turbo(self) -> bool:
        return self.name == "turbo"

    def sampler(self, steps: int | None = None, guidance: float | None = None) -> dict[str, Any]:
        """``AceStepPipeline.__call__`` arguments for this variant; None takes the variant's default."""
        return {"num_inference_steps": steps or self.steps, "shift": self.shift,
                "guidance_scale": self.guidance if guidance is None else guidance}


TURBO = Variant("turbo", steps=8, shift=3.0, guidance=1.0, timesteps=TURBO_TABLE, cfg_dropout=0.0)
BASE = Variant("base", steps=50, shift=3.0, guidance=7.0, timesteps=LOGIT_NORMAL, cfg_dropout=0.15)


def is_turbo_config(config: dict[str, Any]) -> bool:
    """The same rule as ``AceStepPipeline.__init__``."""
    return bool(config.get("is_turbo")) or config.get("model_version") == "turbo"


def variant_of_config(transformer_config: dict[str, Any]) -> Variant:
    return TURBO if is_turbo_config(dict(transformer_config)) else BASE


def condition_width(transformer_config: Mapping[str, Any]) -> int:
    """Width of the DiT's cross-attention input (the condition encoder's output): ``encoder_hidden_size``, which
    the XL checkpoints set to 2048 under a 2560-wide DiT; absent (older configs), it equals ``hidden_size``."""
    config = dict(transformer_config)
    return int(config.get("encoder_hidden_size") or config["hidden_size"])

