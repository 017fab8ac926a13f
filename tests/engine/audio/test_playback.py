"""The player model: position, seek, loop and instant switching, checked on the frames it renders.

No audio device and no clock: the test pulls frames as a device would, so every position is exact.
Each test clip encodes its own frame index in its samples, which makes the position of every output
frame readable from the output itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio.io import write_audio
from engine.audio.playback import RATE, SWITCH_FADE_SEC, Player, SilentPlayer
from engine.errors import AudioError

SECONDS = 4.0


def _ramp_clip(path: Path, offset: float, rate: int = RATE, channels: int = 2) -> Path:
    """Sample value = offset + frame / 1e6: which clip and which frame, readable from any output."""
    frames = int(SECONDS * rate)
    ramp = (offset + np.arange(frames) / 1e6).astype(np.float32)
    write_audio(path, np.repeat(ramp[:, None], channels, axis=1), rate)
    return path


@pytest.fixture
def clips(tmp_path) -> tuple[Path, Path]:
    return _ramp_clip(tmp_path / "a.wav", 0.0), _ramp_clip(tmp_path / "b.wav", 0.5)


def _frames_of(block: np.ndarray, offset: float) -> np.ndarray:
    return np.round((block[:, 0] - offset) * 1e6).astype(int)


def test_play_renders_from_the_start_and_position_follows_the_frames_taken(clips):
    player = Player()
    player.play(clips[0])
    assert player.position() == 0.0 and player.playing and player.now_playing == clips[0]
    block = player.render(RATE // 2)
    assert block.shape == (RATE // 2, 2) and block.dtype == np.float32
    assert np.array_equal(_frames_of(block, 0.0), np.arange(RATE // 2))
    assert player.position() == pytest.approx(0.5)


def test_play_from_a_start_with_a_gain(clips):
    player = Player()
    player.play(clips[0], start=1.0, gain_db=-6.0)
    block = player.render(100)
    expected = (np.arange(RATE, RATE + 100) / 1e6).astype(np.float32) * np.float32(10 ** (-6 / 20))
    assert np.allclose(block[:, 1], expected, rtol=1e-6)


def test_seek_moves_the_next_frame(clips):
    player = Player()
    player.play(clips[0])
    player.render(1000)
    player.seek(2.5)
    assert player.position() == 2.5
    assert _frames_of(player.render(10), 0.0)[0] == int(2.5 * RATE)
    player.seek(99)  # past the end: clamped
    assert player.position() == SECONDS


def test_switch_keeps_the_position_and_crossfades_without_a_jump(clips):
    player = Player()
    player.play(clips[0])
    player.render(RATE)  # one second in
    player.switch(clips[1], gain_db=0.0)
    assert player.position() == 1.0 and player.now_playing == clips[1]
    fade = int(SWITCH_FADE_SEC * RATE)
    block = player.render(fade + 200)
    # inside the fade both clips play the same positions, weighted from A to B
    expected_a = (np.arange(RATE, RATE + fade) / 1e6)
    weight = (block[:fade, 0] - expected_a) / 0.5
    assert np.all(np.diff(weight) > 0) and 0 < weight[0] < 0.01 and weight[-1] == pytest.approx(1.0)
    # after it: B alone, continuing exactly where A was
    assert np.array_equal(_frames_of(block[fade:], 0.5), np.arange(RATE + fade, RATE + fade + 200))


def test_switching_while_paused_keeps_the_pause_and_resume_continues_there(clips):
    player = Player()
    player.play(clips[0], start=2.0)
    player.pause()
    assert not np.any(player.render(100)) and player.position() == 2.0
    player.switch(clips[1])
    assert not player.playing
    player.resume()
    assert _frames_of(player.render(5), 0.5)[0] == 2 * RATE


def test_switching_after_the_clip_ended_plays_the_other_from_its_start(clips):
    player = Player()
    player.play(clips[0], start=SECONDS - 0.1)
    player.render(RATE)  # past the end: the clip finished
    assert not player.playing
    player.switch(clips[1])
    assert player.playing and player.position() == 0.0
    assert _frames_of(player.render(5), 0.5)[0] == 0


def test_a_loop_repeats_its_region_and_survives_a_switch(clips):
    player = Player()
    player.play(clips[0])
    player.set_loop(1.0, 1.5)
    assert player.position() == 1.0 and player.loop == (1.0, 1.5)
    block = player.render(RATE)  # two passes over the half-second region
    region = np.arange(RATE, RATE + RATE // 2)
    assert np.array_equal(_frames_of(block, 0.0), np.concatenate([region, region]))
    player.switch(clips[1])
    player.render(int(SWITCH_FADE_SEC * RATE))
    assert player.loop == (1.0, 1.5) and 1.0 <= player.position() < 1.5
    player.seek(3.0)  # outside the region: the next frame is the region's start
    assert _frames_of(player.render(1), 0.5)[0] == RATE
    player.set_loop(None)
    assert player.loop is None
    with pytest.raises(ValueError, match="end after its start"):
        player.set_loop(2.0, 1.0)


def test_a_clip_that_ends_stops_and_resume_starts_it_again(clips):
    player = Player()
    player.play(clips[0], start=SECONDS - 0.25)
    block = player.render(RATE)
    assert np.any(block[: RATE // 4]) and not np.any(block[RATE // 4:])
    assert not player.playing and player.position() == SECONDS
    player.resume()
    assert player.playing and player.position() == 0.0


def test_other_rates_and_mono_play_as_48k_stereo_of_the_same_length(tmp_path):
    mono = tmp_path / "mono.wav"
    write_audio(mono, np.sin(np.linspace(0, 300, int(SECONDS * 44_100)))[:, None] * 0.5, 44_100)
    player = Player()
    player.play(mono)
    assert player.duration == pytest.approx(SECONDS, abs=1e-3)
    block = player.render(1000)
    assert block.shape == (1000, 2) and np.array_equal(block[:, 0], block[:, 1])


def test_stop_forgets_the_clip_and_a_bad_file_raises_an_audio_error(clips, tmp_path):
    player = Player()
    player.play(clips[0], start=1.0)
    player.stop()
    assert player.now_playing is None and player.position() == 0.0 and not np.any(player.render(10))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    with pytest.raises(AudioError, match="bad.wav"):
        player.play(bad)


def test_the_silent_player_keeps_position_and_loops_without_a_device(clips):
    player = SilentPlayer("no audio output device (test)")
    assert not player.available and player.reason.startswith("no audio output")
    player.play(clips[0], start=0.5)
    player.seek(1.25)
    player.switch(clips[1])
    player.set_loop(1.0, 2.0)
    assert player.position() == 1.25 and player.now_playing == clips[1] and player.loop == (1.0, 2.0)
