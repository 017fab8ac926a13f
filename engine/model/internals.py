"""The two private library calls lofi-tui relies on, wrapped here so a library upgrade that changes them fails
in one place (tests/engine/model/test_internals.py checks both) rather than deep inside an export or a run.
"""

from __future__ import annotations

from typing import Any


def format_prompt(pipe: Any, **fields: Any) -> tuple[str, str]:
    """The ACE-Step pipeline's own caption and lyrics templates, filled in: ``(text, lyrics)``.

    diffusers has no public formatter: ``encode_prompt`` formats and tokenizes in one step, and the ONNX bundle
    and the prompt checks need the text itself, exactly as the pipeline writes it.
    """
    return pipe._format_prompt(**fields)  # type: ignore[no-any-return]


def reset_accelerate_state() -> None:
    """Forget accelerate's process-wide settings (mixed precision) so a new ``Accelerator`` takes its own.

    A trainer run after another one in the same process (tests, a notebook) would otherwise inherit the first
    run's precision; accelerate offers only this private reset. The distributed state set up by torchrun is kept.
    """
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
