"""Audio playback behind a small interface, so the dashboard works where no audio output exists.

``open_player()`` returns a :class:`SoundDevicePlayer` when PortAudio and an output device are
there, and otherwise a :class:`SilentPlayer` that says once, plainly, why nothing will be heard.
Tests inject their own player or use PortAudio's null device.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from engine.audio.io import decode


class Player(Protocol):
    available: bool
    reason: str | None

    def play(self, path: Path) -> None: ...

    def stop(self) -> None: ...


class SilentPlayer:
    available = False

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def play(self, path: Path) -> None:
        return None

    def stop(self) -> None:
        return None


class SoundDevicePlayer:
    available = True
    reason = None

    def __init__(self, sd) -> None:
        self._sd = sd
        self.now_playing: Path | None = None

    def play(self, path: Path) -> None:
        decoded = decode(Path(path))
        self._sd.stop()
        self._sd.play(decoded.samples, decoded.sample_rate)
        self.now_playing = Path(path)

    def stop(self) -> None:
        self._sd.stop()
        self.now_playing = None


def open_player() -> Player:
    try:
        import sounddevice as sd
    except OSError as exc:  # the PortAudio library itself is missing
        return SilentPlayer(f"no audio output: PortAudio is not installed ({exc}); install libportaudio2 to listen")
    try:
        sd.check_output_settings()
    except Exception as exc:  # PortAudioError: no device
        return SilentPlayer(f"no audio output device ({exc}); playback is off")
    return SoundDevicePlayer(sd)
