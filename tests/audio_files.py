"""Write synthesized audio to disk: with the project's own encoders, or shaped like files made elsewhere.

The "foreign" helpers call the wheel's ffmpeg and libsndfile directly, the way other tools write
files (no Xing header, cover art, streamed FLAC, WAVE_FORMAT_EXTENSIBLE...), so intake is tested on
what users bring rather than on what our own encoder happens to produce.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.audio import synth
from engine.audio.ffmpeg import ffmpeg_exe
from engine.audio.io import write_audio


def write(path: Path, samples: np.ndarray, sample_rate: int = synth.SR) -> Path:
    path = Path(path)
    write_audio(path, samples, sample_rate)
    return path


def lofi_file(path: Path, seconds: float = 35.0, seed: int = 0, sample_rate: int = synth.SR) -> Path:
    """A synthesized lofi track that passes the quality gate."""
    return write(path, synth.lofi(seconds, sr=sample_rate, seed=seed), sample_rate)


# -- files made by other tools -----------------------------------------------------------------------


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def pcm_wav(path: Path, samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> Path:
    """A WAV straight from libsndfile (``fmt="WAVEX"`` writes WAVE_FORMAT_EXTENSIBLE)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, sample_rate, subtype=subtype, format=fmt)
    return path


def wav_with_list_after_data(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """libsndfile writes tags set after the audio as a LIST chunk behind the data chunk."""
    with sf.SoundFile(path, "w", sample_rate, samples.shape[1], "PCM_16", format="WAV") as fh:
        fh.write(samples)
        fh.title, fh.artist = "Written after the audio", "Some tagger"
    return path


def encoded(path: Path, source: Path, *codec: str | Path) -> Path:
    """``source`` re-encoded by ffmpeg with ``codec`` arguments (e.g. ``-c:a libmp3lame -write_xing 0``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-i", source, *codec, path)
    return path


def cover_png(path: Path, size: int = 140) -> Path:
    """A noise picture, which compresses badly: a large ID3v2 APIC frame like real cover art."""
    ffmpeg("-f", "lavfi", "-i", f"nullsrc=s={size}x{size},geq=random(1)*255:random(2)*255:random(3)*255",
           "-frames:v", "1", path)
    return path


def mp3_with_cover(path: Path, source: Path, cover: Path, *codec: str) -> Path:
    """MP3 with an ID3v2.3 tag holding ``cover`` as front cover art, and an ID3v1 tag at the end."""
    return encoded(path, source, "-i", cover, "-map", "0:a", "-map", "1:v", "-c:v", "copy", "-c:a", "libmp3lame",
                   *codec, "-id3v2_version", "3", "-write_id3v1", "1", "-metadata", "title=Cover test",
                   "-metadata:s:v", "comment=Cover (front)")


def mp3_with_vbri(path: Path, headerless_cbr: Path) -> Path:
    """A Fraunhofer-style VBRI header frame in front of a CBR stream with no Xing header and no ID3v2 tag.

    ffmpeg cannot write VBRI, so we build the frame: the stream's own frame header (padding bit
    cleared), silence, and at byte 36 the VBRI fields (version, delay, quality, bytes, frames, an
    empty seek table). The frame count comes from ffmpeg's decode of the stream, not from our parser.
    """
    data = headerless_cbr.read_bytes()
    audio = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(headerless_cbr), "-f", "f32le", "-ac", "1", "-"],
                           capture_output=True, check=True).stdout
    samples_per_frame = 1152
    frames = len(audio) // 4 // samples_per_frame
    header = int.from_bytes(data[:4], "big") & ~(1 << 9)
    bitrate_k = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)[((header >> 12) & 15) - 1]
    rate = (44100, 48000, 32000)[(header >> 10) & 3]
    frame = bytearray(144 * bitrate_k * 1000 // rate)
    frame[:4] = header.to_bytes(4, "big")
    frame[36:62] = b"VBRI" + struct.pack(">HHHIIHHHH", 1, 576, 75, len(data) + len(frame), frames, 0, 1, 2, 1)
    path.write_bytes(bytes(frame) + data)
    return path


def flac_without_total(path: Path, source: Path) -> Path:
    """FLAC encoded to a pipe: STREAMINFO's total samples stays 0 ("unknown"), as streaming encoders leave it."""
    flac = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(source), "-c:a", "flac", "-f", "flac", "pipe:1"],
                          capture_output=True, check=True).stdout
    path.write_bytes(flac)
    return path


def long_tone(path: Path, seconds: float, *codec: str) -> Path:
    """A long, cheap-to-encode file: a mono 22.05 kHz tone from ffmpeg's own generator."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=22050:duration={seconds}", *codec, path)
    return path


def cut(path: Path, out: Path, keep: float = 0.6) -> Path:
    """The first ``keep`` of the file's bytes: a download or copy that stopped part-way."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out
