"""The dashboard's catalog filter language, kept headless so it is tested without a UI.

``"rain status:accepted style:CORE-01 flag:needs_review split:train category:core"``: ``key:value``
terms must all match; other words must all appear in the title, id or source file name.
"""

from __future__ import annotations

from engine.catalog.track import Track

KEYS = ("status", "style", "flag", "split", "category", "reason")


def matches(track: Track, query: str) -> bool:
    for term in query.lower().split():
        key, sep, value = term.partition(":")
        if sep and key in KEYS:
            if key == "status" and track.status != value:
                return False
            if key == "style" and value.upper() not in track.styles:
                return False
            if key == "flag" and value not in track.flags:
                return False
            if key == "split" and track.split != value:
                return False
            if key == "category" and track.category != value:
                return False
            if key == "reason" and (track.reason or "") != value:
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
