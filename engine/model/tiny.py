"""A tiny ACE-Step 1.5 checkpoint: the real diffusers/transformers classes with toy sizes and random weights.

It is saved in exactly the layout of the released diffusers-format checkpoints, so it loads
through the same code path (``AceStepPipeline.from_pretrained``) and lets training, sampling,
evaluation and export run offline on a CPU in seconds. It is NOT a musical model: every output
it makes is noise-like, and ``lofi_model.json`` in the checkpoint says so.

The latent rate matches the release (48000 / (2*4*8*30) = 25 latent frames per second), so crop
lengths, durations and shapes behave like the real thing.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.atomic import atomic_write_json
from engine.model.check import TINY_MARKER

ACOUSTIC_DIM = 4
HIDDEN = 32
TEXT_HIDDEN = 32
VOCAB = 512


def _tokenizer(corpus: list[str]):
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


def build_tiny_pipeline(seed: int = 0):
    """An in-memory tiny AceStepPipeline with deterministic random weights."""
    from diffusers import (
        AceStepPipeline,
        AceStepTransformer1DModel,
        AutoencoderOobleck,
        FlowMatchEulerDiscreteScheduler,
    )
    from diffusers.pipelines.ace_step.modeling_ace_step import AceStepConditionEncoder
    from transformers import Qwen3Config, Qwen3Model

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
    heads = {"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8}
    transformer = AceStepTransformer1DModel(
        hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2, in_channels=3 * ACOUSTIC_DIM,
        audio_acoustic_hidden_dim=ACOUSTIC_DIM, patch_size=2, sliding_window=16, model_version="tiny", **heads,
    )
    condition_encoder = AceStepConditionEncoder(
        hidden_size=HIDDEN, intermediate_size=64, text_hidden_dim=TEXT_HIDDEN, timbre_hidden_dim=ACOUSTIC_DIM,
        num_lyric_encoder_hidden_layers=1, num_timbre_encoder_hidden_layers=1, sliding_window=16, **heads,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0)
    return AceStepPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
                           condition_encoder=condition_encoder, scheduler=scheduler)


def build_tiny_checkpoint(out_dir: Path, seed: int = 0) -> Path:
    """Write a tiny checkpoint to ``out_dir`` (diffusers layout, safetensors weights) and return it."""
    out_dir = Path(out_dir)
    pipe = build_tiny_pipeline(seed)
    pipe.save_pretrained(out_dir, safe_serialization=True)
    atomic_write_json(out_dir / TINY_MARKER, {
        "kind": "tiny",
        "musical": False,
        "note": "random weights at toy size, for tests and the demo; it does not make music",
        "seed": seed,
    })
    return out_dir
