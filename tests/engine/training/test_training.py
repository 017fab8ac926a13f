import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.model.check import BaseModelError
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.training.loop import Trainer
from engine.training.runs import create_run, request_stop, run_info
from tests.engine.training.hooked_worker import ProbeHooks

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _config(ws, model, name, **kw):
    base = dict(run=name, base_model=str(model), workspace=str(ws.root), max_steps=8, checkpoint_every=2,
                warmup_steps=1, crop_sec=2.0, learning_rate=2e-3, schedule="constant", rank=4, keep_last=10)
    base.update(kw)
    return TrainConfig(**base)


def _losses(run_dir):
    return read_metrics(run_dir / "metrics.jsonl").losses()


def _events(run_dir):
    return [e["event"] for e in read_metrics(run_dir / "metrics.jsonl").events]


def test_loss_falls_when_overfitting(train_workspace, tiny_model):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "overfit", max_steps=40,
                                               checkpoint_every=40, cfg_dropout=0.0, learning_rate=5e-3, rank=8))
    assert Trainer(path).run() == "finished"
    losses = _losses(path)
    assert len(losses) == 40
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8
    used = json.loads((path / "tracks.json").read_text())
    assert len(used) == 2 and all(len(t["sha256"]) == 64 for t in used)
    assert _events(path)[0] == "started" and _events(path)[-1] == "finished"


def test_checkpoint_loads_through_diffusers_with_the_trained_rslora_scaling(train_workspace, tiny_model):
    from diffusers import AceStepPipeline

    path = create_run(train_workspace, _config(train_workspace, tiny_model, "roundtrip", max_steps=6, rank=16,
                                               alpha=32.0, learning_rate=1e-2))
    trainer = Trainer(path)
    trainer.run()
    step_dir = ckpt.checkpoint_dir(path, 6)
    pipe = AceStepPipeline.from_pretrained(tiny_model)
    torch.manual_seed(0)
    inputs = dict(hidden_states=torch.randn(1, 50, 4), timestep=torch.tensor([0.5]), timestep_r=torch.tensor([0.5]),
                  encoder_hidden_states=torch.randn(1, 7, 32), context_latents=torch.randn(1, 50, 8), return_dict=False)
    with torch.no_grad():
        before = pipe.transformer(**inputs)[0]
        pipe.load_lora_weights(step_dir, weight_name=ckpt.LORA_FILE)
        after = pipe.transformer(**inputs)[0]
        trained = trainer.accelerator.unwrap_model(trainer.transformer)(**inputs)[0]
    config = pipe.transformer.peft_config[next(iter(pipe.transformer.peft_config))]
    assert (config.r, config.lora_alpha, config.use_rslora) == (16, 32.0, True)
    assert not torch.allclose(before, after, atol=1e-5)
    torch.testing.assert_close(after, trained, atol=1e-5, rtol=1e-4)


def test_kill_9_then_resume_gives_the_uninterrupted_losses(train_workspace, tiny_model, hooked_worker):
    reference = create_run(train_workspace, _config(train_workspace, tiny_model, "straight"))
    Trainer(reference).run()
    expected = _losses(reference)

    path = create_run(train_workspace, _config(train_workspace, tiny_model, "killed"))
    proc = subprocess.Popen([*hooked_worker("--step-sleep", "0.4"), str(path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ckpt.checkpoint_dir(path, 4).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_info(path).status == "interrupted" and max(read_metrics(path / "metrics.jsonl").steps) < 8
    assert Trainer(path).run() == "finished"
    assert _losses(path) == expected  # bit for bit on a CPU
    assert "resumed" in _events(path)


def test_nan_loss_rolls_back_and_lowers_the_learning_rate(train_workspace, tiny_model):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "nan"))
    assert Trainer(path, hooks=ProbeHooks(nan_at={5})).run() == "finished"
    events = read_metrics(path / "metrics.jsonl").events
    names = [e["event"] for e in events]
    assert names.index("divergence") < names.index("rollback") < names.index("finished")
    rollback = next(e for e in events if e["event"] == "rollback")
    assert rollback["to_step"] == 4 and rollback["lr_factor"] == 0.5
    assert "loss is nan" in next(e for e in events if e["event"] == "divergence")["reason"]
    assert all(v == v for v in _losses(path))  # no NaN recorded as a step


def test_loss_spike_stops_a_run_once_its_rollbacks_are_spent(train_workspace, tiny_model):
    from engine.training.loop import TrainingError

    # spike_factor 0.01: the first step after the running-average warm-up counts as a spike
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "spike", max_steps=8, checkpoint_every=2,
                                               spike_factor=0.01, spike_warmup=3, max_rollbacks=0))
    with pytest.raises(TrainingError, match="training diverged .*over 0.01x its running average.*lower --lr"):
        Trainer(path).run()
    events = read_metrics(path / "metrics.jsonl").events
    assert [e["event"] for e in events][-2:] == ["divergence", "stopped"] and events[-1]["step"] == 4
    assert run_info(path).status == "diverged" and run_info(path).checkpoints[-1] == 2


