"""Tiny checkpoints shaped like every published ACE-Step 1.5 variant, and the settings each variant implies."""

import json

import pytest
import torch

from engine.export.facts import prompt_spec
from engine.inference.prompt import format_text
from engine.labels.prompts import metadata_bpm
from engine.model.check import BaseModelError, check_base_model, model_variant
from engine.model.internals import format_prompt
from engine.model.load import load_pipeline
from engine.model.tiny import TINY_VARIANTS, build_tiny_checkpoint, build_tiny_pipeline
from engine.model.variants import BASE, LOGIT_NORMAL, TURBO, TURBO_TABLE, condition_width
from engine.training.objective import draw_timestep, timestep_table


@pytest.fixture(scope="module")
def xl(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("xl") / "xl-turbo", variant="xl-turbo")


def test_xl_checkpoint_is_sharded_with_a_narrower_condition_encoder_and_loads(xl):
    transformer = json.loads((xl / "transformer" / "config.json").read_text())
    assert transformer["encoder_hidden_size"] < transformer["hidden_size"]  # 2048 under 2560 in the release
    assert transformer["num_attention_heads"] * transformer["head_dim"] != transformer["hidden_size"]
    index = json.loads((xl / "transformer" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    summary = check_base_model(xl)
    assert summary.variant == TURBO and summary.parameters("transformer") > 0
    pipe = load_pipeline(xl)
    assert pipe.is_turbo and condition_width(pipe.transformer.config) == pipe.condition_encoder.config.hidden_size
    audio = pipe(prompt="lofi hip hop", lyrics="[Instrumental]", audio_duration=1.0, bpm=80,
                 generator=torch.Generator().manual_seed(0), **TURBO.sampler(2)).audios[0]
    assert audio.shape == (2, 48_000) and torch.isfinite(audio).all()


def test_a_missing_shard_is_named(xl, tmp_path):
    import shutil

    broken = shutil.copytree(xl, tmp_path / "broken")
    shard = sorted((broken / "transformer").glob("*-00002-of-*.safetensors"))[0]
    shard.unlink()
    with pytest.raises(BaseModelError, match=f"{shard.name} is missing"):
        check_base_model(broken)


def test_each_variant_gets_its_own_sampler_and_training_settings(tmp_path):
    assert {v: TINY_VARIANTS[v].turbo for v in TINY_VARIANTS} == {
        "turbo": True, "sft": False, "base": False, "xl-turbo": True, "xl-base": False}
    base = build_tiny_checkpoint(tmp_path / "base", variant="base")
    assert model_variant(base) == BASE and not load_pipeline(base).is_turbo
    assert (TURBO.steps, TURBO.guidance, TURBO.timesteps, TURBO.cfg_dropout) == (8, 1.0, TURBO_TABLE, 0.0)
    assert (BASE.steps, BASE.guidance, BASE.timesteps, BASE.cfg_dropout) == (50, 7.0, LOGIT_NORMAL, 0.15)
    assert BASE.sampler() == {"num_inference_steps": 50, "shift": 3.0, "guidance_scale": 7.0}
    assert TURBO.sampler(4, 3.0)["guidance_scale"] == 3.0
    with pytest.raises(BaseModelError, match="missing transformer/config.json.*hf download ACE-Step/"):
        model_variant(tmp_path / "not-downloaded")  # evaluation, samples and the daemon say what to get


def test_turbo_trains_on_its_eight_timesteps_and_base_on_logit_normal_ones():
    gen = torch.Generator().manual_seed(0)
    table = timestep_table(3.0)
    turbo = torch.cat([draw_timestep(TURBO, TURBO_TABLE, 3.0, gen) for _ in range(400)])
    assert set(turbo.tolist()) == set(table.tolist())  # all 8, nothing else
    assert float(table.min()) == pytest.approx(0.3)  # so the table never trains t < 0.3
    base = torch.cat([draw_timestep(BASE, LOGIT_NORMAL, 3.0, gen) for _ in range(4000)])
    assert len(set(base.tolist())) > 3900 and (base < 0.3).float().mean() > 0.2
    assert float(torch.logit(base).mean()) == pytest.approx(-0.4, abs=0.05)  # sigmoid(N(-0.4, 1))
    assert float(torch.logit(base).std()) == pytest.approx(1.0, abs=0.05)


def test_metadata_bpm_is_the_captions():
    assert metadata_bpm("lofi hip hop, chill, 85 bpm, vinyl crackle", 170.3) == 85  # not the raw beat tracker
    assert metadata_bpm("lofi hip hop, chill, 120 bpm", None) == 120
    assert metadata_bpm("lofi hip hop, chill", 84.6) == 85
    assert metadata_bpm("lofi hip hop", None) is None


def test_bundle_text_template_renders_metadata_as_the_pipeline_does():
    pipe = build_tiny_pipeline()
    spec = prompt_spec(pipe)
    caption = "lofi hip hop, chill, 85 bpm"
    for meta in ({"bpm": 85, "keyscale": "A minor", "timesignature": "4"}, {}):
        expected, _ = format_prompt(pipe, prompt=caption, lyrics="[Instrumental]", audio_duration=30.0, **meta)
        assert format_text(spec, caption, 30.0, meta.get("bpm"), meta.get("keyscale"),
                           meta.get("timesignature")) == expected
    assert "- bpm: N/A" in format_text(spec, caption, 30.0) and "- keyscale: A minor" in format_text(
        spec, caption, 30.0, keyscale="A minor")
