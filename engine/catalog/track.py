"""The track record stored in the catalog, as typed dataclasses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from engine.errors import WorkspaceError

# Status values stored in the catalog. ``skipped`` exists only in ingest results.
ACCEPTED, REJECTED, ERROR = "accepted", "rejected", "error"

# Review flags a track can carry.
FLAG_NEEDS_REVIEW = "needs_review"
FLAG_MISSING_LICENSE = "missing_license"
FLAG_DUPLICATE = "duplicate"
FLAG_LOW_QUALITY = "low_quality"
FLAG_EXCLUDED = "excluded"
FLAG_TEMPO_MISMATCH = "tempo_mismatch"
FLAG_MISSING_LYRICS = "missing_lyrics"
# Flags a person sets or clears; the others follow from the track's data (tempo from bpm and style,
# lyrics from the vocal style, license from the source record) and are recomputed on every save.
USER_FLAGS = (FLAG_NEEDS_REVIEW, FLAG_EXCLUDED, FLAG_DUPLICATE, FLAG_LOW_QUALITY)
DERIVED_FLAGS = {FLAG_TEMPO_MISMATCH: "the bpm and the primary style's tempo range",
                 FLAG_MISSING_LYRICS: "the vocal style and the lyrics",
                 FLAG_MISSING_LICENSE: "the source record's license (lofi source)"}
ALL_FLAGS = (*USER_FLAGS, *DERIVED_FLAGS)
STATUSES = (ACCEPTED, REJECTED, ERROR)
SHORT_FLAGS = {FLAG_NEEDS_REVIEW: "review", FLAG_MISSING_LICENSE: "no-license", FLAG_DUPLICATE: "dup",
               FLAG_LOW_QUALITY: "low-q", FLAG_TEMPO_MISMATCH: "tempo?", FLAG_MISSING_LYRICS: "no-lyrics"}

SPLIT_TRAIN, SPLIT_VALIDATION, SPLIT_NONE = "train", "validation", "none"
SPLITS = (SPLIT_TRAIN, SPLIT_VALIDATION, SPLIT_NONE)


@dataclass
class SourceRecord:
    """Where a track came from and under which license; what a producer needs for a license audit."""

    provider: str | None = None
    license: str | None = None
    cost: float | None = None
    currency: str | None = None
    acquired: str | None = None  # ISO date YYYY-MM-DD
    url: str | None = None
    notes: str | None = None

    @property
    def licensed(self) -> bool:
        return bool(self.license and self.license.strip())


@dataclass
class Rating:
    rating: int
    by: str
    at: str  # ISO timestamp


@dataclass
class TagEdits:
    """A user's per-track tag changes, re-applied every time the prompt is regenerated."""

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)


@dataclass
class Track:
    id: str
    source_path: str
    title: str
    source_format: str
    status: str
    reason: str | None = None
    message: str | None = None
    duration_sec: float | None = None  # of the processed audio (after trimming)
    source_duration_sec: float | None = None
    sample_rate: int | None = None  # of the source
    channels: int | None = None  # of the source
    output: str | None = None  # processed MP3, relative to the workspace
    category: str = "core"
    quality_score: float | None = None
    quality: dict[str, float] = field(default_factory=dict)
    styles: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    split: str = SPLIT_NONE
    fingerprint: str | None = None  # fingerprint file, relative to the workspace
    duplicate_of: str | None = None
    source: SourceRecord = field(default_factory=SourceRecord)
    ingested_at: str | None = None
    trimmed: bool = False
    # Musical conditioning ACE-Step 1.5 takes, estimated from the audio at ingest.
    bpm: float | None = None
    key: str | None = None
    time_signature: str | None = None
    language: str | None = None  # vocal language, e.g. "en", "ja"
    # Labelling: None means "decide from the primary style" (vocal styles need lyrics).
    instrumental: bool | None = None
    lyrics: str | None = None  # normalised lyrics of a vocal track
    tag_edits: TagEdits = field(default_factory=lambda: TagEdits())
    prompt: str | None = None  # the prompt last written to {id}_prompt.txt

    @property
    def primary_style(self) -> str | None:
        return self.styles[0] if self.styles else None

    @property
    def duration_text(self) -> str:
        """``m:ss`` as the CLI and the dashboard show it; ``-`` when unknown."""
        sec = self.duration_sec
        return f"{int(sec // 60)}:{int(sec % 60):02d}" if sec else "-"

    @property
    def audio(self) -> str:
        """The processed MP3, relative to the workspace; only an accepted track has one."""
        if self.output is None:
            raise WorkspaceError(f"track {self.id} has no processed audio (status {self.status})")
        return self.output

    def set_flag(self, flag: str, on: bool = True) -> None:
        if on and flag not in self.flags:
            self.flags.append(flag)
        elif not on and flag in self.flags:
            self.flags.remove(flag)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["source"] = SourceRecord(**(data.get("source") or {}))
        values["ratings"] = [Rating(**r) for r in data.get("ratings") or []]
        values["tag_edits"] = TagEdits(**(data.get("tag_edits") or {}))
        return cls(**values)


def short_flags(track: Track) -> str:
    """The track's flags in the few columns a table row has ("review no-license")."""
    return " ".join(SHORT_FLAGS.get(f, f) for f in track.flags)
