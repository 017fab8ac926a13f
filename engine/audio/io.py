"""Decode the formats users bring (MP3, WAV, FLAC, M4A, OGG Vorbis/Opus) and encode the ones we write.

A decode is judged only against the length the file itself declares (see :mod:`engine.audio.declared`):
a shortfall against a declared length, a container that ends mid-stream, or a lossless stream that
fails its checks is ``corrupt`` with a message saying which; a file that declares no length is
accepted at whatever length it decodes to.

libsndfile decodes in-process, but it stops at the length it believes the file has, and for an MP3
without a Xing/Info header (or a FLAC with an unknown total) that belief is a guess. Those files, and
M4A/AAC, go through the wheel-shipped ffmpeg, which reads to the end of the stream.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.atomic import atomic_path
from engine.audio.declared import Declared, declared_length, wav_layout
from engine.audio.ffmpeg import decode_with_ffmpeg, run_ffmpeg
from engine.errors import AudioError

SUPPORTED_FORMATS: dict[str, str] = {
    ".mp3": "mp3",
    ".wav": "wav",
    ".flac": "flac",
    ".m4a": "m4a",
    ".ogg": "ogg",
    ".opus": "ogg",
}

# A shortfall larger than this against a declared length means a truncated file; codec padding
# and rounding in the headers stay far below it.
TRUNCATION_TOLERANCE_SEC = 0.1
_LOSSLESS = frozenset({"wav", "flac"})  # their decoders' errors are damage, not a glitch to ride over


@dataclass(frozen=True)
class Decoded:
    samples: np.ndarray  # float32, shape (frames, channels); read-only when it came from ffmpeg
    sample_rate: int
    channels: int
    format: str

    @property
    def duration_sec(self) -> float:
        return int(self.samples.shape[0]) / self.sample_rate


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
    declared = declared_length(path, fmt)
    if declared.cut:
        raise AudioError(f"{path.name}: truncated: {declared.cut}")
    decoded = _decode_soundfile(path) if _libsndfile_reads_it_all(fmt, declared) else None
    samples, rate, failure = decoded or _decode_ffmpeg(path)
    _check_complete(path, fmt, declared, samples.shape[0] / rate, failure)
    if samples.shape[0] == 0:
        raise AudioError(f"{path.name}: decodes to no audio frames")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path.name}: audio contains NaN or infinite samples")
    return Decoded(samples, rate, samples.shape[1], fmt)


def _libsndfile_reads_it_all(fmt: str, declared: Declared) -> bool:
    """libsndfile reads exactly the length it believes, so only where the file states it exactly.

    mpg123 inside libsndfile reads Xing/Info headers but not VBRI, and M4A is not a libsndfile format.
    """
    if fmt == "m4a" or declared.frames is None:
        return False
    return fmt != "mp3" or declared.source.startswith("Xing")


def _check_complete(path: Path, fmt: str, declared: Declared, decoded_sec: float, failure: str | None) -> None:
    detail = f" ({failure})" if failure else ""
    if declared.seconds is not None and declared.seconds - decoded_sec > TRUNCATION_TOLERANCE_SEC:
        raise AudioError(
            f"{path.name}: truncated: its {declared.source} declares {declared.seconds:.1f} s but only "
            f"{decoded_sec:.1f} s of audio could be decoded{detail}"
        )
    if failure and fmt in _LOSSLESS:
        raise AudioError(f"{path.name}: damaged or truncated: decoding failed after {decoded_sec:.1f} s{detail}")


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


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int, None] | None:
    """In-process decode; None when libsndfile fails anywhere, and ffmpeg (which reads past damage) decides."""
    try:
        with _native_stderr_silenced(), sf.SoundFile(path) as fh:
            return fh.read(dtype="float32", always_2d=True), fh.samplerate, None
    except (sf.LibsndfileError, RuntimeError, ValueError):
        return None


def _decode_ffmpeg(path: Path) -> tuple[np.ndarray, int, str | None]:
    try:
        wav, errors = decode_with_ffmpeg(path)
    except AudioError as exc:
        raise AudioError(
            f"{path.name}: not decodable as {path.suffix.lstrip('.').upper()}: not audio, or a damaged header ({exc})"
        ) from exc
    layout = wav_layout(wav)
    if layout is None:
        raise AudioError(f"{path.name}: ffmpeg found no audio stream in it")
    frames = (len(wav) - layout.data_start) // (4 * layout.channels)
    samples = np.frombuffer(wav, dtype=np.float32, offset=layout.data_start, count=frames * layout.channels)
    return samples.reshape(frames, layout.channels), layout.rate, errors[0] if errors else None


def write_audio(path: Path, samples: np.ndarray, sample_rate: int, fmt: str | None = None, bitrate_k: int = 320) -> None:
    """Write audio atomically in the format named by ``fmt`` or the extension.

    WAV/FLAC/OGG use libsndfile; MP3 and M4A go through ffmpeg (LAME CBR for MP3, AAC for M4A),
    which is also about three times faster than libsndfile's bundled LAME for MP3.
    """
    path = Path(path)
    fmt = fmt or source_format(path)
    if fmt is None:
        raise AudioError(f"{path.name}: cannot write this format (use .wav, .flac, .ogg, .mp3 or .m4a)",
                         "unsupported_format")
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
                stdin=samples.data.cast("B"),  # no 4-byte-per-sample copy of the whole track
                what=f"encoding {fmt.upper()}",
            )
