"""The built-in demo: a folder of synthesized source audio exercising every ingest rule.

It is a toy collection (not music anyone would train on) that shows what a real batch looks like:
good tracks in several formats, a re-encoded duplicate, and files the quality gate must turn away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text
from engine.audio import synth
from engine.audio.io import write_audio

GOOD = [
    ("rainy window.mp3", 7, 78, 48_000),
    ("coffee steam.wav", 11, 84, 44_100),
    ("late bus.flac", 23, 72, 48_000),
    ("paper lanterns.ogg", 31, 88, 48_000),
    ("tape dust.m4a", 42, 80, 44_100),
    ("sunday plants.mp3", 57, 90, 48_000),
]


def write_demo_sources(folder: Path, seconds: float = 36.0) -> list[Path]:
    """Write the demo's source files, and their sidecar beside the folder; returns the audio paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, seed, bpm, rate in GOOD:
        path = folder / name
        write_audio(path, synth.lofi(seconds, sr=rate, seed=seed, bpm=bpm), rate)
        paths.append(path)
    # The first track again: trimmed by 2 s, 3 dB quieter, re-encoded as AAC at 44.1 kHz.
    first = synth.lofi(seconds, seed=GOOD[0][1], bpm=GOOD[0][2])
    paths.append(_write(folder / "rainy window (re-upload).m4a", first[2 * synth.SR :] * 0.7))
    paths.append(_write(folder / "too short sketch.wav", synth.lofi(12, seed=5)))
    paths.append(_write(folder / "crushed master.wav", synth.clipped(seconds, seed=6)))
    quiet = np.concatenate([synth.lofi(seconds / 3, seed=8), synth.silence(2 * seconds / 3)])
    paths.append(_write(folder / "mostly silence.flac", quiet))
    broken = folder / "broken download.mp3"
    broken.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4)
    paths.append(broken)
    atomic_write_text(
        sidecar_path(folder),
        "file,provider,license,cost,currency,acquired,url,notes\n"
        + "".join(
            f"{name},Demo Beats,CC-BY-4.0,2.50,USD,2026-11-01,https://example.invalid/{i},synthesized\n"
            for i, (name, *_rest) in enumerate(GOOD[:4])
        ),
    )
    return paths


def sidecar_path(folder: Path) -> Path:
    """The demo's sources CSV, kept outside the folder so ingest does not see it as a track."""
    return folder.parent / f"{folder.name}.csv"


def _write(path: Path, samples: np.ndarray) -> Path:
    write_audio(path, samples, synth.SR)
    return path
