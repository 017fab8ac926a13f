"""The ffmpeg binary shipped by the imageio-ffmpeg wheel (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import cast

from engine.errors import AudioError

# "[flac @ 0x55d0] [dec:flac @ 0x55d1] " before each log line: the component, for ffmpeg developers.
_LOG_PREFIX = re.compile(r"^(\[[^]]*\]\s*)+")


@functools.cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise AudioError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg", "unsupported_format") from exc
    return cast(str, imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: list[str], stdin: bytes | memoryview | None = None, what: str = "ffmpeg") -> bytes:
    """Run ffmpeg with an argument list (never a shell); raise AudioError with its last error line."""
    cmd = [ffmpeg_exe(), "-hide_banner", *(["-nostdin"] if stdin is None else []), "-v", "error", *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"{what} failed: {lines[-1] if lines else 'exit status ' + str(proc.returncode)}")
    return proc.stdout


def decode_with_ffmpeg(path: Path) -> tuple[bytes, list[str]]:
    """The first audio stream as float32 WAV bytes, and the error lines ffmpeg decoded past.

    ffmpeg reads to the end of the stream whatever the headers claim, and rides over damaged frames
    (it still exits 0), so the caller decides what its error lines mean for the format.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", f"file:{Path(path).resolve()}",
           "-map", "0:a:0", "-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    errors = [_LOG_PREFIX.sub("", line) for line in proc.stderr.decode("utf-8", "replace").strip().splitlines()]
    if proc.returncode != 0:
        raise AudioError(errors[0] if errors else f"ffmpeg exit status {proc.returncode}")
    return proc.stdout, errors
