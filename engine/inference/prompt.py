"""Turn a caption and lyrics into token ids exactly as the PyTorch pipeline does.

The templates come from the bundle's manifest (written at export time from the pipeline itself), so
a bundle carries the text format its model was trained with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import LofiError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

CAPTION, LYRICS, LANGUAGE, DURATION = "{caption}", "{lyrics}", "{language}", "{duration}"
BPM, KEYSCALE, TIMESIGNATURE = "{bpm}", "{keyscale}", "{timesignature}"
NOT_GIVEN = "N/A"  # what the pipeline writes for metadata it was not given


def format_text(spec: dict[str, Any], caption: str, duration: float, bpm: int | None = None, keyscale: str | None = None,
                timesignature: str | None = None) -> str:
    """The caption in the model's text template; metadata rendered as ``AceStepPipeline._build_metadata_string``
    does (absent or blank: "N/A"). Bundles exported before the metadata placeholders simply carry "N/A"."""
    template: str = spec["text_template"]
    if (bpm or keyscale or timesignature) and BPM not in template:
        raise LofiError("this bundle was exported before bpm and key were part of its prompt template; export it "
                        "again (`lofi export`) to condition on them")
    return (template.replace(DURATION, str(int(duration)))
            .replace(BPM, str(bpm) if bpm is not None and bpm > 0 else NOT_GIVEN)
            .replace(KEYSCALE, keyscale if keyscale and keyscale.strip() else NOT_GIVEN)
            .replace(TIMESIGNATURE, timesignature if timesignature and timesignature.strip() else NOT_GIVEN)
            .replace(CAPTION, caption))


def format_lyrics(spec: dict[str, Any], lyrics: str, language: str = "en") -> str:
    template: str = spec["lyrics_template"]
    return template.replace(LANGUAGE, language).replace(LYRICS, lyrics)


def token_ids(tokenizer: Tokenizer, text: str, max_tokens: int) -> np.ndarray:
    """[1, n] int64, truncated to ``max_tokens`` like the pipeline's tokenizer call."""
    ids = tokenizer.encode(text).ids[:max_tokens]
    return np.asarray([ids], dtype=np.int64)
