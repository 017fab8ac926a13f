"""Labelling a track: styles, tags, lyrics, flags and ratings, with its files kept in step.

Every change goes through :func:`apply_label`, which the CLI and the dashboard both call. A change
of primary style moves the track's MP3 and text files to the new category directory; the files are
moved and rewritten first and the catalog is saved last, so the catalog is the source of truth:
if a crash interrupts a move, :func:`repair_locations` (run before every labelling command) puts
the files back where the catalog says they are.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import atomic_write_text, fsync_dir
from engine.audio.io import decode
from engine.audio.musical import estimate_musical
from engine.catalog.store import Catalog
from engine.catalog.track import (
    ACCEPTED,
    DERIVED_FLAGS,
    FLAG_MISSING_LYRICS,
    FLAG_TEMPO_MISMATCH,
    USER_FLAGS,
    Rating,
    Track,
)
from engine.errors import LabelError
from engine.labels.categories import CATEGORIES
from engine.labels.languages import check_language
from engine.labels.lyrics import INSTRUMENTAL, normalize_lyrics
from engine.labels.prompts import build_prompt, parse_tag_edits
from engine.labels.styles import Taxonomy
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.workspace import Workspace


def check_flag(flag: str) -> None:
    """Only the flags a person decides can be set or cleared by hand; a typo is refused, not stored."""
    if flag in DERIVED_FLAGS:
        raise LabelError(f"flag {flag} is not set by hand: it follows from {DERIVED_FLAGS[flag]} and is "
                         "recomputed on every save")
    if flag not in USER_FLAGS:
        raise LabelError(f"unknown flag {flag!r}: use one of {', '.join(USER_FLAGS)}")


@dataclass
class LabelChange:
    """What to change on a track; fields left at their defaults are not touched."""

    styles: list[str] | None = None  # primary first
    instrumental: bool | None = None
    lyrics: str | None = None  # raw text; normalised into sections (implies a vocal track)
    language: str | None = None
    flags_on: list[str] = field(default_factory=list)
    flags_off: list[str] = field(default_factory=list)
    rating: int | None = None
    rated_by: str | None = None
    tags: str | None = None  # "+tag,-tag"


@dataclass(frozen=True)
class FileChange:
    track_id: str
    prompt_changed: bool
    lyrics_changed: bool
    moved_to: str | None = None


def prompt_path(ws: Workspace, track: Track) -> Path:
    return ws.resolve(track.audio).with_name(f"{track.id}_prompt.txt")


def lyrics_path(ws: Workspace, track: Track) -> Path:
    return ws.resolve(track.audio).with_name(f"{track.id}_lyrics.txt")


def needs_lyrics(track: Track, taxonomy: Taxonomy) -> bool:
    """A vocal-category track needs words unless the user marked it instrumental."""
    if track.instrumental is not None:
        return not track.instrumental
    return bool(track.styles) and taxonomy.category(track.styles[0]) == "vocal"


def lyrics_text(track: Track, taxonomy: Taxonomy) -> str | None:
    """What belongs in ``{id}_lyrics.txt``; None for a vocal track still missing its lyrics."""
    if not needs_lyrics(track, taxonomy):
        return INSTRUMENTAL
    return track.lyrics or None


def refresh_files(ws: Workspace, track: Track, taxonomy: Taxonomy, seed: int = 0) -> FileChange:
    """Rewrite the track's prompt and lyrics files (atomically, only when their content changes).

    Updates ``track.prompt`` and the ``tempo_mismatch``/``missing_lyrics`` flags in memory; the
    caller saves the track. A vocal track without lyrics gets no lyrics file, never an empty one.
    """
    prompt, tempo = build_prompt(track, taxonomy, seed)
    track.prompt = prompt
    track.set_flag(FLAG_TEMPO_MISMATCH, tempo.mismatch)
    lyrics = lyrics_text(track, taxonomy)
    track.set_flag(FLAG_MISSING_LYRICS, lyrics is None)
    prompt_changed = _write_if_changed(prompt_path(ws, track), prompt + "\n")
    lpath = lyrics_path(ws, track)
    if lyrics is None:
        lyrics_changed = lpath.exists()
        lpath.unlink(missing_ok=True)
    else:
        lyrics_changed = _write_if_changed(lpath, lyrics + "\n")
    return FileChange(track.id, prompt_changed, lyrics_changed)


def _write_if_changed(path: Path, text: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    atomic_write_text(path, text)
    return True


def _move_files(ws: Workspace, track: Track, category: str) -> None:
    """Move the MP3 and its text files into ``tracks/<category>/`` (renames: atomic per file)."""
    old_audio = ws.resolve(track.audio)
    new_dir = ws.category_dir(category)
    new_dir.mkdir(parents=True, exist_ok=True)
    for old in (old_audio, old_audio.with_name(f"{track.id}_prompt.txt"), old_audio.with_name(f"{track.id}_lyrics.txt")):
        if old.exists():
            os.replace(old, new_dir / old.name)
    fsync_dir(new_dir)
    fsync_dir(old_audio.parent)
    track.output = ws.relative(new_dir / old_audio.name)
    track.category = category


def apply_label(ws: Workspace, catalog: Catalog, taxonomy: Taxonomy, ref: str, change: LabelChange) -> Track:
    """Apply ``change`` to one track (id, id prefix, file name or title) and save it; returns the track."""
    with catalog.transaction():
        track = catalog.find(ref)
        if track.status != ACCEPTED:
            raise LabelError(f"track {track.id} ({track.title}) was {track.status} at ingest ({track.reason}); "
                             "only accepted tracks can be labelled")
        _apply(track, change, taxonomy)
        save_labelled(ws, catalog, taxonomy, track)
        return track


def save_labelled(ws: Workspace, catalog: Catalog, taxonomy: Taxonomy, track: Track) -> FileChange:
    """Put a labelled track's files where its primary style says, refresh them, then save the catalog.

    Also how an undo restores an earlier snapshot of a track.
    """
    with catalog.transaction():
        stored = catalog.get(track.id)
        if stored is not None and stored.output:
            track.output = stored.output  # a snapshot may name a directory the files have left since
        category = taxonomy.category(track.styles[0]) if track.styles else "core"
        moved = None
        if ws.resolve(track.audio).parent != ws.category_dir(category):
            _move_files(ws, track, category)
            moved = category
        change = refresh_files(ws, track, taxonomy)
        catalog.put(track)
        return FileChange(track.id, change.prompt_changed, change.lyrics_changed, moved)


def _apply(track: Track, change: LabelChange, taxonomy: Taxonomy) -> None:
    if change.styles is not None:
        if not change.styles:
            raise LabelError("give at least one style")
        track.styles = list(dict.fromkeys(taxonomy.get(s).id for s in change.styles))
    if change.instrumental is not None and change.lyrics is not None:
        raise LabelError("a track is either instrumental or has lyrics, not both")
    if change.instrumental is not None:
        track.instrumental = change.instrumental
        if change.instrumental:
            track.lyrics = None
    if change.lyrics is not None:
        normalised = normalize_lyrics(change.lyrics, f"lyrics for {track.title}")
        track.instrumental = normalised == INSTRUMENTAL
        track.lyrics = None if track.instrumental else normalised
    if change.language is not None:
        track.language = check_language(change.language)
    if change.tags is not None:
        add, remove = parse_tag_edits(change.tags)
        edits = track.tag_edits
        edits.add = [t for t in dict.fromkeys(edits.add + add) if t not in remove]
        edits.remove = [t for t in dict.fromkeys(edits.remove + remove) if t not in add]
    for flag in (*change.flags_on, *change.flags_off):
        check_flag(flag)
    for flag in change.flags_on:
        track.set_flag(flag)
    for flag in change.flags_off:
        track.set_flag(flag, False)
    if change.rating is not None:
        if not 1 <= change.rating <= 5:
            raise LabelError(f"rating must be 1-5, got {change.rating}")
        who = change.rated_by or getpass.getuser()
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        track.ratings.append(Rating(change.rating, who, now))


def regenerate_all(ws: Workspace, catalog: Catalog, taxonomy: Taxonomy, progress: ProgressCallback = no_progress,
                   cancel: CancelToken | None = None) -> list[FileChange]:
    """(Re)write every accepted track's prompt and lyrics files; report what changed."""
    repair_locations(ws, catalog)
    tracks = [t for t in catalog.all() if t.status == ACCEPTED and t.output]
    changes: list[FileChange] = []
    for i, track in enumerate(tracks):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if track.bpm is None:  # tracks ingested before tempo/key estimation existed
            decoded = decode(ws.resolve(track.audio))
            info = estimate_musical(decoded.samples, decoded.sample_rate)
            track.bpm, track.key, track.time_signature = info.bpm, info.key, info.time_signature
        changes.append(save_labelled(ws, catalog, taxonomy, track))
        progress(Progress(i + 1, len(tracks), track.title))
    return changes


def repair_locations(ws: Workspace, catalog: Catalog) -> list[str]:
    """Move files back to the directory the catalog names after an interrupted move."""
    fixed = []
    for track in catalog.all():
        if track.status != ACCEPTED or not track.output or ws.resolve(track.output).exists():
            continue
        want = ws.resolve(track.output).parent
        for category in CATEGORIES:
            stray = ws.category_dir(category) / f"{track.id}.mp3"
            if stray.exists():
                for name in (stray.name, f"{track.id}_prompt.txt", f"{track.id}_lyrics.txt"):
                    if (stray.parent / name).exists():
                        want.mkdir(parents=True, exist_ok=True)
                        os.replace(stray.parent / name, want / name)
                fixed.append(track.id)
                break
    return fixed
