"""Ingest speed on real-shaped files: `lofi ingest --jobs 2` against a sequential ffmpeg
decode -> resample -> 320 kbps encode loop over the same files, and where ingest's CPU time goes.

The sources are made the way other tools make them (VBR MP3 without a Xing header, Ogg Vorbis,
FLAC, AAC in M4A, 24-bit WAV), not by our own encoder. The loop does none of our work (gate,
analysis, fingerprint, tempo/key, peak normalisation with its decode check), so it is the floor a
bare transcode costs.

Target (issue 10): --jobs 2 at most 0.75x the loop's wall time, at the same encode quality.

    python benchmarks/ingest.py [--files 8] [--seconds 90]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
import soundfile as sf

from engine.audio import synth
from engine.audio.ffmpeg import ffmpeg_exe
from engine.ingest.batch import ingest
from engine.ingest.pipeline import Job, process
from engine.workspace import Workspace

SHAPES = [  # (extension, rate, ffmpeg codec arguments): the files users bring
    ("mp3", 44_100, ("-c:a", "libmp3lame", "-q:a", "2", "-write_xing", "0")),
    ("ogg", 44_100, ("-c:a", "libvorbis", "-q:a", "5")),
    ("flac", 44_100, ("-c:a", "flac",)),
    ("m4a", 44_100, ("-c:a", "aac", "-b:a", "256k")),
    ("wav", 48_000, ("-c:a", "pcm_s24le",)),
]


def make_sources(folder: Path, files: int, seconds: float) -> float:
    folder.mkdir()
    master = folder.parent / "master.wav"
    for i in range(files):
        ext, rate, codec = SHAPES[i % len(SHAPES)]
        sf.write(master, synth.lofi(seconds, sr=rate, seed=100 + i), rate, subtype="PCM_24")
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(master), *codec,
                        str(folder / f"track{i:02d}.{ext}")], check=True)
    return files * seconds


def _cpu_sec() -> float:
    """CPU of this process, its finished children, and every live descendant with what that one has reaped:
    ingest's workers are forked by a fork server, which nobody here waits for, so getrusage alone misses them."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def ffmpeg_loop(sources: list[Path], out: Path) -> tuple[float, float]:
    """(wall s, CPU s)"""
    start, cpu = time.perf_counter(), _cpu_sec()
    for src in sources:
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(src), "-ar", "48000", "-ac", "2",
                        "-c:a", "libmp3lame", "-b:a", "320k", str(out / f"{src.stem}.mp3")], check=True)
    return time.perf_counter() - start, _cpu_sec() - cpu


def lame_alone(sources: list[Path], out: Path) -> float:
    """CPU seconds of the 320 kbps encodes by themselves (from already decoded 48 kHz float WAV): what any
    pipeline that keeps this encode quality must spend, whatever else it does or skips."""
    cpu = 0.0
    for src in sources:
        wav = out / f"{src.stem}.wav"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(src), "-ar", "48000", "-ac", "2",
                        "-c:a", "pcm_f32le", str(wav)], check=True)
        before = _cpu_sec()
        subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", str(wav), "-c:a", "libmp3lame",
                        "-b:a", "320k", str(out / f"{src.stem}.mp3")], check=True)
        cpu += _cpu_sec() - before
    return cpu


def our_ingest(sources_dir: Path, ws_dir: Path, jobs: int) -> tuple[float, float]:
    """(wall s, CPU s)"""
    start, cpu = time.perf_counter(), _cpu_sec()
    report = ingest(Workspace.open(ws_dir), [sources_dir], jobs=jobs)
    elapsed = time.perf_counter() - start
    assert report.summary["accepted"] == report.summary["total"], report.summary
    return elapsed, _cpu_sec() - cpu


def stage_breakdown(sources: list[Path], out: Path) -> tuple[dict[str, float], list[int], list[float]]:
    """CPU seconds per pipeline stage over all files, run one after another in this process; the encode passes
    per file; and each file's CPU seconds."""
    totals: dict[str, float] = defaultdict(float)
    passes, per_file = [], []
    for src in sources:
        done = process(Job(src, src.stem, out / f"{src.stem}.mp3", out / f"{src.stem}.npy"))
        assert done.status == "accepted", done.message
        for stage, sec in done.cpu_sec.items():
            totals[stage] += sec
        passes.append(done.encode_passes)
        per_file.append(sum(done.cpu_sec.values()))
    return dict(totals), passes, per_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=90.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-") as tmp:
        root = Path(tmp)
        src = root / "src"
        audio_sec = make_sources(src, args.files, args.seconds)
        sources = sorted(src.iterdir())
        for name in ("ff", "stages", "lame"):
            (root / name).mkdir()
        (t_ff, cpu_ff), (t_2, cpu_2) = ffmpeg_loop(sources, root / "ff"), our_ingest(src, root / "ws2", jobs=2)
        load = os.getloadavg()[0]
        stages, passes, per_file = stage_breakdown(sources, root / "stages")
        cpu_lame = lame_alone(sources, root / "lame")
    shapes = ", ".join(f"{ext} {' '.join(codec[1:])}" for ext, _, codec in SHAPES)
    print(f"{args.files} files, {audio_sec:.0f} s of audio ({shapes})")
    print(f"{'pipeline':<28}{'wall s':>8}{'audio s / wall s':>18}{'vs ffmpeg':>11}{'CPU s':>8}")
    for name, t, cpu in (("ffmpeg loop (sequential)", t_ff, cpu_ff), ("lofi ingest --jobs 2", t_2, cpu_2)):
        print(f"{name:<28}{t:>8.2f}{audio_sec / t:>18.1f}{t / t_ff:>10.2f}x{cpu:>8.1f}")
    verdict = "meets" if t_2 <= 0.75 * t_ff else "misses"
    print(f"target: --jobs 2 at most 0.75x the ffmpeg loop -> {t_2 / t_ff:.2f}x ({verdict}; load average {load:.1f} "
          f"on {os.cpu_count()} cores; ingest's CPU on two free cores needs at least {cpu_2 / 2 / t_ff:.2f}x)")
    steady = sorted(per_file)[len(per_file) // 2]  # median CPU per file
    loop_file = cpu_ff / len(sources)
    print(f"per file: {steady:.2f} s CPU (median, {args.seconds:g} s of audio) against the loop's {loop_file:.2f} s; "
          f"two workers on two free cores: about {steady / 2 / (t_ff / len(sources)):.2f}x the loop")
    lame_file = cpu_lame / len(sources)
    print(f"floor: the 320 kbps encode alone costs {lame_file:.2f} s CPU per file ({100 * lame_file / loop_file:.0f} % of "
          f"the whole loop's CPU); two jobs doing nothing but that encode would take {lame_file / 2 / (t_ff / len(sources)):.2f}x "
          "the loop's wall time, and decoding, analysis, fingerprint and the decode check come on top")
    total = sum(stages.values())
    print(f"\nCPU per stage, files one after another ({total:.1f} s CPU in all; "
          f"encode passes per file: {', '.join(map(str, passes))}):")
    for stage, sec in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<12}{sec:>7.2f} s{100 * sec / total:>6.0f} %")


if __name__ == "__main__":
    main()
