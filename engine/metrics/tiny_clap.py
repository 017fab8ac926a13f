"""A tiny random ``ClapModel`` + ``ClapProcessor`` in transformers format, built locally.

Same classes as LAION's checkpoints at toy size, so tests and the demo exercise the real
clap code path offline. Its embeddings are random projections: NOT a meaningful CLAP. Weights are
drawn 5x wider than transformers' default so that different texts embed differently (a default
random text tower maps every text to nearly the same vector and fails the load-time self-check),
and its window is 2 s so that FAD frames overlap at the 1 s hop as they do with LAION's 10 s.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_clap(out_dir: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        RobertaTokenizerFast,
    )
    from transformers.utils import logging as transformers_logging

    from engine.model.tiny import _corpus

    transformers_logging.disable_progress_bar()
    torch.manual_seed(seed)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(_corpus(), trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = RobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                     unk_token="<unk>", mask_token="<mask>", model_max_length=64)
    config = ClapConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=80, pad_token_id=tokenizer.pad_token_id,
                         projection_dim=8, initializer_factor=5.0),
        audio_config=dict(window_size=4, num_mel_bins=16, spec_size=64, patch_size=2, patch_stride=(2, 2),
                          depths=[1, 1], num_attention_heads=[2, 2], hidden_size=32, patch_embeds_hidden_size=16,
                          projection_dim=8, enable_fusion=False, num_classes=8),
        projection_dim=8,
        initializer_factor=5.0,
    )
    features = ClapFeatureExtractor(feature_size=16, sampling_rate=48_000, hop_length=480, max_length_s=2,
                                    fft_window_size=1024, truncation="rand_trunc", padding="repeatpad")
    out_dir = Path(out_dir)
    ClapModel(config).save_pretrained(out_dir)
    ClapProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(out_dir)
    return out_dir
