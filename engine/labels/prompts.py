"""Build a track's ACE-Step prompt from its styles, tempo and tag edits.

Order: genre (base_tags), mood, instruments, tempo, production, atmosphere, vocal_type; tags are
lowercase, de-duplicated and joined by exactly ", " (ACE-Step's converter splits on ", ").

Every genre and vocal-type tag is kept (the required CORE-01 / SEASON-02 tags live there); from
the other fields a few tags are picked per track with a generator seeded by (seed, track id), so
captions vary across a dataset the way real captions do, yet a given track always gets the same
prompt. With several styles the primary style's tags come first.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from engine.catalog.track import Track
from engine.labels.styles import Preset, Taxonomy

SEPARATOR = ", "
PICKS = {"mood": 2, "instruments": 3, "production": 2, "atmosphere": 2}
ORDER = ("base_tags", "mood", "instruments", "tempo", "production", "atmosphere", "vocal_type")


@dataclass(frozen=True)
class Tempo:
    bpm: int | None
    mismatch: bool  # the estimate is outside the preset's range even at half or double time


def fit_tempo(bpm: float | None, preset: Preset) -> Tempo:
    """Pick the octave of an estimated tempo that falls in the preset's range (beat trackers often halve/double)."""
    if bpm is None or bpm <= 0:
        return Tempo(None, False)
    lo, hi = preset.tempo_bpm
    for candidate in (bpm, bpm * 2, bpm / 2):
        if lo <= candidate <= hi:
            return Tempo(round(candidate), False)
    return Tempo(round(bpm), True)


_BPM_TAG = re.compile(r"(?:^|, )(\d{2,3}) bpm(?:,|$)")


def metadata_bpm(caption: str, estimated: float | None) -> int | None:
    """The bpm a track's metadata carries: the caption's own ``N bpm`` tag when it has one (octave-corrected by
    :func:`fit_tempo`, or typed by the user), else the rounded estimate. The text encoder sees both the caption and
    the metadata, so they must never disagree (a raw beat-tracker 170 next to a caption's 85 did)."""
    match = _BPM_TAG.search(caption)
    if match:
        return int(match.group(1))
    return round(estimated) if estimated else None


def preset_prompt(preset: Preset) -> str:
    """A representative prompt for a style on its own (training samples, evaluation generations)."""
    tags = [*preset.base_tags, *preset.mood[:2], *preset.instruments[:3], f"{sum(preset.tempo_bpm) // 2} bpm",
            *preset.production[:2], *preset.atmosphere[:1], *preset.vocal_type]
    return SEPARATOR.join(dict.fromkeys(tags))


def parse_tag_edits(spec: str) -> tuple[list[str], list[str]]:
    """``"+rain sounds,-vinyl crackle"`` -> (added, removed); a bare tag means add."""
    add: list[str] = []
    remove: list[str] = []
    for part in spec.split(","):
        tag = part.strip()
        if not tag:
            continue
        (remove if tag.startswith("-") else add).append(tag.lstrip("+-").strip().lower())
    return [t for t in add if t], [t for t in remove if t]


def _pick(tags: tuple[str, ...], count: int | None, rng: random.Random) -> list[str]:
    if count is None or len(tags) <= count:
        return list(tags)
    chosen = set(rng.sample(range(len(tags)), count))
    return [t for i, t in enumerate(tags) if i in chosen]  # keep the preset's order


def _vocals(tags: list[str], instrumental: bool | None) -> list[str]:
    """The presets' vocal tags, unless the person said otherwise: lyrics are not "instrumental", and back."""
    if instrumental is None:
        return tags
    if instrumental:
        return ["instrumental"]
    return [t for t in tags if t.lower() != "instrumental"] or ["vocals"]


def build_prompt(track: Track, taxonomy: Taxonomy, seed: int = 0) -> tuple[str, Tempo]:
    """The prompt text and the tempo decision (for the ``tempo_mismatch`` flag)."""
    presets = [taxonomy.get(s) for s in track.styles] or [taxonomy.get("CORE-01")]
    digest = hashlib.sha256(f"{seed}:{track.id}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    tempo = fit_tempo(track.bpm, presets[0])
    tags: list[str] = []
    for name in ORDER:
        if name == "tempo":
            bpm = tempo.bpm if tempo.bpm is not None else round(sum(presets[0].tempo_bpm) / 2)
            tags.append(f"{bpm} bpm")
            continue
        picked = [t for preset in presets for t in _pick(preset.tags(name), PICKS.get(name), rng)]
        tags.extend(_vocals(picked, track.instrumental) if name == "vocal_type" else picked)
    removed = set(track.tag_edits.remove)
    final = [t for t in dict.fromkeys(t.lower() for t in tags + track.tag_edits.add) if t not in removed]
    return SEPARATOR.join(final), tempo
