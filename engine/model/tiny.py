"""Tiny ACE-Step 1.5 checkpoints: the real diffusers/transformers classes with toy sizes and random weights.

One per published checkpoint shape (see :data:`TINY_VARIANTS`), saved in exactly the layout of the released
diffusers-format checkpoints (the XL ones with a sharded DiT and its safetensors index), so they load through the
same code path (``AceStepPipeline.from_pretrained``) and let training, sampling, evaluation and export run offline
on a CPU in seconds. They are NOT musical models: every output is noise-like, and ``lofi_model.json`` in the
checkpoint says so.

The latent rate matches the release (48000 / (2*4*8*30) = 25 latent frames per second), so crop lengths, durations
and shapes behave like the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.atomic import atomic_write_json
from engine.model.check import TINY_MARKER
from engine.model.load import Pipeline

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ACOUSTIC_DIM = 4
TEXT_HIDDEN = 32
VOCAB = 512
SHARD_SIZE = "100KB"  # small enough that the tiny XL DiT is split over several files, as a real one is


@dataclass(frozen=True)
class TinyShape:
    """A published checkpoint's shape in miniature, keeping what code can get wrong: XL's DiT is wider than its
    condition encoder (``encoder_hidden_size != hidden_size``) and its attention width (heads x head_dim) is not
    its hidden size; turbo and base/sft differ only in ``is_turbo`` / ``model_version``."""

    mirrors: str  # the published checkpoint whose transformer/config.json this one follows
    hidden: int
    encoder_hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    turbo: bool
    sharded: bool = False
    head_dim: int = 8


# The real transformer/config.json values: 2B (turbo, sft, base): hidden 2048, 24 layers, 16 query / 8 KV heads of
# 128, intermediate 6144, encoder_hidden_size 2048. XL (turbo, base): hidden 2560, 32 layers, 32 / 8 heads of 128,
# intermediate 9728, encoder_hidden_size 2048. Turbo: is_turbo true, model_version "turbo"; base/sft: is_turbo false.
TINY_VARIANTS = {
    "turbo": TinyShape("Runware/acestep-v15-turbo-diffusers (2B turbo)", 32, 32, 2, 4, 2, 64, turbo=True),
    "sft": TinyShape("Runware/acestep-v15-sft-diffusers", 32, 32, 2, 4, 2, 64, turbo=False),
    "base": TinyShape("Runware/acestep-v15-base-diffusers", 32, 32, 2, 4, 2, 64, turbo=False),
    "xl-turbo": TinyShape("ACE-Step/acestep-v15-xl-turbo-diffusers", 48, 32, 3, 8, 2, 96, turbo=True, sharded=True),
    "xl-base": TinyShape("ACE-Step/acestep-v15-xl-base-diffusers", 48, 32, 3, 8, 2, 96, turbo=False, sharded=True),
}


def _tokenizer(corpus: list[str]) -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<|endoftext|>", "<|pad|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|pad|>",
                                   model_max_length=4096)


def _corpus() -> list[str]:
    """Text the tokenizer learns merges from: the style taxonomy and the prompt templates' words."""
    from engine.labels.styles import SHIPPED_STYLES  # not $LOFI_STYLES: the tokenizer must not vary

    text = SHIPPED_STYLES.read_text(encoding="utf-8")
    extra = ("# Instruction\nFill the audio semantic mask based on the given conditions:\n# Caption\n# Metas\n"
             "- bpm: - timesignature: - keyscale: - duration: seconds\n# Languages\nen\n# Lyric\n[Instrumental]"
             "[Verse][Chorus][Bridge][Intro][Outro]")
    return [line for line in (text + "\n" + extra).splitlines() if line.strip()] * 4


def _shape(variant: str) -> TinyShape:
    try:
        return TINY_VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown tiny variant {variant!r}; choose one of {', '.join(TINY_VARIANTS)}") from None


def build_tiny_pipeline(seed: int = 0, variant: str = "turbo") -> Pipeline:
    """An in-memory tiny AceStepPipeline with deterministic random weights, shaped like ``variant``."""
    import torch
    from diffusers import (
        AceStepPipeline,
        AceStepTransformer1DModel,
        AutoencoderOobleck,
        FlowMatchEulerDiscreteScheduler,
    )
    from diffusers.pipelines.ace_step.modeling_ace_step import AceStepConditionEncoder
    from transformers import Qwen3Config, Qwen3Model

    shape = _shape(variant)
    torch.manual_seed(seed)
    tokenizer = _tokenizer(_corpus())
    text_encoder = Qwen3Model(Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=TEXT_HIDDEN, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
    ))
    vae = AutoencoderOobleck(
        encoder_hidden_size=2 * ACOUSTIC_DIM, downsampling_ratios=[2, 4, 8, 30], channel_multiples=[1, 2, 2, 2],
        decoder_channels=8, decoder_input_channels=ACOUSTIC_DIM, audio_channels=2, sampling_rate=48_000,
    )
    transformer = AceStepTransformer1DModel(
        hidden_size=shape.hidden, intermediate_size=shape.intermediate, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads, head_dim=shape.head_dim,
        in_channels=3 * ACOUSTIC_DIM, audio_acoustic_hidden_dim=ACOUSTIC_DIM, patch_size=2, sliding_window=16,
        encoder_hidden_size=shape.encoder_hidden, is_turbo=shape.turbo, model_version="turbo" if shape.turbo else None,
    )
    condition_encoder = AceStepConditionEncoder(
        hidden_size=shape.encoder_hidden, intermediate_size=64, text_hidden_dim=TEXT_HIDDEN,
        timbre_hidden_dim=ACOUSTIC_DIM, num_lyric_encoder_hidden_layers=1, num_timbre_encoder_hidden_layers=1,
        sliding_window=16, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0)
    return AceStepPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
                           condition_encoder=condition_encoder, scheduler=scheduler)


def build_tiny_checkpoint(out_dir: Path, seed: int = 0, variant: str = "turbo") -> Path:
    """Write a tiny checkpoint to ``out_dir`` (diffusers layout, safetensors weights) and return it."""
    out_dir = Path(out_dir)
    shape = _shape(variant)
    pipe = build_tiny_pipeline(seed, variant)
    pipe.save_pretrained(out_dir, safe_serialization=True)
    if shape.sharded:  # the DiT as several shards plus diffusion_pytorch_model.safetensors.index.json
        for old in (out_dir / "transformer").glob("*.safetensors"):
            old.unlink()
        pipe.transformer.save_pretrained(out_dir / "transformer", safe_serialization=True, max_shard_size=SHARD_SIZE)
    atomic_write_json(out_dir / TINY_MARKER, {
        "kind": "tiny",
        "variant": variant,
        "mirrors": shape.mirrors,
        "musical": False,
        "note": "random weights at toy size, for tests and the demo; it does not make music",
        "seed": seed,
    })
    return out_dir
