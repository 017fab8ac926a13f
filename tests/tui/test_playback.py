"""The player abstraction against real PortAudio: ALSA's null device, and a machine with no output.

PortAudio reads the ALSA configuration once, when sounddevice is imported, so each case runs in a
fresh interpreter with ALSA_CONFIG_PATH pointing at a configuration this test writes.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.audio import synth
from tests.audio_files import write

PROBE = """
import json, sys
from pathlib import Path
from engine.audio.playback import open_player

player = open_player()
out = {"kind": type(player).__name__, "available": player.available, "reason": player.reason}
if player.available:
    player.play(Path(sys.argv[1]))
    stream = player.stream  # ALSA's null device drains without pacing, so "active" would be a race
    out["stream"] = [stream.samplerate, stream.channels, stream.dtype]
    out["now_playing"] = str(player.now_playing)
    player.stop()
    out["closed_after_stop"] = player.stream is None and stream.closed
    try:
        player.play(Path(sys.argv[2]))
    except Exception as exc:
        out["bad_file"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""

HAS_PORTAUDIO = ctypes.util.find_library("portaudio") is not None


def _probe(tmp_path: Path, alsa_config: str) -> dict:
    config = tmp_path / "asound.conf"
    config.write_text(alsa_config)
    song = tmp_path / "song.mp3"
    write(song, synth.lofi(3, seed=1))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"this is not audio")
    env = {**os.environ, "ALSA_CONFIG_PATH": str(config)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(song), str(bad)], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not HAS_PORTAUDIO, reason="PortAudio (libportaudio2) is not installed; the null-device "
                                              "playback test needs it (apt-get install libportaudio2)")
def test_plays_through_portaudio_to_the_alsa_null_device(tmp_path):
    out = _probe(tmp_path, "pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    assert out["kind"] == "SoundDevicePlayer" and out["available"]
    assert out["stream"] == [synth.SR, 2, "float32"] and out["now_playing"].endswith("song.mp3")
    assert out["closed_after_stop"] is True
    assert out["bad_file"].startswith("AudioError") and "bad.mp3" in out["bad_file"]


def test_without_an_audio_output_the_player_says_so_and_does_not_raise(tmp_path):
    """No PortAudio library, or PortAudio with no usable device: either way a silent player and one reason."""
    out = _probe(tmp_path, "pcm.!default { type hw card 99 }\n")
    assert out["kind"] == "SilentPlayer" and out["available"] is False
    assert out["reason"].startswith("no audio output")
    if not HAS_PORTAUDIO:
        assert "libportaudio2" in out["reason"]
