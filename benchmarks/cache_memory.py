"""Peak memory of caching a track's latents through a release-size Oobleck VAE (random weights) on the CPU.

Each case runs in a fresh subprocess that builds the VAE, writes a synthetic stereo track as a 48 kHz WAV, and
encodes it the way the trainer's cache does (:func:`engine.training.cache.encode_latents`: decoded, resampled, VAE
tiling on). It reports the peak RSS above the RSS with the VAE loaded ("extra"). The goal: the long track needs at
most 1.5x the short track's extra memory, because tiling bounds the working set by the tile, not the track.

A last case checks that tiling does not change the latents: a clip just over two tiles long is encoded tiled and
untiled (in one process) and the largest difference is printed next to the tolerance.

    python benchmarks/cache_memory.py                 # the issue's figures: 30 s vs 240 s, 30 s tiles (slow on a CPU)
    python benchmarks/cache_memory.py --quick         # 2 s vs 16 s with 2 s tiles: same code, minutes not an hour

The release VAE costs ~15 s of CPU per second of audio on a busy 2-core machine, so the full run takes over an
hour there; --quick keeps the 8x length ratio with the tile scaled down.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATE = 48_000
# The released VAE's config (ACE-Step/acestep-v15-xl-turbo-diffusers vae/config.json, shared by every 1.5 model).
RELEASE_VAE = dict(encoder_hidden_size=128, downsampling_ratios=[2, 4, 4, 6, 10], channel_multiples=[1, 2, 4, 8, 16],
                   decoder_channels=128, decoder_input_channels=64, audio_channels=2, sampling_rate=RATE)
TOLERANCE = 1e-5  # max |tiled - untiled| relative to the latents' peak


def _vae(tile: float, overlap: float):
    import torch
    from diffusers import AutoencoderOobleck

    torch.manual_seed(0)
    vae = AutoencoderOobleck(**RELEASE_VAE).eval()
    vae.tile_sample_min_length, vae.tile_sample_overlap = int(tile * RATE), int(overlap * RATE)
    return vae


def _track(folder: Path, seconds: float) -> Path:
    from engine.audio import synth
    from engine.audio.io import write_audio

    path = folder / f"track-{seconds:g}s.wav"
    write_audio(path, synth.lofi(seconds, seed=7), synth.SR, fmt="wav")
    return path


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def case(seconds: float, tile: float, overlap: float) -> dict:
    """One caching run in this process (a fresh one per case, so peaks do not mix)."""
    from engine.training.cache import encode_latents, track_audio

    with tempfile.TemporaryDirectory(prefix="lofi-bench-cache-") as tmp:
        path = _track(Path(tmp), seconds)
        vae = _vae(tile, overlap)
        before = _maxrss_mb()
        started = time.perf_counter()
        latents = encode_latents(vae, track_audio(path, RATE), "cpu")
        return {"seconds": seconds, "frames": latents.shape[0], "baseline_mb": round(before, 1),
                "extra_mb": round(_maxrss_mb() - before, 1), "time_s": round(time.perf_counter() - started, 1)}


def agreement(seconds: float, tile: float, overlap: float) -> dict:
    """Tiled against untiled latents of the same clip."""
    import torch

    from engine.training.cache import encode_latents, track_audio

    with tempfile.TemporaryDirectory(prefix="lofi-bench-cache-") as tmp:
        audio = track_audio(_track(Path(tmp), seconds), RATE)
        vae = _vae(tile, overlap)
        tiled = encode_latents(vae, audio, "cpu")
        vae.disable_tiling()
        with torch.no_grad():
            wave = torch.from_numpy(audio.T.copy()).unsqueeze(0)
            untiled = vae.encode(wave).latent_dist.mean[0].transpose(0, 1).float()
        error = float((tiled - untiled).abs().max() / untiled.abs().max())
        return {"seconds": seconds, "max_rel_error": error, "tolerance": TOLERANCE}


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s vs 16 s with 2 s tiles (0.4 s overlap)")
    parser.add_argument("--case", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--agreement", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--tile", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--overlap", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    short, long, tile, overlap = (2.0, 16.0, 2.0, 0.4) if args.quick else (30.0, 240.0, 30.0, 2.0)
    tile, overlap = args.tile or tile, args.overlap or overlap
    if args.case is not None:
        print(json.dumps(case(args.case, tile, overlap)))
        return
    if args.agreement is not None:
        print(json.dumps(agreement(args.agreement, tile, overlap)))
        return
    geometry = ["--tile", str(tile), "--overlap", str(overlap)]
    results = [_child("--case", str(s), *geometry) for s in (short, long)]
    print(f"release-size Oobleck VAE, random weights, CPU, tiles of {tile:g} s with {overlap:g} s overlap each side:")
    for r in results:
        print(f"  {r['seconds']:6.0f} s track: extra peak RSS {r['extra_mb']:8.1f} MB over {r['baseline_mb']:.0f} MB "
              f"with the VAE loaded ({r['frames']} latent frames, {r['time_s']:.0f} s)")
    ratio = results[1]["extra_mb"] / results[0]["extra_mb"]
    print(f"  {long:g} s needs {ratio:.2f}x the extra memory of {short:g} s (goal <= 1.5x)")
    check = _child("--agreement", str(2.2 * tile), *geometry)
    print(f"  tiled vs untiled latents of a {check['seconds']:g} s clip: max error {check['max_rel_error']:.1e} of the "
          f"peak (tolerance {check['tolerance']:g})")


if __name__ == "__main__":
    main()
