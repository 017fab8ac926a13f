"""Decode the formats users bring (MP3, WAV, FLAC, M4A, OGG) and encode the ones we write.

libsndfile (via soundfile) decodes everything but M4A/AAC; those go through the wheel-shipped ffmpeg.
Decoding is strict: empty, truncated or non-audio files raise :class:`AudioError` with reason
``corrupt`` and a message that says what failed.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.atomic import atomic_path
from engine.audio.ffmpeg import run_ffmpeg
from engine.errors import AudioError

SUPPORTED_FORMATS: dict[str, str] = {
    ".mp3": "mp3",
    ".wav": "wav",
    ".flac": "flac",
    ".m4a": "m4a",
    ".ogg": "ogg",
}

# A frame-count shortfall larger than this (in seconds) against the header means a truncated file.
_TRUNCATION_TOLERANCE_SEC = 0.1


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32, shape (frames, channels)
    sample_rate: int
    channels: int
    format: str

    @property
    def duration_sec(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def source_format(path: Path) -> str | None:
    """Format name from the extension, or None when we do not ingest this kind of file."""
    return SUPPORTED_FORMATS.get(Path(path).suffix.lower())


def decode(path: Path) -> Decoded:
    """Decode a whole file to float32 frames at its own rate and channel count."""
    path = Path(path)
    fmt = source_format(path)
    if fmt is None:
        raise AudioError(
            f"{path.name}: unsupported format {path.suffix or '(no extension)'}; "
            f"use one of {', '.join(sorted(SUPPORTED_FORMATS))}",
            "unsupported_format",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    if size == 0:
        raise AudioError(f"{path.name}: file is empty (0 bytes)")
    samples, rate = _decode_ffmpeg(path) if fmt == "m4a" else _decode_soundfile(path)
    if samples.shape[0] == 0:
        raise AudioError(f"{path.name}: decodes to no audio frames")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path.name}: audio contains NaN or infinite samples")
    return Decoded(samples, rate, samples.shape[1], fmt)


# libsndfile clamps a WAV's frame count to what is on disk, but logs the header's promise.
_WAV_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """libmpg123 prints resync notes straight to fd 2 for damaged MP3s; our message says it better."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        with _native_stderr_silenced(), sf.SoundFile(path) as fh:
            declared = fh.frames
            rate = fh.samplerate
            short = _WAV_SHORT_DATA.search(fh.extra_info)
            if short and int(short.group(2)) < int(short.group(1)):
                declared = int(short.group(1)) * fh.frames // max(1, int(short.group(2)))
            samples = fh.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"{path.name}: not decodable as {path.suffix.lstrip('.').upper()} ({_short(exc)})") from exc
    missing = declared - samples.shape[0]
    if missing > _TRUNCATION_TOLERANCE_SEC * rate:
        raise AudioError(
            f"{path.name}: truncated: header declares {declared / rate:.1f} s but only "
            f"{samples.shape[0] / rate:.1f} s of audio could be read"
        )
    return samples, rate


def _decode_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory(prefix="lofi-decode-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        try:
            run_ffmpeg(["-i", str(path), "-vn", "-c:a", "pcm_f32le", "-f", "wav", str(wav)], what="decoding")
        except AudioError as exc:
            raise AudioError(f"{path.name}: not decodable as {path.suffix.lstrip('.').upper()} ({exc})") from exc
        samples, rate = sf.read(wav, dtype="float32", always_2d=True)
    return samples, rate


def _short(exc: Exception) -> str:
    """libsndfile's message without the path, and without its misleading "does not exist" wording."""
    text = getattr(exc, "error_string", None) or str(exc).strip().splitlines()[0]
    if "does not exist" in text or "not a regular file" in text or "Format not recognised" in text:
        return "format not recognised: not audio, or a damaged header"
    return text[:160]


def write_audio(path: Path, samples: np.ndarray, sample_rate: int, fmt: str | None = None, bitrate_k: int = 320) -> None:
    """Write audio atomically in the format named by ``fmt`` or the extension.

    WAV/FLAC/OGG use libsndfile; MP3 and M4A go through ffmpeg (LAME CBR for MP3, AAC for M4A),
    which is also about three times faster than libsndfile's bundled LAME for MP3.
    """
    path = Path(path)
    fmt = fmt or source_format(path)
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    channels = samples.shape[1]
    suffix = "." + {"m4a": "m4a", "mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg"}[fmt]
    with atomic_path(path, suffix=suffix) as tmp:
        if fmt in ("wav", "flac", "ogg"):
            subtype = {"wav": "FLOAT", "flac": "PCM_24", "ogg": "VORBIS"}[fmt]
            sf.write(tmp, samples, sample_rate, format=fmt.upper(), subtype=subtype)
        else:
            codec = ["-c:a", "libmp3lame", "-b:a", f"{bitrate_k}k"] if fmt == "mp3" else ["-c:a", "aac", "-b:a", "192k"]
            run_ffmpeg(
                ["-y", "-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", "pipe:0", *codec,
                 "-f", "mp3" if fmt == "mp3" else "ipod", str(tmp)],
                stdin=samples.tobytes(),
                what=f"encoding {fmt.upper()}",
            )
