"""The flow-matching objective, following ACE-Step 1.5's own trainers.

- Noise convention: ``x_t = t * noise + (1 - t) * x0`` with t in [0, 1] (t = 1 is pure noise), and the DiT
  predicts the velocity ``noise - x0``; the loss is the mean squared error. This is what the pipeline's Euler
  sampler integrates (``x_{t'} = x_t + (t' - t) * v``). ``timestep_r = t`` (no mean-flow offset), as at inference.
- Timesteps depend on the variant (:mod:`engine.model.variants`): turbo models are trained, as upstream's turbo
  trainer does, on the 8 timesteps they sample with (shift 3: ``t' = 3t / (1 + 2t)``); base and sft models on
  continuous logit-normal timesteps ``sigmoid(N(-0.4, 1))``, as upstream's base/sft training does.
- Context latents for text-to-music are the model's silence latent plus an all-ones chunk mask.
- Condition dropout (base/sft: 15 %): the packed conditioning is replaced by the learned ``null_condition_emb``
  so classifier-free guidance keeps working after training. Turbo models never use guidance, so none.
"""

from __future__ import annotations

import torch

from engine.model.variants import LOGIT_NORMAL, TURBO_TABLE, Variant


def timestep_table(shift: float, steps: int = 8) -> torch.Tensor:
    t = torch.linspace(1.0, 0.0, steps + 1)[:-1]
    return shift * t / (1 + (shift - 1) * t) if shift != 1.0 else t


def draw_timestep(variant: Variant, kind: str, shift: float, gen: torch.Generator) -> torch.Tensor:
    """One training timestep [1] drawn from ``gen``, so a resumed run replays it.

    ``kind`` TURBO_TABLE: uniform over the shifted 8-step table (ACE-Step-1.5 ``acestep/training/trainer.py``,
    ``sample_discrete_timestep``, line 72 at f30aee4). LOGIT_NORMAL: ``sigmoid(N(mu, sigma))`` with the variant's
    mu -0.4, sigma 1.0 (``acestep/models/base/modeling_acestep_v15_base.py``, ``sample_t_r``, lines 173-198, with
    ``use_meanflow=False`` so ``r = t``).
    """
    if kind == TURBO_TABLE:
        table = timestep_table(shift)
        return table[torch.randint(0, len(table), (1,), generator=gen)]
    if kind == LOGIT_NORMAL:
        return torch.sigmoid(torch.randn(1, generator=gen) * variant.timestep_sigma + variant.timestep_mu)
    raise ValueError(f"unknown timestep distribution {kind!r}")


def flow_matching_loss(transformer: torch.nn.Module, x0: torch.Tensor, encoder_hidden_states: torch.Tensor, context: torch.Tensor,
                       t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """MSE between the predicted and the true velocity for a batch of clean latents ``x0`` [B, T, D]."""
    tb = t.view(-1, 1, 1)
    xt = tb * noise + (1.0 - tb) * x0
    pred = transformer(hidden_states=xt, timestep=t, timestep_r=t, encoder_hidden_states=encoder_hidden_states,
                       context_latents=context, return_dict=False)[0]
    return torch.nn.functional.mse_loss(pred.float(), (noise - x0).float())
