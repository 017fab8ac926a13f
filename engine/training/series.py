"""Long metric series made drawable: smoothing and min/max decimation to a screen width.

A chart 120 columns wide cannot show 100,000 points; drawing all of them is slow and hides
spikes. Each column gets the min and max of the points that fall in it, so a single NaN-free
spike still shows, and drawing costs O(width) whatever the length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np


@dataclass(frozen=True)
class Decimated:
    x: np.ndarray  # column centres (in x units)
    low: np.ndarray
    high: np.ndarray


def decimate_minmax(x: np.ndarray, y: np.ndarray, width: int) -> Decimated:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size <= width:
        return Decimated(x, y, y)
    edges = np.linspace(0, x.size, width + 1).astype(int)
    low = np.minimum.reduceat(y, edges[:-1])
    high = np.maximum.reduceat(y, edges[:-1])
    centres = x[(edges[:-1] + edges[1:] - 1) // 2]  # the middle sample of each bucket (never index -1)
    return Decimated(centres, low, high)


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's meaning of smoothing (0 = raw, 0.99 = very smooth).

    Debiased (divided by the weight so far), so the start is not dragged towards 0; computed as
    a linear filter because the chart recomputes it over 100,000 points on every new line.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or smoothing <= 0:
        return values
    from scipy.signal import lfilter  # scipy.signal costs a second to import: only when a chart needs it

    acc = lfilter([1 - smoothing], [1, -smoothing], values)
    weight = 1 - smoothing ** np.arange(1, values.size + 1)
    return cast(np.ndarray, acc / weight)
