"""The ONNX-only generator: parity with the PyTorch pipeline, output format, no torch, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from engine.inference.bundle import Bundle
from engine.inference.generator import GenerationError, OnnxGenerator
from engine.model.internals import format_prompt
from lofi_tui.cli import main
from tests.engine.export.exported import imported_modules

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("export")]
ROOT = Path(__file__).resolve().parents[3]
CAPTION = "lofi hip hop, chill, vinyl crackle"
# max |onnx - torch| / max |torch| of the final audio, fp32 bundle, 4 steps with APG guidance
PIPELINE_TOLERANCE = 1e-3


def _pytorch_audio(exported, tiny_model, noise: np.ndarray, duration: float, steps: int) -> np.ndarray:
    """The diffusers pipeline with the export's merged DiT, from the same initial noise."""
    import torch

    from engine.export.merge import load_merged_pipeline

    pipe = load_merged_pipeline(tiny_model, exported.out / "merged")
    with torch.no_grad():
        audio = pipe(prompt=CAPTION, lyrics="[Instrumental]", audio_duration=duration, num_inference_steps=steps,
                     latents=torch.from_numpy(noise), output_type="np").audios
    return audio[0]


def test_onnx_generation_matches_the_pytorch_pipeline_for_the_same_noise(exported, tiny_model):
    gen = OnnxGenerator(Bundle.open(exported.bundle("fp32")))
    duration, steps = 3.0, 4
    noise = gen.initial_noise(duration, seed=5)
    assert gen.scheduler["turbo"] and gen.guidance["default_scale"] == 1.0  # turbo (APG: tests/.../test_variants_e2e)
    ours = gen.generate(CAPTION, duration, steps=steps, lyrics="[Instrumental]", latents=noise)
    theirs = _pytorch_audio(exported, tiny_model, noise, duration, steps)[:, : ours.shape[0]].T
    assert ours.shape == theirs.shape == (int(duration * 48000), 2)
    error = np.abs(ours - theirs).max() / np.abs(theirs).max()
    assert error < PIPELINE_TOLERANCE, error
    other = gen.generate(CAPTION, duration, steps=steps, lyrics="[Instrumental]", latents=gen.initial_noise(3.0, 6))
    assert np.abs(other - theirs).max() / np.abs(theirs).max() > 100 * PIPELINE_TOLERANCE  # the check can fail


@pytest.mark.parametrize("precision", ["fp16", "int4"])
def test_every_precision_makes_finite_stereo_audio_of_the_requested_length(exported, precision):
    gen = OnnxGenerator(Bundle.open(exported.bundle(precision)))
    steps_seen = []
    audio = gen.generate(CAPTION, 2.5, seed=1, steps=3, on_step=lambda i, n: steps_seen.append((i, n)))
    assert audio.shape == (120_000, 2) and audio.dtype == np.float32
    assert np.isfinite(audio).all() and np.abs(audio).max() == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    assert float(np.std(audio)) > 1e-3  # not silent
    assert steps_seen == [(1, 3), (2, 3), (3, 3)]
    again = gen.generate(CAPTION, 2.5, seed=1, steps=3)
    assert np.array_equal(audio, again)  # a seed gives the same track
    with pytest.raises(GenerationError, match="duration must be between 0 and 240 s"):
        gen.generate(CAPTION, 241)


def test_lofi_generate_writes_a_48k_stereo_wav_without_importing_torch(exported, tmp_path):
    """In a fresh interpreter, as a user runs it: `-X importtime` lists every module the command loaded."""
    out = tmp_path / "odd name $(x).wav"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lofi_tui", "generate", "--bundle", str(exported.bundle("int8")),
         "--prompt", CAPTION, "--duration", "4", "--seed", "3", "--steps", "2", "--out", str(out), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = imported_modules(done.stderr)
    assert "onnxruntime" in imported and "tokenizers" in imported
    assert not {"torch", "transformers", "diffusers"} & imported
    doc = json.loads(done.stdout)
    info = sf.info(out)
    assert info.samplerate == 48000 and info.channels == 2 and abs(info.duration - 4.0) < 1e-3
    assert doc["precision"] == "int8" and doc["path"] == str(out)


def test_generate_cli_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--bundle", str(tmp_path), "--prompt", "x", "--out",
                                       str(tmp_path / "x.wav")])
    assert result.exit_code == 1 and "not a finished export bundle" in result.output
    assert not (tmp_path / "x.wav").exists()


def test_compare_precisions_reports_fad_sizes_and_speed(exported, tmp_path):
    bundles = [str(exported.bundle(p)) for p in ("int8", "fp32", "int4")]
    args = ["-w", str(exported.workspace.root), "compare-precisions", "--bundles", *bundles, "--prompts", "2",
            "--duration", "2", "--steps", "2", "--out", str(tmp_path / "clips"), "--json"]
    first = json.loads(CliRunner().invoke(main, args, catch_exceptions=False).output)
    by = {r["precision"]: r for r in first}
    assert by["fp32"]["fad"] is None  # fp32 is the reference wherever it is listed
    for precision in ("int8", "int4"):
        r = by[precision]
        assert r["fad"] is not None and r["fad"] >= 0 and np.isfinite(r["fad"]) and r["embedding"] == "builtin"
        assert r["total_bytes"] < by["fp32"]["total_bytes"] and r["seconds_per_audio_minute"] > 0
        assert r["dim"] == 128 and r["fad_note"].startswith("not reliable (n < 2d)")  # 2 clips of 2 s: few frames
    assert all(r["clips"] == 2 and r["generated"] == 2 for r in first)
    assert len(list((tmp_path / "clips").rglob("*.wav"))) == 6
    second = json.loads(CliRunner().invoke(main, args, catch_exceptions=False).output)
    assert all(r["generated"] == 0 and r["seconds_per_audio_minute"] is None for r in second)  # clips reused
    assert [r["fad"] for r in second] == [r["fad"] for r in first]


def test_bpm_and_key_reach_the_text_encoder_as_the_pipeline_writes_them(exported, tiny_model):
    from engine.inference.prompt import format_text
    from engine.model.load import load_pipeline

    spec = Bundle.open(exported.bundle("int8")).manifest["prompt"]
    pipe = load_pipeline(tiny_model)
    for bpm, key in ((80, "C major"), (None, None), (92, None)):
        expected, _ = format_prompt(pipe, prompt=CAPTION, audio_duration=30.0, bpm=bpm, keyscale=key)
        assert format_text(spec, CAPTION, 30.0, bpm, key) == expected
    gen = OnnxGenerator(Bundle.open(exported.bundle("int8")))
    plain = gen.generate(CAPTION, 2.0, seed=3, steps=2)
    assert not np.allclose(gen.generate(CAPTION, 2.0, seed=3, steps=2, bpm=80, keyscale="C major"), plain, atol=1e-4)
