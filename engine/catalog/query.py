"""The dashboard's catalog filter language, kept headless so it is tested without a UI.

``"rain status:accepted style:CORE-01 flag:needs_review split:train category:core -flag:duplicate"``:
``key:value`` terms must all match; other words must all appear in the title, id or source file name;
a leading ``-`` negates a term. A term that cannot match anything (an unknown key, a status that does not
exist) is left out and named in ``Query.problems``, so a typo is reported instead of showing no tracks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from engine.catalog.track import ALL_FLAGS, SPLITS, STATUSES, Track
from engine.labels.styles import Taxonomy

KEYS = ("status", "style", "flag", "split", "category", "reason")


@dataclass(frozen=True)
class Query:
    tests: tuple[tuple[Callable[[Track], bool], bool], ...] = ()  # (test, negated)
    problems: tuple[str, ...] = field(default=())

    def matches(self, track: Track) -> bool:
        return all(test(track) != negated for test, negated in self.tests)


def _known_values(taxonomy: Taxonomy | None) -> dict[str, tuple[str, ...] | None]:
    return {"status": STATUSES, "split": SPLITS, "flag": ALL_FLAGS, "reason": None,
            "style": tuple(s.lower() for s in taxonomy.ids) if taxonomy else None,
            "category": tuple(sorted({taxonomy.category(s) for s in taxonomy.ids})) if taxonomy else None}


_TEXT_FIELDS = frozenset({"status", "split", "category", "reason"})


def term_matches(track: Track, key: str, value: str) -> bool:
    """One ``key:value`` term (case-insensitive); the filter box and ``Catalog.select`` both use it."""
    value = value.lower()
    if key == "style":
        return value.upper() in track.styles
    if key == "flag":
        return value in track.flags
    if key not in _TEXT_FIELDS:
        raise ValueError(f"unknown filter key {key!r}")
    return (getattr(track, key) or "").lower() == value  # no per-track dict: this runs 10,000 times per key press


def _has_word(word: str, track: Track) -> bool:
    return word in f"{track.title} {track.id} {track.source_path}".lower()


def parse_query(text: str, taxonomy: Taxonomy | None = None) -> Query:
    """Parse a filter; with ``taxonomy``, style and category values are checked against the presets too."""
    known = _known_values(taxonomy)
    tests: list[tuple[Callable[[Track], bool], bool]] = []
    problems: list[str] = []
    for raw in text.lower().split():
        negated = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negated else raw
        key, sep, value = term.partition(":")
        if not sep:
            tests.append((partial(_has_word, term), negated))
        elif key not in KEYS:
            problems.append(f"{raw}: unknown filter '{key}:' (use {', '.join(k + ':' for k in KEYS)})")
        elif not value:
            problems.append(f"{raw}: give a value after '{key}:'")
        elif (allowed := known[key]) is not None and value not in allowed:
            problems.append(f"{raw}: no {key} '{value}' (known: {', '.join(allowed[:12])}"
                            f"{', ...' if len(allowed) > 12 else ''})")
        else:
            tests.append((partial(term_matches, key=key, value=value), negated))
    return Query(tuple(tests), tuple(problems))


def matches(track: Track, query: str) -> bool:
    return parse_query(query).matches(track)


def filter_tracks(tracks: list[Track], query: str) -> list[Track]:
    parsed = parse_query(query)
    return [t for t in tracks if parsed.matches(t)] if parsed.tests else list(tracks)


ATTENTION_FLAGS = ("needs_review", "duplicate", "missing_license", "tempo_mismatch", "missing_lyrics", "low_quality")


def review_queue(tracks: list[Track]) -> list[Track]:
    """Accepted tracks that need a person: any attention flag, a duplicate, or a low quality score."""
    queue = [t for t in tracks if t.status == "accepted" and "excluded" not in t.flags
             and (any(f in t.flags for f in ATTENTION_FLAGS) or t.duplicate_of)]
    return sorted(queue, key=lambda t: (t.title.lower(), t.id))
