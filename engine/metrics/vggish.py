"""VGGish as torchvggish and fadtk compute it, written from the published description.

Front end (``vggish_input`` / ``mel_features`` in torchvggish): 16 kHz mono; 25 ms frames (400 samples)
every 10 ms (160), periodic Hann window, magnitude of a 512-point FFT; 64 mel bands from 125 to 7500 Hz
whose triangles are linear in the HTK mel scale ``1127 ln(1 + f/700)`` with unit peak (no area
normalisation; the DC bin gets no weight); ``log(mel + 0.01)``; non-overlapping 96-frame (0.96 s)
patches, a trailing partial patch dropped. Computed in float64 and handed to the network in float32,
as torchvggish does.

Network: 4 conv blocks -> 3 fully connected layers -> 128-d, parameter names as torchvggish's, so
its released weights load. The embedding is taken before the final ReLU and without the PCA step,
which is fadtk's default (``use_activation=False, use_pca=False``); ``post_relu=True`` gives the
other convention.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16_000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512  # the next power of two above the window
BANDS = 64
LOW_HZ, HIGH_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01
PATCH = 96  # frames per example: 0.96 s
FRONTEND_VERSION = "torchvggish-1"  # part of the embedding cache key: bump on any change above


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def mel_matrix() -> np.ndarray:
    """[FFT/2 + 1, BANDS] weights; triangles interpolated on the mel scale, peaks of 1."""
    bins_mel = hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, FFT // 2 + 1))
    edges = np.linspace(hz_to_mel(LOW_HZ), hz_to_mel(HIGH_HZ), BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return cast(np.ndarray, weights)


_MEL = mel_matrix()
_HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)  # periodic


def log_mel(samples: np.ndarray) -> np.ndarray:
    """[frames, 64] log-mel of 16 kHz mono audio (float64)."""
    x = np.asarray(samples, dtype=np.float64)
    count = 1 + (x.size - WINDOW) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, WINDOW)[::HOP][:count]
    magnitude = np.abs(np.fft.rfft(frames * _HANN, n=FFT, axis=1))
    return np.log(cast(np.ndarray, magnitude @ _MEL) + LOG_OFFSET)


def examples(samples: np.ndarray) -> np.ndarray:
    """[patches, 96, 64] float32 network inputs; audio under one second is zero-padded to one second,
    as fadtk does (torchvggish alone would give no patch)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size < SAMPLE_RATE:
        x = np.pad(x, (0, SAMPLE_RATE - x.size))
    mel = log_mel(x)
    count = mel.shape[0] // PATCH
    return mel[: count * PATCH].reshape(count, PATCH, BANDS).astype(np.float32)


class VGGish(nn.Module):
    """[batch, 1, 96, 64] log-mel patches -> [batch, 128]."""

    def __init__(self, post_relu: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width, convs in ((64, 1), (128, 1), (256, 2), (512, 2)):
            for _ in range(convs):
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(  # indices 0, 2, 4 hold the weights, as in torchvggish
            nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 128),
        )
        self.post_relu = post_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.transpose(1, 3).transpose(1, 2).contiguous()  # [B, 6, 4, 512], TensorFlow's flatten order
        out = self.embeddings(x.view(x.size(0), -1))
        return torch.relu(out) if self.post_relu else out
