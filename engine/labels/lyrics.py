"""Lyrics in ACE-Step's section format: ``[Verse]``, ``[Chorus]``, ... or exactly ``[Instrumental]``.

Users paste lyrics in many shapes (``Verse 2:``, ``(chorus)``, ``[PRE CHORUS]``); we normalise the
headers we know and refuse the ones we do not, naming the line, rather than pass a tag through
that the model never saw in training.
"""

from __future__ import annotations

import re

from engine.errors import LofiError

INSTRUMENTAL = "[Instrumental]"
SECTIONS = ("Intro", "Verse", "Pre-Chorus", "Chorus", "Post-Chorus", "Hook", "Bridge", "Interlude",
            "Breakdown", "Drop", "Outro")
_CANONICAL = {re.sub(r"[^a-z]", "", s.lower()): s for s in SECTIONS} | {"prechorus": "Pre-Chorus", "refrain": "Chorus"}
_BRACKETED = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*$")  # [Verse]: always a section tag
# (Chorus) or "Verse 2:" are section tags only when they name a known section; "(ooh)" is a lyric.
_SOFT_HEADER = re.compile(r"^\s*(?:\(\s*([^)]*?)\s*\)|([A-Za-z][A-Za-z \-]*?\s*\d*)\s*:)\s*$")


class LyricsError(LofiError):
    """Lyrics text that cannot be turned into ACE-Step sections."""


def _section(name: str) -> str | None:
    key = re.sub(r"[^a-z]", "", re.sub(r"\d+", "", name.lower()))
    return _CANONICAL.get(key)


def normalize_lyrics(text: str, source: str = "lyrics") -> str:
    """Lyrics with canonical section headers; text before any header becomes a ``[Verse]``."""
    if text is None or not text.strip():
        raise LyricsError(f"{source}: lyrics are empty; give the words, or mark the track instrumental")
    if text.strip().lower() in ("[instrumental]", "instrumental"):
        return INSTRUMENTAL
    blocks: list[tuple[str, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        hard, soft = _BRACKETED.match(line), _SOFT_HEADER.match(line)
        soft_name = _section(soft.group(1) or soft.group(2)) if soft else None
        if hard or soft_name:
            name = _section(hard.group(1)) if hard else soft_name
            if name is None:
                raise LyricsError(f"{source} line {number}: unknown section tag {line!r}; "
                                  f"use one of {', '.join('[' + s + ']' for s in SECTIONS)}")
            blocks.append((name, []))
            continue
        if not line:
            continue
        if not blocks:
            blocks.append(("Verse", []))
        blocks[-1][1].append(line)
    kept = [(name, lines) for name, lines in blocks if lines]
    if not kept:
        raise LyricsError(f"{source}: only section tags, no words; give the words, or mark the track instrumental")
    return "\n\n".join(f"[{name}]\n" + "\n".join(lines) for name, lines in kept)
