"""The four graphs generation needs, as exportable modules with their inputs and dynamic axes.

Each wrapper gives a diffusers/transformers component a plain-tensor signature. Example inputs use a
batch of 2 (torch.export specialises sizes 0 and 1); parity inputs use other shapes, so the parity
check also proves the dynamic axes work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch.export import Dim

from engine.model.load import Pipeline
from engine.model.variants import condition_width

TEXT_ENCODER, CONDITION_ENCODER, TRANSFORMER, VAE_DECODER = "text_encoder", "condition_encoder", "transformer", \
    "vae_decoder"
# submodules (torch name scopes) that quantization keeps at INT8 or above
PROTECTED_SCOPES = ("lyric_encoder", "timbre_encoder")


class TextEncoder(torch.nn.Module):
    """Caption ids -> the text encoder's last hidden state (the pipeline passes no attention mask), and
    lyric ids -> their rows of the same input embedding table. The table (155M parameters in the
    release) lives in this graph only, instead of once here and once in the condition encoder."""

    def __init__(self, text_encoder: Any) -> None:  # a transformers model
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids: torch.Tensor, lyric_input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.text_encoder(input_ids=input_ids).last_hidden_state
        return hidden, self.text_encoder.get_input_embeddings()(lyric_input_ids)


class ConditionEncoder(torch.nn.Module):
    """Text states + embedded lyrics + timbre latents -> packed cross-attention sequence."""

    def __init__(self, condition_encoder: torch.nn.Module) -> None:
        super().__init__()
        self.condition_encoder = condition_encoder

    def forward(self, text_hidden_states: torch.Tensor, text_attention_mask: torch.Tensor,
                lyric_hidden_states: torch.Tensor, lyric_attention_mask: torch.Tensor,
                refer_audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        order = torch.arange(refer_audio.shape[0], device=refer_audio.device)  # one timbre clip per item
        return cast(tuple[torch.Tensor, torch.Tensor], self.condition_encoder(
            text_hidden_states=text_hidden_states, text_attention_mask=text_attention_mask,
            lyric_hidden_states=lyric_hidden_states, lyric_attention_mask=lyric_attention_mask,
            refer_audio_acoustic_hidden_states_packed=refer_audio, refer_audio_order_mask=order))


class Transformer(torch.nn.Module):
    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, timestep_r: torch.Tensor,
                encoder_hidden_states: torch.Tensor, context_latents: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.transformer(hidden_states=hidden_states, timestep=timestep, timestep_r=timestep_r,
                                encoder_hidden_states=encoder_hidden_states, context_latents=context_latents,
                                return_dict=False)[0])


class VaeDecoder(torch.nn.Module):
    def __init__(self, vae: Any) -> None:  # diffusers AutoencoderOobleck
        super().__init__()
        self.vae = vae

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return cast(torch.Tensor, self.vae.decode(latents).sample)


@contextmanager
def _one_timbre_clip_per_item(timbre_encoder: Any) -> Iterator[None]:
    """The timbre encoder regroups packed clips by a data-dependent count (``.item()``), which
    torch.export cannot trace. With one clip per batch item (what text-to-music passes) the
    regrouping is the identity, written here without the data-dependent size."""
    def unpack(hidden: torch.Tensor, _order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return hidden.unsqueeze(1), torch.ones(hidden.shape[0], 1, dtype=torch.long, device=hidden.device)

    timbre_encoder.unpack_timbre_embeddings = unpack
    try:
        yield
    finally:
        del timbre_encoder.unpack_timbre_embeddings


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@dataclass
class GraphSpec:
    name: str
    module: torch.nn.Module
    input_names: list[str]
    output_names: list[str]
    example: tuple[torch.Tensor, ...]
    dynamic_shapes: dict[str, Any]
    parity_inputs: list[tuple[torch.Tensor, ...]]
    export_context: Callable[[], AbstractContextManager[None]] = field(default=_nothing)


def _ids(g: torch.Generator, vocab: int, *shape: int) -> torch.Tensor:
    return torch.randint(0, vocab, shape, generator=g)


def _mask(lengths: list[int], total: int) -> torch.Tensor:
    return torch.arange(total).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)


def graph_specs(pipe: Pipeline, seed: int = 0) -> list[GraphSpec]:
    """Specs for the pipeline's text encoder, condition encoder, (merged) DiT and VAE decoder."""
    g = torch.Generator().manual_seed(seed)
    text_cfg, dit_cfg = pipe.text_encoder.config, pipe.transformer.config
    vocab, text_dim, hidden = text_cfg.vocab_size, text_cfg.hidden_size, condition_width(dit_cfg)
    acoustic = dit_cfg.audio_acoustic_hidden_dim
    context_dim = dit_cfg.in_channels - acoustic
    timbre_dim = pipe.condition_encoder.config.timbre_hidden_dim
    batch = Dim("batch", min=1, max=1024)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    tokens, lyric_tokens = Dim("tokens", min=1, max=4096), Dim("lyric_tokens", min=1, max=4096)
    text = GraphSpec(TEXT_ENCODER, TextEncoder(pipe.text_encoder), ["input_ids", "lyric_input_ids"],
                     ["hidden_states", "lyric_hidden_states"], (_ids(g, vocab, 2, 17), _ids(g, vocab, 2, 9)),
                     {"input_ids": {0: batch, 1: tokens}, "lyric_input_ids": {0: batch, 1: lyric_tokens}},
                     [(_ids(g, vocab, 1, 40), _ids(g, vocab, 1, 23)), (_ids(g, vocab, 3, 5), _ids(g, vocab, 3, 2))])

    text_len, lyric_len, refer_len = Dim("text_tokens", max=4096), lyric_tokens, Dim("timbre_frames", max=100_000)

    def cond_inputs(b: int, t: int, lyr: int, r: int, text_lengths: list[int],
                    lyric_lengths: list[int]) -> tuple[torch.Tensor, ...]:
        return (randn(b, t, text_dim), _mask(text_lengths, t), randn(b, lyr, text_dim), _mask(lyric_lengths, lyr),
                randn(b, r, timbre_dim))

    condition = GraphSpec(
        CONDITION_ENCODER, ConditionEncoder(pipe.condition_encoder),
        ["text_hidden_states", "text_attention_mask", "lyric_hidden_states", "lyric_attention_mask", "refer_audio"],
        ["encoder_hidden_states", "encoder_attention_mask"],
        cond_inputs(2, 13, 7, 40, [13, 13], [7, 7]),
        {"text_hidden_states": {0: batch, 1: text_len}, "text_attention_mask": {0: batch, 1: text_len},
         "lyric_hidden_states": {0: batch, 1: lyric_len}, "lyric_attention_mask": {0: batch, 1: lyric_len},
         "refer_audio": {0: batch, 1: refer_len}},
        [cond_inputs(1, 30, 11, 75, [30], [11]), cond_inputs(2, 21, 9, 33, [21, 15], [6, 9])],
        lambda: _one_timbre_clip_per_item(pipe.condition_encoder.timbre_encoder))

    half = Dim("half_frames", min=1, max=100_000)
    cond_seq = Dim("condition_tokens", max=16_384)

    def dit_inputs(b: int, frames: int, seq: int) -> tuple[torch.Tensor, ...]:
        t = torch.rand(b, generator=g)
        return (randn(b, frames, acoustic), t, t, randn(b, seq, hidden), randn(b, frames, context_dim))

    transformer = GraphSpec(
        TRANSFORMER, Transformer(pipe.transformer),
        ["hidden_states", "timestep", "timestep_r", "encoder_hidden_states", "context_latents"], ["velocity"],
        dit_inputs(2, 24, 10),
        {"hidden_states": {0: batch, 1: 2 * half}, "timestep": {0: batch}, "timestep_r": {0: batch},
         "encoder_hidden_states": {0: batch, 1: cond_seq}, "context_latents": {0: batch, 1: 2 * half}},
        [dit_inputs(1, 50, 33), dit_inputs(2, 8, 5)])

    latent_frames = Dim("latent_frames", min=1, max=100_000)
    vae = GraphSpec(VAE_DECODER, VaeDecoder(pipe.vae), ["latents"], ["audio"], (randn(2, acoustic, 6),),
                    {"latents": {0: batch, 2: latent_frames}}, [(randn(1, acoustic, 13),)])
    return [text, condition, transformer, vae]
