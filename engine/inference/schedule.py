"""The PyTorch pipeline's sampler in numpy: ACE-Step's shifted flow-matching timesteps, the Euler
step of ``FlowMatchEulerDiscreteScheduler`` and APG guidance (adaptive projected guidance).

Kept numerically faithful (float32 schedule, float64 projections) so an ONNX bundle reproduces the
PyTorch pipeline for the same initial noise.
"""

from __future__ import annotations

from typing import cast

import numpy as np


def sigmas(steps: int, shift: float) -> np.ndarray:
    """``steps`` + 1 noise levels from 1 down to the terminal 0 (which the last Euler step lands on)."""
    t = np.linspace(1.0, 0.0, steps + 1, dtype=np.float32)
    if shift != 1.0:
        t = (shift * t / (1 + (shift - 1) * t)).astype(np.float32)
    t[-1] = 0.0
    return t


def euler_step(x: np.ndarray, velocity: np.ndarray, sigma: float, sigma_next: float) -> np.ndarray:
    return (x.astype(np.float32) + np.float32(sigma_next - sigma) * velocity.astype(np.float32)).astype(x.dtype)


class APG:
    """Guidance along the part of (cond - uncond) orthogonal to cond, with a momentum running average
    and a norm cap; the update uses ``pred_cond + (scale - 1) * update`` as ACE-Step base/SFT do."""

    def __init__(self, scale: float, momentum: float = -0.75, norm_threshold: float = 2.5, eta: float = 0.0,
                 norm_axis: int = 1) -> None:
        self.scale, self.momentum, self.norm_threshold, self.eta = scale, momentum, norm_threshold, eta
        self.axis = norm_axis
        self.running = 0.0

    def __call__(self, cond: np.ndarray, uncond: np.ndarray) -> np.ndarray:
        diff = cond - uncond
        self.running = diff + self.momentum * self.running
        diff = self.running
        if self.norm_threshold > 0:
            norm = np.sqrt(np.sum(diff * diff, axis=self.axis, keepdims=True))
            with np.errstate(divide="ignore"):
                diff = diff * np.minimum(1.0, self.norm_threshold / norm)
        v0, v1 = diff.astype(np.float64), cond.astype(np.float64)
        v1 = v1 / np.maximum(np.sqrt(np.sum(v1 * v1, axis=self.axis, keepdims=True)), 1e-12)
        parallel = np.sum(v0 * v1, axis=self.axis, keepdims=True) * v1
        update = (v0 - parallel).astype(cond.dtype) + self.eta * parallel.astype(cond.dtype)
        return cast(np.ndarray, cond + np.float32(self.scale - 1.0) * update)
