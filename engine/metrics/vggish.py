"""The VGGish network, written from its published description, with torchvggish's parameter names.

Input: [batch, 1, 96, 64] log-mel patches (0.96 s at 16 kHz, 64 bands 125-7500 Hz).
Output: [batch, 128] embeddings (before the PCA/quantisation step some releases add).
"""

from __future__ import annotations

from torch import nn


class VGGish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width, convs in ((64, 1), (128, 1), (256, 2), (512, 2)):
            for _ in range(convs):
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 128), nn.ReLU(inplace=True),
        )

    def forward(self, x):
        x = self.features(x)
        x = x.transpose(1, 3).transpose(1, 2).contiguous()  # [B, 6, 4, 512], TensorFlow's flatten order
        return self.embeddings(x.view(x.size(0), -1))
