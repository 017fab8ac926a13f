"""Catalog statistics: counts per status, category and style, and which styles are underrepresented."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine.catalog.track import ACCEPTED, FLAG_EXCLUDED, SPLIT_VALIDATION, Track

UNDERREPRESENTED_FRACTION = 0.5


@dataclass(frozen=True)
class CatalogStats:
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    by_style: dict[str, int]  # accepted tracks, by primary style
    by_flag: dict[str, int]
    mean_per_style: float
    underrepresented: list[str]  # styles below half the mean per-style count
    total_duration_sec: float
    unlicensed_training: list[str]  # ids of tracks a workspace run would train on without a license


def trains_unlicensed(track: Track) -> bool:
    """A track that training on the workspace would use although it has no license recorded: accepted, not
    excluded, not held out for validation (a track without a split gets one when training starts; most go to
    train). The trainer only warns about these in ``train.log``; this is how the CLI and dashboard say it first."""
    return (track.status == ACCEPTED and FLAG_EXCLUDED not in track.flags and track.split != SPLIT_VALIDATION
            and not track.source.licensed)


def unlicensed_note(tracks: list[Track]) -> str | None:
    """One line naming the tracks :func:`trains_unlicensed` finds, for ``lofi stats`` and the dashboard."""
    found = [t for t in tracks if trains_unlicensed(t)]
    if not found:
        return None
    names = ", ".join(t.title for t in found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
    return (f"{len(found)} track(s) headed for training have no license recorded ({names}): record one "
            "(`lofi source`, or e on the dashboard's Catalog) or leave them out with `lofi train --require-license`")


def catalog_stats(tracks: list[Track], all_styles: list[str] | None = None) -> CatalogStats:
    """``all_styles`` (the taxonomy) lets styles with no tracks at all count as underrepresented."""
    accepted = [t for t in tracks if t.status == ACCEPTED]
    by_style = Counter(t.primary_style for t in accepted if t.primary_style)
    for style in all_styles or []:
        by_style.setdefault(style, 0)
    mean = sum(by_style.values()) / len(by_style) if by_style else 0.0
    under = sorted(s for s, n in by_style.items() if n < UNDERREPRESENTED_FRACTION * mean)
    return CatalogStats(
        total=len(tracks),
        by_status=dict(Counter(t.status for t in tracks)),
        by_category=dict(Counter(t.category for t in accepted)),
        by_style=dict(sorted(by_style.items())),
        by_flag=dict(Counter(f for t in tracks for f in t.flags)),
        mean_per_style=round(mean, 2),
        underrepresented=under,
        total_duration_sec=round(sum(t.duration_sec or 0.0 for t in accepted), 1),
        unlicensed_training=[t.id for t in tracks if trains_unlicensed(t)],
    )
