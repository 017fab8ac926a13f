"""The dashboard's catalog filter language, kept headless so it is tested without a UI.

``"rain status:accepted style:CORE-01 flag:needs_review split:train category:core"``: ``key:value``
terms must all match; other words must all appear in the title, id or source file name.
"""

from __future__ import annotations

from engine.catalog.track import Track

KEYS = ("status", "style", "flag", "split", "category", "reason")


def term_matches(track: Track, key: str, value: str) -> bool:
    """One ``key:value`` term (case-insensitive); the filter box and ``Catalog.select`` both use it."""
    value = value.lower()
    if key == "style":
        return value.upper() in track.styles
    if key == "flag":
        return value in track.flags
    field = {"status": track.status, "split": track.split, "category": track.category, "reason": track.reason}
    return (field[key] or "").lower() == value


def matches(track: Track, query: str) -> bool:
    for term in query.lower().split():
        key, sep, value = term.partition(":")
        if sep and key in KEYS:
            if not term_matches(track, key, value):
                return False
        elif term not in f"{track.title} {track.id} {track.source_path}".lower():
            return False
    return True


def filter_tracks(tracks: list[Track], query: str) -> list[Track]:
    return [t for t in tracks if matches(t, query)] if query.strip() else list(tracks)


ATTENTION_FLAGS = ("needs_review", "duplicate", "missing_license", "tempo_mismatch", "missing_lyrics", "low_quality")


def review_queue(tracks: list[Track]) -> list[Track]:
    """Accepted tracks that need a person: any attention flag, a duplicate, or a low quality score."""
    queue = [t for t in tracks if t.status == "accepted" and "excluded" not in t.flags
             and (any(f in t.flags for f in ATTENTION_FLAGS) or t.duplicate_of)]
    return sorted(queue, key=lambda t: (t.title.lower(), t.id))
