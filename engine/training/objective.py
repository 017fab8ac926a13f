"""The flow-matching objective, following ACE-Step 1.5's own trainer.

- Noise convention: ``x_t = t * noise + (1 - t) * x0`` with t in [0, 1] (t = 1 is pure noise), and
  the DiT predicts the velocity ``noise - x0``; the loss is the mean squared error. This is what
  the pipeline's Euler sampler integrates (``x_{t'} = x_t + (t' - t) * v``).
- Timesteps are drawn uniformly from the 8-step schedule used at inference, shifted by 3
  (``t' = 3t / (1 + 2t)``), as ACE-Step trains its turbo LoRAs; ``timestep_r = t`` (no mean-flow
  offset), as at inference.
- Context latents for text-to-music are the model's silence latent plus an all-ones chunk mask.
- Condition dropout: on a share of samples (15 % by default) the packed conditioning is replaced
  by the learned ``null_condition_emb``, so classifier-free guidance keeps working after training.
"""

from __future__ import annotations

import torch


def timestep_table(shift: float, steps: int = 8) -> torch.Tensor:
    t = torch.linspace(1.0, 0.0, steps + 1)[:-1]
    return shift * t / (1 + (shift - 1) * t) if shift != 1.0 else t


def flow_matching_loss(transformer, x0: torch.Tensor, encoder_hidden_states: torch.Tensor, context: torch.Tensor,
                       t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """MSE between the predicted and the true velocity for a batch of clean latents ``x0`` [B, T, D]."""
    tb = t.view(-1, 1, 1)
    xt = tb * noise + (1.0 - tb) * x0
    pred = transformer(hidden_states=xt, timestep=t, timestep_r=t, encoder_hidden_states=encoder_hidden_states,
                       context_latents=context, return_dict=False)[0]
    return torch.nn.functional.mse_loss(pred.float(), (noise - x0).float())
