"""The quality gate and the 0-100 quality score.

Gate (on the decoded source, before any processing), from the lofi LoRA design:
- shorter than 30 s                         -> rejected / too_short
- more than 0.1 % of samples with |x| > 0.99 -> rejected / excessive_clipping
- more than 50 % of samples with |x| < 0.01  -> rejected / excessive_silence

Score: a weighted sum of four components, each in [0, 1], times 100.

=============  ======  ==================================================================
component      weight  1.0 when ... falling linearly to 0.0 when ...
=============  ======  ==================================================================
bandwidth      0.35    effective bandwidth >= 16 kHz ... <= 8 kHz (upsampled or low-bitrate
                       sources lose their top octave; a 128 kbps MP3 cuts near 16 kHz)
dynamics       0.25    crest factor (peak/RMS) in 9..20 dB and RMS >= -30 dBFS; brick-wall
                       limited (crest <= 4 dB) or very quiet (RMS <= -45 dBFS) scores 0
clipping       0.20    no clipped samples ... the rejection threshold (0.1 %)
silence        0.20    <= 10 % near-silent samples ... the rejection threshold (50 %)
=============  ======  ==================================================================

Effective bandwidth is the highest frequency whose long-term average power is within 70 dB of
the loudest band: resampler stop-bands and MP3 low-pass filters sit far below that, while real
recordings (and vinyl hiss) keep energy up to their true limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

MIN_DURATION_SEC = 30.0
MAX_DURATION_SEC = 240.0
CLIP_LEVEL, CLIP_MAX_SHARE = 0.99, 0.001
SILENCE_LEVEL, SILENCE_MAX_SHARE = 0.01, 0.5
LOW_QUALITY_SCORE = 50.0

WEIGHTS = {"bandwidth": 0.35, "dynamics": 0.25, "clipping": 0.20, "silence": 0.20}

_BANDWIDTH_FLOOR_DB = 70.0
_ANALYSIS_NFFT = 4096
_MAX_ANALYSIS_FRAMES = 400  # enough for a stable long-term spectrum; keeps analysis cheap


@dataclass(frozen=True)
class QualityReport:
    clipping_share: float
    silence_share: float
    peak_dbfs: float
    rms_dbfs: float
    crest_db: float
    bandwidth_hz: float
    components: dict[str, float]
    score: float

    def as_dict(self) -> dict[str, float]:
        """Everything stored on the track: raw measurements and scored components."""
        return {
            "clipping_share": self.clipping_share,
            "silence_share": self.silence_share,
            "peak_dbfs": self.peak_dbfs,
            "rms_dbfs": self.rms_dbfs,
            "crest_db": self.crest_db,
            "bandwidth_hz": self.bandwidth_hz,
            **{f"{k}_score": v for k, v in self.components.items()},
        }


@dataclass(frozen=True)
class GateVerdict:
    accepted: bool
    reason: str | None
    message: str | None


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Channel average; summing columns is several times faster than ``mean(axis=1)`` on frames."""
    if samples.ndim == 1:
        return samples
    total = cast(np.ndarray, np.add.reduce([samples[:, c] for c in range(samples.shape[1])]))
    return total / np.float32(samples.shape[1])


def _db(x: float) -> float:
    return float(20 * np.log10(max(x, 1e-12)))


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    """Linear 0..1 between two points (either order), clipped."""
    return float(np.clip((value - zero_at) / (one_at - zero_at), 0.0, 1.0))


def analyze(samples: np.ndarray, sample_rate: int) -> QualityReport:
    """Measure a decoded source (float32 frames x channels) and score it."""
    mags = np.abs(samples)
    size = max(1, mags.size)
    clipping_share = np.count_nonzero(mags > CLIP_LEVEL) / size
    silence_share = np.count_nonzero(mags < SILENCE_LEVEL) / size
    peak = float(mags.max()) if mags.size else 0.0
    flat = mags.reshape(-1)
    rms = float(np.sqrt(np.dot(flat, flat) / size))
    crest = _db(peak) - _db(rms)
    bandwidth = effective_bandwidth(samples, sample_rate)

    dynamics = min(
        _ramp(crest, 4.0, 9.0) if crest < 9.0 else _ramp(crest, 30.0, 20.0),
        _ramp(_db(rms), -45.0, -30.0),
    )
    components = {
        "bandwidth": _ramp(bandwidth, 8000.0, 16000.0),
        "dynamics": dynamics,
        "clipping": _ramp(clipping_share, CLIP_MAX_SHARE, 0.0),
        "silence": _ramp(silence_share, SILENCE_MAX_SHARE, 0.10),
    }
    score = round(100.0 * sum(WEIGHTS[k] * v for k, v in components.items()), 1)
    return QualityReport(clipping_share, silence_share, _db(peak), _db(rms), crest, bandwidth, components, score)


def effective_bandwidth(samples: np.ndarray, sample_rate: int) -> float:
    """Highest frequency (Hz) whose long-term power is within 70 dB of the strongest bin."""
    mono = to_mono(samples)
    n_frames = mono.size // _ANALYSIS_NFFT
    if n_frames == 0:
        return 0.0
    step = max(1, n_frames // _MAX_ANALYSIS_FRAMES)
    frames = mono[: n_frames * _ANALYSIS_NFFT].reshape(n_frames, _ANALYSIS_NFFT)[::step]
    spectrum = np.mean(np.abs(np.fft.rfft(frames * np.hanning(_ANALYSIS_NFFT), axis=1)) ** 2, axis=0)
    level = 10 * np.log10(spectrum + 1e-20)
    above = np.nonzero(level > level.max() - _BANDWIDTH_FLOOR_DB)[0]
    return float(above[-1] * sample_rate / _ANALYSIS_NFFT) if above.size else 0.0


def gate(report: QualityReport, duration_sec: float) -> GateVerdict:
    """Apply the design's rejection rules in a fixed order; the first failing rule is the reason."""
    if duration_sec < MIN_DURATION_SEC:
        return GateVerdict(False, "too_short", f"{duration_sec:.1f} s long; at least {MIN_DURATION_SEC:.0f} s needed")
    if report.clipping_share > CLIP_MAX_SHARE:
        return GateVerdict(
            False,
            "excessive_clipping",
            f"{100 * report.clipping_share:.2f} % of samples clip (|x| > {CLIP_LEVEL}); at most 0.1 % allowed",
        )
    if report.silence_share > SILENCE_MAX_SHARE:
        return GateVerdict(
            False,
            "excessive_silence",
            f"{100 * report.silence_share:.0f} % of samples are near-silent (|x| < {SILENCE_LEVEL}); at most 50 % allowed",
        )
    return GateVerdict(True, None, None)