def test_corrupt_checkpoint_is_skipped_with_a_warning(train_workspace, tiny_model):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "corrupt", max_steps=4))
    Trainer(path).run()
    lora = ckpt.checkpoint_dir(path, 4) / ckpt.LORA_FILE
    lora.write_bytes(lora.read_bytes()[:100])
    warnings = []
    assert ckpt.list_checkpoints(path, warnings.append) == [0, 2]
    assert "step-4" in warnings[0] and "skipping" in warnings[0]
    config = TrainConfig.load(path)
    config.max_steps = 6
    config.save(path)
    assert Trainer(path).run() == "finished"
    resumed = next(e for e in read_metrics(path / "metrics.jsonl").events if e["event"] == "resumed")
    assert resumed["from_step"] == 2


def test_missing_base_model_fails_fast_naming_path_and_remedy(train_workspace, tmp_path):
    path = create_run(train_workspace, _config(train_workspace, tmp_path / "no-model", "nomodel"))
    with pytest.raises(BaseModelError) as err:
        Trainer(path).run()
    message = str(err.value)
    assert str(tmp_path / "no-model") in message and "hf download ACE-Step/acestep-v15-xl-turbo-diffusers" in message
    assert not (path / "checkpoints").exists()


def test_graceful_stop_checkpoints_and_exits(train_workspace, tiny_model, hooked_worker):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "graceful", max_steps=50,
                                               checkpoint_every=100))
    proc = subprocess.Popen([*hooked_worker("--step-sleep", "0.3"), str(path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(read_metrics(path / "metrics.jsonl").steps) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    (path / "train.pid").write_text(str(proc.pid))
    assert request_stop(path)
    assert proc.wait(timeout=60) == 0
    info = run_info(path)
    assert info.status == "stopped" and info.checkpoints[-1] == info.step and 2 <= info.step < 50
    assert "stopped" in proc.stderr.read()


def test_retention_keeps_the_last_k_and_the_best(train_workspace, tiny_model):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "retain", max_steps=4,
                                               checkpoint_every=1, keep_last=2))
    Trainer(path).run()
    assert ckpt.list_checkpoints(path) == [3, 4]
    (path / "eval").mkdir()
    (path / "eval" / "best.json").write_text('{"step": 3}')
    config = TrainConfig.load(path)
    config.max_steps = 6
    config.save(path)
    Trainer(path).run()
    assert ckpt.list_checkpoints(path) == [3, 5, 6]


def test_samples_and_training_from_a_dataset_folder(train_workspace, tiny_model, tmp_path):
    import soundfile as sf

    from engine.catalog.store import Catalog
    from engine.labels.dataset import build_dataset
    from engine.labels.styles import load_styles

    build_dataset(train_workspace, Catalog(train_workspace.catalog_path), load_styles(), tmp_path / "ds",
                  allow_unlicensed=True)
    config = _config(train_workspace, tiny_model, "from-folder", max_steps=2, dataset=str(tmp_path / "ds"),
                     sample_every=2, sample_duration=1.0, sample_steps=2)
    path = create_run(train_workspace, config)
    assert Trainer(path).run() == "finished"
    assert {t["id"] for t in json.loads((path / "tracks.json").read_text())} == {
        t.id for t in Catalog(train_workspace.catalog_path).all()}
    folder = path / "samples" / "step-2"
    prompts = json.loads((folder / "prompts.json").read_text())
    assert [p["style"] for p in prompts] == ["CORE-01", "SEASON-01", "THEME-01", "INST-01", "VOCAL-01"]
    for p in prompts:
        audio, rate = sf.read(folder / p["file"])
        assert rate == 48_000 and audio.shape == (48_000, 2)


def test_out_of_memory_message_names_remedies_and_what_is_on():
    from engine.training.loop import _oom_message

    message = _oom_message(TrainConfig(run="r", base_model="m", gradient_checkpointing=True, rank=128))
    assert "lower --rank (now 128)" in message and "--crop-sec" in message and "bf16" in message
    assert "already on: gradient checkpointing" in message


def test_bf16_with_gradient_checkpointing_and_accumulation_trains(train_workspace, tiny_model):
    path = create_run(train_workspace, _config(train_workspace, tiny_model, "bf16", max_steps=3, precision="bf16",
                                               gradient_checkpointing=True, grad_accum=2, batch_size=2))
    assert Trainer(path).run() == "finished"
    losses = _losses(path)
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert TrainConfig.load(path).precision == "bf16"
