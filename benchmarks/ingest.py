"""Ingest throughput: audio seconds processed per wall second, for --jobs 1 and 2, next to a plain
ffmpeg loop that only decodes, resamples and encodes the same files (no analysis, no fingerprint).

Target (issue 2): with 2 workers on 2 cores the whole ingest takes at most 0.6x the ffmpeg loop's wall time.

    python benchmarks/ingest.py [--files 8] [--seconds 90]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from engine.audio import synth
from engine.audio.ffmpeg import ffmpeg_exe
from engine.audio.io import write_audio
from engine.ingest import ingest
from engine.workspace import Workspace

FORMATS = [("wav", 44_100), ("mp3", 48_000), ("flac", 44_100), ("m4a", 44_100)]


def make_sources(folder: Path, files: int, seconds: float) -> float:
    total = 0.0
    for i in range(files):
        ext, rate = FORMATS[i % len(FORMATS)]
        write_audio(folder / f"track{i:02d}.{ext}", synth.lofi(seconds, sr=rate, seed=100 + i), rate)
        total += seconds
    return total


def ffmpeg_loop(sources: list[Path], out: Path) -> float:
    start = time.perf_counter()
    for src in sources:
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(src), "-ar", "48000", "-ac", "2",
                        "-c:a", "libmp3lame", "-b:a", "320k", str(out / f"{src.stem}.mp3")], check=True)
    return time.perf_counter() - start


def our_ingest(sources_dir: Path, ws_dir: Path, jobs: int) -> float:
    start = time.perf_counter()
    report = ingest(Workspace.open(ws_dir), [sources_dir], jobs=jobs)
    elapsed = time.perf_counter() - start
    assert report.summary["accepted"] == report.summary["total"], report.summary
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-") as tmp:
        root = Path(tmp)
        src = root / "src"
        src.mkdir()
        audio_sec = make_sources(src, args.files, args.seconds)
        sources = sorted(src.iterdir())
        (root / "ff").mkdir()
        t_ff = ffmpeg_loop(sources, root / "ff")
        t_1 = our_ingest(src, root / "ws1", jobs=1)
        t_2 = our_ingest(src, root / "ws2", jobs=2)
    print(f"{args.files} files, {audio_sec:.0f} s of audio ({', '.join(f for f, _ in FORMATS)} sources)")
    print(f"{'pipeline':<28}{'wall s':>8}{'audio s / wall s':>18}{'vs ffmpeg':>11}")
    for name, t in (("ffmpeg loop (sequential)", t_ff), ("lofi ingest --jobs 1", t_1), ("lofi ingest --jobs 2", t_2)):
        print(f"{name:<28}{t:>8.2f}{audio_sec / t:>18.1f}{t / t_ff:>10.2f}x")
    verdict = "meets" if t_2 <= 0.6 * t_ff else "misses"
    print(f"target: --jobs 2 at most 0.60x the ffmpeg loop -> {t_2 / t_ff:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
