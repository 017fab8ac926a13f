"""One full path per non-default variant (the turbo 2B one is what every other test uses): cache, train, resume,
evaluation clips, merge, ONNX export and ONNX generation, on a dataset with a vocal and an instrumental track."""

import json

import numpy as np
import pytest
import torch

from engine.evaluation.clips import SampleJob, column_pipeline, generate_samples
from engine.export.exporter import export_checkpoint
from engine.export.merge import load_merged_pipeline
from engine.inference.bundle import Bundle
from engine.inference.generator import OnnxGenerator
from engine.model.tiny import build_tiny_checkpoint
from engine.model.variants import BASE, TURBO
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.training.loop import Trainer
from engine.training.runs import create_run
from engine.workspace import Workspace
from tests.audio_files import lofi_file

pytestmark = pytest.mark.slow
SECONDS = 31


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """``lofi dataset build`` layout: a vocal track with lyrics and an instrumental, both with bpm and key."""
    folder = tmp_path_factory.mktemp("dataset")
    rows = []
    for name, lyrics, seed in (("sung", "[Verse]\nrain on the window\n[Chorus]\nstay a while", 91),
                               ("plain", "[Instrumental]", 92)):
        lofi_file(folder / f"{name}.wav", SECONDS, seed=seed)
        (folder / f"{name}_prompt.txt").write_text("lofi hip hop, chill, 85 bpm, vinyl crackle\n")
        (folder / f"{name}_lyrics.txt").write_text(lyrics + "\n")
        rows.append({"name": name, "id": name, "bpm": 170, "key": "A minor", "time_signature": "4/4"})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.mark.parametrize("variant,expected", [("base", BASE), ("xl-turbo", TURBO)])
def test_full_path(variant, expected, dataset, tmp_path):
    model = build_tiny_checkpoint(tmp_path / variant, variant=variant)
    ws = Workspace.open(tmp_path / "ws")
    config = TrainConfig(run="v", base_model=str(model), workspace=str(ws.root), dataset=str(dataset), max_steps=2,
                         checkpoint_every=2, warmup_steps=1, crop_sec=2.0, rank=4, alpha=8.0, learning_rate=1e-2,
                         schedule="constant")
    path = create_run(ws, config)
    trainer = Trainer(path)
    assert trainer.run() == "finished"
    started = read_metrics(path / "metrics.jsonl").events[0]
    assert (started["variant"], started["timesteps"], started["cfg_dropout"]) == (
        expected.name, expected.timesteps, expected.cfg_dropout)

    # the vocal track trains whole (its lyrics cover the song), the instrumental one on 2 s crops
    shapes = {}
    for micro in range(4):
        track, (x0, *_rest) = trainer._micro_batch(1, micro, 4)
        shapes[track] = x0.shape[1]
    assert shapes == {"sung": SECONDS * 25, "plain": 50}
    sung = trainer.tensors[[e.item.id for e in trainer.items].index("sung")]
    assert trainer.items[0].item.bpm == 85  # the caption's, not the manifest's raw 170
    assert not torch.equal(sung["encoder_hidden_states"], sung["encoder_hidden_states_no_metadata"])  # bpm vs N/A

    config.max_steps = 3
    config.save(path)
    assert Trainer(path).run() == "finished"
    assert "resumed" in [e["event"] for e in read_metrics(path / "metrics.jsonl").events]

    clip = tmp_path / "clip.wav"
    generate_samples(column_pipeline(path, 3), [SampleJob("CORE-01", "lofi hip hop, 85 bpm", 0, clip)], 1.0,
                     expected.sampler(2))
    assert clip.exists()

    result = export_checkpoint(ws, "v", ["fp32"], checkpoint="3", out=tmp_path / "export")
    manifest = json.loads((result.bundles[0].path / "manifest.json").read_text())
    assert (manifest["variant"], manifest["default_steps"], manifest["guidance"]["default_scale"]) == (
        expected.name, expected.steps, expected.guidance)
    gen = OnnxGenerator(Bundle.open(result.bundles[0].path))
    tagged, plain = (gen.condition("lofi", "[Instrumental]", 5.0, bpm=85, keyscale="A minor"),
                     gen.condition("lofi", "[Instrumental]", 5.0))
    assert tagged.shape != plain.shape or not np.allclose(tagged, plain)  # the metadata reaches the text encoder
    noise = gen.initial_noise(2.0, seed=3)
    ours = gen.generate("lofi hip hop, chill", 2.0, steps=2, latents=noise, bpm=85, keyscale="A minor")
    pipe = load_merged_pipeline(model, tmp_path / "export" / "merged")
    with torch.no_grad():  # same noise through diffusers: the variant's guidance (APG for base) and metadata agree
        theirs = pipe(prompt="lofi hip hop, chill", lyrics="[Instrumental]", audio_duration=2.0, bpm=85,
                      keyscale="A minor", latents=torch.from_numpy(noise), output_type="np",
                      **expected.sampler(2)).audios[0][:, : ours.shape[0]].T
    assert ours.shape == theirs.shape == (96_000, 2)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() < 1e-3
