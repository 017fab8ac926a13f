"""The private library calls in engine/model/internals.py still exist and still do what lofi-tui relies on.

If one of these fails after a diffusers or accelerate upgrade, the library changed an internal: adapt
engine/model/internals.py (and only it).
"""

from __future__ import annotations

import inspect

import pytest

from engine.model.internals import format_prompt, reset_accelerate_state
from engine.model.tiny import build_tiny_pipeline


def test_the_pipeline_formatter_takes_the_fields_the_bundle_and_prompts_pass():
    pipe = build_tiny_pipeline()
    params = inspect.signature(type(pipe)._format_prompt).parameters
    assert {"prompt", "lyrics", "vocal_language", "audio_duration", "bpm", "keyscale", "timesignature"} <= set(params)
    text, lyrics = format_prompt(pipe, prompt="dusty rhodes, rain", lyrics="[Instrumental]", vocal_language="en",
                                 audio_duration=30.0, bpm=82, keyscale="A minor", timesignature="4")
    assert "dusty rhodes, rain" in text and "82" in text and "A minor" in text and "30 seconds" in text
    assert lyrics.startswith("# Languages\nen") and "[Instrumental]" in lyrics


def test_resetting_accelerate_lets_the_next_accelerator_choose_its_precision():
    accelerate = pytest.importorskip("accelerate")
    from accelerate.state import AcceleratorState

    reset_accelerate_state()
    accelerate.Accelerator(mixed_precision="bf16", cpu=True)
    assert AcceleratorState().mixed_precision == "bf16"
    reset_accelerate_state()
    accelerate.Accelerator(mixed_precision="no", cpu=True)  # without the reset accelerate refuses the change
    assert AcceleratorState().mixed_precision == "no"
    reset_accelerate_state()
