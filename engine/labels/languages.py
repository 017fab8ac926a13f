"""Vocal languages ACE-Step 1.5 conditions on: the codes its ``vocal_language`` accepts.

The list is the one ACE-Step 1.5 validates against (``acestep/constants.py``, November 2026): ISO 639-1 codes
plus ``yue`` (Cantonese) and ``unknown``. A code outside it would reach the text encoder as a language the model
never saw in training, so it is refused here, where the CLI and the dashboard both set it.
"""

from __future__ import annotations

from engine.errors import LabelError

VOCAL_LANGUAGES = (
    "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi", "hr", "ht",
    "hu", "id", "is", "it", "ja", "ko", "la", "lt", "ms", "ne", "nl", "no", "pa", "pl", "pt", "ro", "ru", "sa",
    "sk", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh", "unknown",
)
# What people type instead of the code, mapped to it (a person writes "jp" for Japanese).
_COMMON_MISTAKES = {"jp": "ja", "cn": "zh", "kr": "ko", "gr": "el", "dk": "da", "se": "sv", "ua": "uk",
                    "cz": "cs", "il": "he", "ir": "fa", "vn": "vi", "br": "pt", "in": "hi"}


def check_language(value: str) -> str | None:
    """The stored form of a vocal language: a known code in lower case, or None for an empty value (cleared)."""
    code = value.strip().lower()
    if not code:
        return None
    if code in VOCAL_LANGUAGES:
        return code
    hint = f" (did you mean {_COMMON_MISTAKES[code]}?)" if code in _COMMON_MISTAKES else ""
    raise LabelError(f"unknown vocal language {value.strip()!r}{hint}: use a code ACE-Step 1.5 knows: "
                     + ", ".join(VOCAL_LANGUAGES))
