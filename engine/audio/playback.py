"""Audio playback with a position: play, seek, loop a region and switch instantly to another clip at
the same position (A/B/X comparisons), where an audio output exists and where none does.

Everything is one clock-free model in :class:`Player`: the loaded clip, a cursor (in frames), a gain
and an optional loop region. An output device pulls frames from it with :meth:`Player.render`:
PortAudio's callback in :class:`SoundDevicePlayer`. :class:`SilentPlayer` (no device) keeps the same
state, so screens behave the same, but nothing pulls frames: its position moves only when sought.
Tests pull frames themselves, which makes playback deterministic and independent of real time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from engine.audio.io import decode

RATE = 48_000  # every clip is resampled to the output rate once, when it is loaded
CHANNELS = 2
SWITCH_FADE_SEC = 0.01  # a switch cross-fades this long, so it never clicks
CACHE_CLIPS = 8  # decoded clips kept for instant switching back and forth


@dataclass(frozen=True)
class Clip:
    path: Path
    samples: np.ndarray  # float32, (frames, 2) at RATE

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.frames / RATE


def load_clip(path: Path) -> Clip:
    """Decode a file as the output wants it: stereo at :data:`RATE`."""
    from engine.audio.process import resample, to_stereo  # scipy and soxr only when something plays

    decoded = decode(Path(path))
    samples = resample(to_stereo(decoded.samples), decoded.sample_rate, RATE)
    return Clip(Path(path), np.ascontiguousarray(samples, dtype=np.float32))


def _gain(db: float) -> np.float32:
    return np.float32(10.0 ** (db / 20.0))


@dataclass
class _Fade:
    """The clip that was playing before a switch, faded out over the first frames after it."""

    clip: Clip
    gain: np.float32
    left: int


class Player:
    """One clip at a time with a cursor, a gain and a loop region; thread-safe (a device renders from
    its own thread while the UI switches). ``available`` says whether anything will be heard."""

    available = True
    reason: str | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clip: Clip | None = None
        self._gain = _gain(0.0)
        self._cursor = 0
        self._playing = False
        self._loop: tuple[int, int] | None = None
        self._fade: _Fade | None = None
        self._cache: OrderedDict[tuple[str, int, int], Clip] = OrderedDict()
        self._cache_lock = threading.Lock()  # not the render lock: decoding must not stall the device

    # -- state -------------------------------------------------------------------------------------
    @property
    def now_playing(self) -> Path | None:
        return self._clip.path if self._clip is not None else None

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def duration(self) -> float:
        return self._clip.duration if self._clip is not None else 0.0

    @property
    def loop(self) -> tuple[float, float] | None:
        return None if self._loop is None else (self._loop[0] / RATE, self._loop[1] / RATE)

    def position(self) -> float:
        """Seconds into the current clip."""
        return self._cursor / RATE

    # -- control -----------------------------------------------------------------------------------
    def play(self, path: Path, start: float = 0.0, gain_db: float = 0.0) -> None:
        """Play ``path`` from ``start`` seconds; a loop region of the previous clip is dropped."""
        clip = self._load(path)
        with self._lock:
            self._clip, self._gain, self._fade, self._loop = clip, _gain(gain_db), None, None
            self._cursor = self._frame(start)
            self._playing = True
        self._started()

    def switch(self, path: Path, gain_db: float = 0.0) -> None:
        """Replace the clip at the same position (and loop), without a click. Plays from the start if nothing was
        loaded or the last clip had played to its end (a switch is a request to hear the other clip)."""
        clip = self._load(path)
        with self._lock:
            old = self._clip
            ended = old is not None and not self._playing and self._loop is None and self._cursor >= old.frames
            if old is None or ended:
                self._clip, self._gain, self._cursor, self._playing = clip, _gain(gain_db), 0, True
            else:
                if self._playing:
                    self._fade = _Fade(old, self._gain, int(SWITCH_FADE_SEC * RATE))
                self._clip, self._gain = clip, _gain(gain_db)
                self._cursor = min(self._cursor, clip.frames)
                if self._loop is not None:
                    lo, hi = min(self._loop[0], clip.frames), min(self._loop[1], clip.frames)
                    self._loop = (lo, hi) if hi > lo else None
        self._started()

    def pause(self) -> None:
        with self._lock:
            self._playing, self._fade = False, None

    def resume(self) -> None:
        with self._lock:
            if self._clip is None:
                return
            if self._loop is None and self._cursor >= self._clip.frames:
                self._cursor = 0  # resuming a clip that ran out starts it again
            self._playing = True
        self._started()

    def stop(self) -> None:
        with self._lock:
            self._clip, self._playing, self._fade, self._loop, self._cursor = None, False, None, None, 0

    def seek(self, seconds: float) -> None:
        with self._lock:
            self._cursor = self._frame(seconds)
            self._fade = None

    def set_loop(self, start: float | None, end: float | None = None) -> None:
        """Loop ``start``..``end`` seconds, or stop looping with ``set_loop(None)``. Playback outside the
        region jumps to its start."""
        with self._lock:
            if start is None:
                self._loop = None
                return
            lo, hi = self._frame(start), self._frame(self.duration if end is None else end)
            if hi - lo < 1:
                raise ValueError(f"a loop needs its end after its start (got {start:g} s to {end:g} s)")
            self._loop = (lo, hi)
            if not lo <= self._cursor < hi:
                self._cursor = lo

    # -- output ------------------------------------------------------------------------------------
    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames of output (float32, stereo), advancing the position; silence when
        nothing plays. This is what an output device pulls."""
        out = np.zeros((frames, CHANNELS), dtype=np.float32)
        with self._lock:
            clip = self._clip
            if clip is None or not self._playing:
                return out
            if self._loop is not None:
                lo, hi = self._loop
                if not lo <= self._cursor < hi:
                    self._cursor = lo  # sought outside the region
                index = self._cursor + np.arange(frames)
                index = lo + (index - lo) % (hi - lo)
                self._cursor = int(lo + (self._cursor + frames - lo) % (hi - lo))
            else:
                index = self._cursor + np.arange(min(frames, clip.frames - self._cursor))
                self._cursor = min(self._cursor + frames, clip.frames)
                self._playing = self._cursor < clip.frames
            n = index.shape[0]
            out[:n] = clip.samples[index] * self._gain
            if self._fade is not None:
                self._mix_fade(out, index, self._fade)
        return out

    def _mix_fade(self, out: np.ndarray, index: np.ndarray, fade: _Fade) -> None:
        """Cross-fade from the clip before a switch: it keeps playing the same positions, fading out."""
        total = int(SWITCH_FADE_SEC * RATE)
        n = min(fade.left, index.shape[0])
        ramp = ((total - fade.left + np.arange(n) + 1) / total).astype(np.float32)[:, None]
        idx = index[:n]
        old = np.zeros((n, CHANNELS), dtype=np.float32)
        inside = idx < fade.clip.frames
        old[inside] = fade.clip.samples[idx[inside]] * fade.gain
        out[:n] = out[:n] * ramp + old * (1 - ramp)
        fade.left -= n
        if fade.left <= 0:
            self._fade = None

    # -- helpers -----------------------------------------------------------------------------------
    def _frame(self, seconds: float) -> int:
        frames = self._clip.frames if self._clip is not None else 0
        return int(min(max(round(seconds * RATE), 0), frames))

    def _load(self, path: Path) -> Clip:
        """Decoded clips are cached (by path, size and modification time) so switching is instant."""
        stat = os.stat(path)
        key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
        with self._cache_lock:
            clip = self._cache.get(key)
        if clip is None:
            clip = load_clip(Path(path))
        with self._cache_lock:
            self._cache[key] = clip
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_CLIPS:
                self._cache.popitem(last=False)
        return clip

    def _started(self) -> None:
        """Hook for players with a device: playback (re)started."""


class SilentPlayer(Player):
    """No audio output: the same positions, seeks and loops, nothing heard; ``reason`` says why."""

    available = False

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class SoundDevicePlayer(Player):
    """Plays through one PortAudio output stream that pulls :meth:`render` from its callback."""

    def __init__(self, sd: ModuleType) -> None:
        super().__init__()
        self._sd = sd
        self._stream_lock = threading.Lock()
        self.stream: Any = None  # the open sounddevice.OutputStream (untyped), from the first play until stop()

    def _started(self) -> None:
        with self._stream_lock:
            if self.stream is None:
                self.stream = self._sd.OutputStream(samplerate=RATE, channels=CHANNELS, dtype="float32",
                                                    callback=self._callback)
                self.stream.start()

    def _callback(self, outdata: np.ndarray, frames: int, _time: object, _status: object) -> None:
        outdata[:] = self.render(frames)

    def stop(self) -> None:
        super().stop()
        with self._stream_lock:
            if self.stream is not None:
                self.stream.stop()
                self.stream.close()
                self.stream = None


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
