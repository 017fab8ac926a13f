import json
import shutil

import pytest
import torch

from engine.model.check import TINY_MARKER, BaseModelError, check_base_model, lora_parameters
from engine.model.load import load_pipeline, model_identity
from engine.model.tiny import build_tiny_checkpoint
from engine.training.config import DEFAULT_TARGETS


def test_tiny_checkpoint_loads_through_diffusers_and_makes_stereo_audio(tiny_model):
    from diffusers import AceStepPipeline, AceStepTransformer1DModel, AutoencoderOobleck
    from transformers import PreTrainedTokenizerFast, Qwen3Model

    pipe = AceStepPipeline.from_pretrained(tiny_model, local_files_only=True)
    assert isinstance(pipe.transformer, AceStepTransformer1DModel) and isinstance(pipe.vae, AutoencoderOobleck)
    assert isinstance(pipe.text_encoder, Qwen3Model) and isinstance(pipe.tokenizer, PreTrainedTokenizerFast)
    assert pipe.tokenizer("lofi hip hop, mellow rhodes").input_ids  # the local tokenizer works
    marker = json.loads((tiny_model / TINY_MARKER).read_text())
    assert marker["musical"] is False and "does not make music" in marker["note"]
    size = sum(f.stat().st_size for f in tiny_model.rglob("*") if f.is_file())
    assert size < 5 * 1024**2

    loaded = load_pipeline(tiny_model, "fp32", "cpu")
    audio = loaded(prompt="lofi hip hop, mellow rhodes", lyrics="[Instrumental]", audio_duration=1.0,
                   num_inference_steps=2, guidance_scale=1.0, generator=torch.Generator().manual_seed(0)).audios[0]
    assert audio.shape == (2, 48_000) and torch.isfinite(audio).all()


def test_same_seed_gives_the_same_model_identity(tiny_model, tmp_path):
    again = build_tiny_checkpoint(tmp_path / "again", seed=0)
    other = build_tiny_checkpoint(tmp_path / "other", seed=1)
    assert model_identity(again) == model_identity(tiny_model)
    assert check_base_model(other).tiny
    (other / "transformer" / "config.json").write_text(
        (other / "transformer" / "config.json").read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 3'))
    assert model_identity(other) != model_identity(tiny_model)


def test_summary_counts_parameters_and_lora_size_per_rank(tiny_model):
    summary = check_base_model(tiny_model)
    names = [c.name for c in summary.components]
    assert names == ["vae", "text_encoder", "tokenizer", "transformer", "condition_encoder", "scheduler"]
    transformer = next(c for c in summary.components if c.name == "transformer")
    assert transformer.parameters > 1000 and transformer.dtype == "F32"
    # rank r adds r * (in + out) per targeted linear: q 32->32, k/v 32->16, out 32->32; self + cross attention, 2 layers
    assert lora_parameters(summary, 4, DEFAULT_TARGETS) == 4 * (64 + 48 + 48 + 64) * 2 * 2
    assert lora_parameters(summary, 256, DEFAULT_TARGETS) == 64 * lora_parameters(summary, 4, DEFAULT_TARGETS) > 0


def test_missing_base_model_names_path_and_download_command(tmp_path):
    with pytest.raises(BaseModelError) as err:
        check_base_model(tmp_path / "no-model")
    message = str(err.value)
    assert str(tmp_path / "no-model") in message and "hf download ACE-Step/acestep-v15-xl-turbo-diffusers" in message
    assert "lofi model init-tiny" in message and "model_index.json, vae/" in message


def test_broken_components_are_named(tiny_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"\x01")
    with pytest.raises(BaseModelError, match="vae/diffusion_pytorch_model.safetensors is not a readable safetensors"):
        check_base_model(broken)
    (broken / "transformer" / "diffusion_pytorch_model.safetensors").rename(broken / "transformer" / "model.bin")
    shutil.copy(tiny_model / "vae" / "diffusion_pytorch_model.safetensors", weights)
    with pytest.raises(BaseModelError, match="transformer/ has only .bin \\(pickle\\) weights"):
        check_base_model(broken)
    (broken / "transformer" / "model.bin").unlink()
    with pytest.raises(BaseModelError, match="transformer/ has no \\*.safetensors weights file"):
        check_base_model(broken)
    (broken / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(BaseModelError, match="tokenizer/ has no tokenizer.json"):
        check_base_model(broken)
    (broken / "scheduler" / "scheduler_config.json").write_text("{not json")
    shutil.rmtree(broken / "vae")
    with pytest.raises(BaseModelError, match="missing component directory vae/"):
        check_base_model(broken)
    (broken / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(BaseModelError, match="not an AceStepPipeline"):
        check_base_model(broken)
