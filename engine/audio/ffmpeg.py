"""The ffmpeg binary shipped by the imageio-ffmpeg wheel (no system ffmpeg needed)."""

from __future__ import annotations

import functools
import subprocess

from engine.errors import AudioError


@functools.cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise AudioError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg", "unsupported_format") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], stdin: bytes | None = None, what: str = "ffmpeg") -> bytes:
    """Run ffmpeg with an argument list (never a shell); raise AudioError with its last error line."""
    cmd = [ffmpeg_exe(), "-hide_banner", *(["-nostdin"] if stdin is None else []), "-v", "error", *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"{what} failed: {lines[-1] if lines else 'exit status ' + str(proc.returncode)}")
    return proc.stdout
