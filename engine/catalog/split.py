"""Train/validation holdout: stratified by primary style, deterministic, and stable.

Stable means a track's split, once assigned, never changes: new tracks fill each style's
validation quota (round(ratio * tracks in that style)) in the order of a seeded hash of their ids.
Re-running with the same seed and tracks assigns the same splits; adding tracks later never moves
an existing one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from engine.catalog.store import Catalog
from engine.catalog.track import (
    ACCEPTED,
    FLAG_EXCLUDED,
    SPLIT_NONE,
    SPLIT_TRAIN,
    SPLIT_VALIDATION,
    Track,
)
from engine.errors import LofiError

DEFAULT_RATIO = 0.1
DEFAULT_SEED = 0
MAX_RATIO = 0.9  # a holdout larger than this leaves too little to train on


class SplitError(LofiError):
    """A validation share outside what a split can use."""


@dataclass
class SplitReport:
    assigned: dict[str, str] = field(default_factory=dict)  # track id -> split, newly assigned only
    per_style: dict[str, dict[str, int]] = field(default_factory=dict)  # style -> {train, validation}

    @property
    def totals(self) -> dict[str, int]:
        out = {SPLIT_TRAIN: 0, SPLIT_VALIDATION: 0}
        for counts in self.per_style.values():
            for k in out:
                out[k] += counts[k]
        return out

    @property
    def newly_assigned(self) -> dict[str, int]:
        """How many tracks this run put in each split."""
        values = list(self.assigned.values())
        return {SPLIT_TRAIN: values.count(SPLIT_TRAIN), SPLIT_VALIDATION: values.count(SPLIT_VALIDATION)}

    def result_line(self) -> str:
        """What ``lofi split`` prints and the dashboard shows after a split."""
        totals = self.totals
        return (f"assigned {len(self.assigned)} tracks; now {totals[SPLIT_TRAIN]} train, "
                f"{totals[SPLIT_VALIDATION]} validation")

    def summary(self) -> str | None:
        """One line for the person who started training or a dataset build; None when nothing changed."""
        if not self.assigned:
            return None
        new = self.newly_assigned
        return (f"{len(self.assigned)} accepted tracks had no split: assigned {new[SPLIT_TRAIN]} to train and "
                f"{new[SPLIT_VALIDATION]} to validation (the rule of `lofi split`; existing splits never move)")


def _rank(track_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{track_id}".encode()).hexdigest()


def eligible(track: Track) -> bool:
    return track.status == ACCEPTED and FLAG_EXCLUDED not in track.flags


def check_ratio(ratio: float) -> float:
    """The validation share if a split can use it; otherwise a message with the range and the default."""
    if not 0.0 <= ratio <= MAX_RATIO:
        raise SplitError(f"validation share {ratio:g} is out of range: give a value from 0 to {MAX_RATIO:g} "
                         f"(the default {DEFAULT_RATIO:g} holds out one track in ten)")
    return ratio


def assign_splits(catalog: Catalog, ratio: float = DEFAULT_RATIO, seed: int = DEFAULT_SEED) -> SplitReport:
    """Give every eligible track without a split one; see the module docstring for the rules."""
    check_ratio(ratio)
    report = SplitReport()
    with catalog.transaction():
        strata: dict[str, list[Track]] = defaultdict(list)
        for t in catalog.all():
            if eligible(t):
                strata[t.primary_style or "none"].append(t)
        changed: list[Track] = []
        for style, tracks in sorted(strata.items()):
            have_val = sum(t.split == SPLIT_VALIDATION for t in tracks)
            need = max(0, round(ratio * len(tracks)) - have_val)
            new = sorted((t for t in tracks if t.split == SPLIT_NONE), key=lambda t: _rank(t.id, seed))
            for i, t in enumerate(new):
                t.split = SPLIT_VALIDATION if i < need else SPLIT_TRAIN
                report.assigned[t.id] = t.split
                changed.append(t)
            report.per_style[style] = {
                SPLIT_TRAIN: sum(t.split == SPLIT_TRAIN for t in tracks),
                SPLIT_VALIDATION: sum(t.split == SPLIT_VALIDATION for t in tracks),
            }
        catalog.put_many(changed)
    return report


def split_unassigned(catalog: Catalog) -> SplitReport:
    """`lofi split` with its defaults, run where tracks are chosen by split (training on the workspace,
    ``lofi dataset build``) so that a fresh import is never silently left out for having no split."""
    return assign_splits(catalog, DEFAULT_RATIO, DEFAULT_SEED)
