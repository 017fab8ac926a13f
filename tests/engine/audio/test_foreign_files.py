"""Files shaped like the ones users have, made by other tools: each decodes at its real length, and a
copy cut at 60 % is caught wherever the format declares enough to tell (else it decodes shorter)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from engine.audio import synth
from engine.audio.io import decode
from engine.errors import AudioError
from tests import audio_files as af

SECONDS = 4.0
MP3_FRAME_SLACK = 0.06  # a file without gapless info keeps the encoder's delay and padding (<= 2 frames)


@dataclass(frozen=True)
class Shape:
    name: str
    make: Callable[[Path, dict[int, Path]], Path]  # (folder, source WAV per rate) -> file
    rate: int
    slack: float = 0.01  # how far the decoded length may be from the true one
    cut_caught: bool = True  # a 60 % copy is detectable as truncated




SHAPES = [
    Shape("CBR MP3 with Info header", lambda d, s: af.encoded(d / "cbr.mp3", s[44_100], "-c:a", "libmp3lame",
                                                              "-b:a", "192k"), 44_100),
    Shape("CBR MP3 without Xing/Info header", lambda d, s: af.encoded(d / "cbr-bare.mp3", s[44_100], "-c:a",
                                                                      "libmp3lame", "-b:a", "192k", "-write_xing", "0"),
          44_100, MP3_FRAME_SLACK, cut_caught=False),
    Shape("VBR MP3 with Xing header", lambda d, s: af.encoded(d / "vbr.mp3", s[44_100], "-c:a", "libmp3lame",
                                                              "-q:a", "4"), 44_100),
    Shape("VBR MP3 without Xing header", lambda d, s: af.encoded(d / "vbr-bare.mp3", s[44_100], "-c:a", "libmp3lame",
                                                                 "-q:a", "4", "-write_xing", "0"),
          44_100, MP3_FRAME_SLACK, cut_caught=False),
    Shape("MP3 with VBRI header", lambda d, s: af.mp3_with_vbri(d / "vbri.mp3", af.encoded(
        d / "vbri-src.mp3", s[44_100], "-c:a", "libmp3lame", "-b:a", "192k", "-write_xing", "0", "-id3v2_version", "0")),
          44_100, MP3_FRAME_SLACK),
    Shape("MP3 with cover art (ID3v2) and ID3v1, Info header", lambda d, s: af.mp3_with_cover(
        d / "cover.mp3", s[44_100], af.cover_png(d / "cover.png"), "-b:a", "320k"), 44_100),
    Shape("MP3 with cover art (ID3v2) and ID3v1, no header", lambda d, s: af.mp3_with_cover(
        d / "cover-bare.mp3", s[44_100], af.cover_png(d / "cover2.png"), "-b:a", "320k", "-write_xing", "0"),
          44_100, MP3_FRAME_SLACK, cut_caught=False),
    Shape("MP3 at 32 kHz", lambda d, s: af.encoded(d / "32k.mp3", s[32_000], "-c:a", "libmp3lame", "-b:a", "128k"),
          32_000),
    Shape("MP3 at 22.05 kHz (MPEG-2)", lambda d, s: af.encoded(d / "22k.mp3", s[22_050], "-c:a", "libmp3lame",
                                                                "-b:a", "64k"), 22_050),
    Shape("mono MP3", lambda d, s: af.encoded(d / "mono.mp3", s[44_100], "-c:a", "libmp3lame", "-ac", "1",
                                              "-b:a", "96k"), 44_100),
    Shape("OGG Vorbis", lambda d, s: af.encoded(d / "vorbis.ogg", s[44_100], "-c:a", "libvorbis", "-q:a", "3"),
          44_100),
    Shape("Opus in OGG", lambda d, s: af.encoded(d / "opus.ogg", s[48_000], "-c:a", "libopus", "-b:a", "96k"),
          48_000),
    Shape("Opus in .opus", lambda d, s: af.encoded(d / "opus.opus", s[48_000], "-c:a", "libopus", "-b:a", "96k"),
          48_000),
    Shape("FLAC", lambda d, s: af.encoded(d / "plain.flac", s[44_100], "-c:a", "flac"), 44_100),
    Shape("FLAC with total samples unknown", lambda d, s: af.flac_without_total(d / "streamed.flac", s[44_100]),
          44_100),
    Shape("24-bit WAV", lambda d, s: af.pcm_wav(d / "24.wav", _audio(44_100), 44_100, "PCM_24"), 44_100),
    Shape("32-bit float WAV", lambda d, s: af.pcm_wav(d / "f32.wav", _audio(44_100), 44_100, "FLOAT"), 44_100),
    Shape("WAVE_FORMAT_EXTENSIBLE WAV", lambda d, s: af.pcm_wav(d / "ext.wav", _audio(44_100), 44_100, "PCM_24",
                                                                "WAVEX"), 44_100),
    Shape("WAV with a LIST chunk after the data", lambda d, s: af.wav_with_list_after_data(
        d / "list.wav", _audio(44_100), 44_100), 44_100),
    Shape("M4A/AAC with encoder priming", lambda d, s: af.encoded(d / "aac.m4a", s[44_100], "-c:a", "aac",
                                                                  "-b:a", "128k"), 44_100),
    Shape("M4A/AAC, index first (faststart)", lambda d, s: af.encoded(d / "fast.m4a", s[44_100], "-c:a", "aac",
                                                                      "-b:a", "128k", "-movflags", "+faststart"),
          44_100),
]


def _audio(rate: int) -> np.ndarray:
    return synth.lofi(SECONDS, sr=rate, seed=7) * 0.7


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("foreign")
    sources = {rate: af.pcm_wav(folder / f"source-{rate}.wav", _audio(rate), rate)
               for rate in (22_050, 32_000, 44_100, 48_000)}
    return {shape.name: shape.make(folder, sources) for shape in SHAPES}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_file_made_elsewhere_decodes_at_its_real_length(made, shape):
    d = decode(made[shape.name])
    assert d.sample_rate == shape.rate
    assert 0 <= d.duration_sec - SECONDS <= shape.slack or abs(d.duration_sec - SECONDS) <= 0.01
    assert np.abs(d.samples).max() > 0.2  # real audio, not silence padding


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_copy_cut_at_60_percent_is_caught_or_decodes_shorter(made, shape, tmp_path):
    source = made[shape.name]
    truncated = af.cut(source, tmp_path / f"cut{source.suffix}")
    if shape.cut_caught:
        with pytest.raises(AudioError, match="truncated") as err:
            decode(truncated)
        assert err.value.reason == "corrupt" and truncated.name in str(err.value)
    else:
        d = decode(truncated)
        assert 0.4 * SECONDS < d.duration_sec < 0.8 * SECONDS


@pytest.mark.slow
@pytest.mark.parametrize("ext, codec", [("ogg", ("-c:a", "libvorbis", "-q:a", "0")),
                                        ("opus", ("-c:a", "libopus", "-b:a", "24k", "-compression_level", "0"))])
def test_long_ogg_over_three_minutes_decodes_whole_and_a_cut_copy_is_caught(tmp_path, ext, codec):
    path = af.long_tone(tmp_path / f"long.{ext}", 190.0, *codec)
    assert decode(path).duration_sec == pytest.approx(190.0, abs=0.01)
    with pytest.raises(AudioError, match="truncated"):
        decode(af.cut(path, tmp_path / f"cut.{ext}"))
