"""Turn a caption and lyrics into token ids exactly as the PyTorch pipeline does.

The templates come from the bundle's manifest (written at export time from the pipeline itself), so
a bundle carries the text format its model was trained with.
"""

from __future__ import annotations

import numpy as np

CAPTION, LYRICS, LANGUAGE, DURATION = "{caption}", "{lyrics}", "{language}", "{duration}"


def format_text(spec: dict, caption: str, duration: float) -> str:
    return spec["text_template"].replace(DURATION, str(int(duration))).replace(CAPTION, caption)


def format_lyrics(spec: dict, lyrics: str, language: str = "en") -> str:
    return spec["lyrics_template"].replace(LANGUAGE, language).replace(LYRICS, lyrics)


def token_ids(tokenizer, text: str, max_tokens: int) -> np.ndarray:
    """[1, n] int64, truncated to ``max_tokens`` like the pipeline's tokenizer call."""
    ids = tokenizer.encode(text).ids[:max_tokens]
    return np.asarray([ids], dtype=np.int64)
