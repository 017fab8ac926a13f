"""The work done for one file, in a worker process: everything but the catalog and duplicate checks.

It holds at most one track's audio in memory and returns only small results (the fingerprint is
written to disk), so a pool of workers stays bounded in memory whatever the batch size.
"""

from __future__ import annotations

import resource
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from engine.audio import fingerprint as fp
from engine.audio.io import decode, source_format
from engine.audio.musical import MusicalInfo, estimate_musical
from engine.audio.process import (
    TARGET_RATE,
    encode_normalized_mp3,
    resample,
    to_stereo,
    trim,
)
from engine.audio.quality import LOW_QUALITY_SCORE, MAX_DURATION_SEC, analyze, gate, to_mono
from engine.catalog.track import ACCEPTED, ERROR, REJECTED
from engine.errors import AudioError


@dataclass(frozen=True)
class Job:
    source: Path
    track_id: str
    output: Path  # absolute path of the processed MP3
    fingerprint: Path  # absolute path of the fingerprint file


@dataclass
class Processed:
    """What a worker learned about one file."""

    job: Job
    status: str
    reason: str | None = None
    message: str | None = None
    source_format: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    source_duration_sec: float | None = None
    duration_sec: float | None = None
    trimmed: bool = False
    quality_score: float | None = None
    quality: dict[str, float] = field(default_factory=dict)
    low_quality: bool = False
    output_peak_dbfs: float | None = None
    musical: MusicalInfo | None = None
    encode_passes: int = 0
    cpu_sec: dict[str, float] = field(default_factory=dict)  # per stage, filled as the stages run


def process(job: Job) -> Processed:
    """Run the whole per-file pipeline; never raises for a bad file (the batch must go on)."""
    try:
        return _process(job)
    except AudioError as exc:
        return Processed(job, ERROR, exc.reason, str(exc), source_format(job.source))
    except MemoryError:
        return Processed(job, ERROR, "corrupt", f"{job.source.name}: too large to decode in memory")
    except Exception as exc:  # a bug must not kill the batch; keep the evidence in the message
        last = traceback.format_exception_only(exc)[-1].strip()
        return Processed(job, ERROR, "internal_error", f"{job.source.name}: unexpected failure: {last}")


def _cpu_sec() -> float:
    """CPU seconds of this process and its finished children (the ffmpeg encoder and decoder)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _StageClock:
    """CPU time per pipeline stage, for benchmarks/ingest.py's breakdown (a worker runs one file at a time)."""

    def __init__(self) -> None:
        self.cpu_sec: dict[str, float] = {}
        self._last = _cpu_sec()

    def lap(self, stage: str) -> None:
        now = _cpu_sec()
        self.cpu_sec[stage] = round(now - self._last, 4)
        self._last = now


def _process(job: Job) -> Processed:
    clock = _StageClock()
    decoded = decode(job.source)
    clock.lap("decode")
    report = analyze(decoded.samples, decoded.sample_rate)
    clock.lap("analyse")
    result = Processed(
        job,
        ACCEPTED,
        source_format=decoded.format,
        sample_rate=decoded.sample_rate,
        channels=decoded.channels,
        source_duration_sec=round(decoded.duration_sec, 3),
        quality_score=report.score,
        quality=report.as_dict(),
        low_quality=report.score < LOW_QUALITY_SCORE,
        cpu_sec=clock.cpu_sec,
    )
    verdict = gate(report, decoded.duration_sec)
    if not verdict.accepted:
        result.status, result.reason, result.message = REJECTED, verdict.reason, f"{job.source.name}: {verdict.message}"
        return result
    audio = resample(to_stereo(decoded.samples), decoded.sample_rate)
    del decoded
    audio, result.trimmed = trim(audio, TARGET_RATE, MAX_DURATION_SEC)
    clock.lap("resample")
    mono = to_mono(audio)  # both analyses listen in mono
    fp.save(job.fingerprint, fp.fingerprint(mono, TARGET_RATE))
    clock.lap("fingerprint")
    result.musical = estimate_musical(mono, TARGET_RATE)
    del mono
    clock.lap("tempo_key")
    encoded = encode_normalized_mp3(audio, job.output)
    clock.lap("encode")
    result.encode_passes = encoded.passes
    result.output_peak_dbfs = round(encoded.peak_dbfs, 3)
    result.duration_sec = round(encoded.frames / TARGET_RATE, 3)
    if result.trimmed:
        result.message = f"{job.source.name}: trimmed from {result.source_duration_sec:.0f} s to {MAX_DURATION_SEC:.0f} s"
    return result
