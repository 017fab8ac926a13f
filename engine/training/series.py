"""Long metric series made drawable: smoothing and min/max decimation to a screen width.

A chart 120 columns wide cannot show 100,000 points; drawing all of them is slow and hides
spikes. Each column gets the min and max of the points that fall in it, so a single NaN-free
spike still shows, and drawing costs O(width) whatever the length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

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
    centres[0], centres[-1] = x[0], x[-1]  # the curve spans the run, so the chart's axis reads its first and last step
    return Decimated(centres, low, high)


def ema(values: np.ndarray, smoothing: float, after: int = 0, average: float = 0.0) -> np.ndarray:
    """Exponential moving average with TensorBoard's meaning of smoothing (0 = raw, 0.99 = very smooth).

    Debiased (divided by the weight so far), so the start is not dragged towards 0; computed as
    a linear filter because the chart recomputes it over 100,000 points on every new line. ``after`` and
    ``average`` continue a series: the values before these were ``after`` many, ending at that smoothed value.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or smoothing <= 0:
        return values
    from scipy.signal import lfilter  # scipy.signal costs a second to import: only when a chart needs it

    carried = average * (1 - smoothing**after)  # the undivided running sum the smoothed value came from
    acc, _ = lfilter([1 - smoothing], [1, -smoothing], values, zi=[smoothing * carried])
    weight = 1 - smoothing ** np.arange(after + 1, after + values.size + 1)
    return cast(np.ndarray, acc / weight)


class SmoothedSeries:
    """:func:`ema` of a series that grows between calls, as the loss does between chart redraws: when the values
    of the last call are still the start of this one and the smoothing is the same, only the new values are
    filtered (a redraw at 100,000 steps spent ~5 ms smoothing them all again)."""

    def __init__(self) -> None:
        self._smoothing: float | None = None
        self._seen = np.empty(0)
        self._smoothed = np.empty(0)

    def __call__(self, values: np.ndarray, smoothing: float) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        n = self._seen.size
        grew = (smoothing == self._smoothing and 0 < n <= values.size and smoothing > 0
                and np.array_equal(values[:n], self._seen))
        if not grew:
            self._smoothed = ema(values, smoothing)
        elif values.size > n:
            tail = ema(values[n:], smoothing, after=n, average=float(self._smoothed[-1]))
            self._smoothed = np.concatenate([self._smoothed, tail])
        self._seen, self._smoothing = values.copy(), smoothing
        return self._smoothed


class StepColumns:
    """Per-step metrics as numpy columns for charts, kept current as lines arrive, so a redraw at 100,000 steps
    does not walk 100,000 records: a step after the last one is appended (amortised O(1) per column); a step
    written again (a resume or a rollback replays from a checkpoint) makes the next read rebuild once."""

    def __init__(self) -> None:
        self._records: list[dict[str, Any]] = []  # one per step, in step order
        self._last = -1
        self._stale = False
        self._columns: dict[str, tuple[np.ndarray, int]] = {}  # key -> (buffer, rows filled)

    def add(self, step: int, record: dict[str, Any]) -> None:
        if step > self._last and not self._stale:
            self._records.append(record)
            self._last = step
        else:
            self._stale = True

    def column(self, key: str, steps: dict[int, dict[str, Any]]) -> np.ndarray:
        """``key`` of every step in step order (a missing value reads 0); ``steps`` is the step table to rebuild
        from after a rewrite."""
        if self._stale:
            self._records = [steps[s] for s in sorted(steps)]
            self._last = int(self._records[-1]["step"]) if self._records else -1
            self._columns.clear()
            self._stale = False
        buffer, filled = self._columns.get(key, (np.empty(0), 0))
        rows = len(self._records)
        if filled < rows:
            if buffer.size < rows:
                grown = np.empty(max(rows, 2 * buffer.size))
                grown[:filled] = buffer[:filled]
                buffer = grown
            buffer[filled:rows] = [float(r.get(key) or 0.0) for r in self._records[filled:]]
            self._columns[key] = (buffer, rows)
        return buffer[:rows]
