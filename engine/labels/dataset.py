"""``lofi dataset build``: a training-ready folder in the ACE-Step v1 convention plus a 1.5 manifest.

Layout::

    OUT/<slug>-<id>.mp3, <slug>-<id>_prompt.txt, <slug>-<id>_lyrics.txt     training split
    OUT/validation/...                                                        validation split
    OUT/manifest.jsonl                                                        one line per track

ACE-Step's v1 converter silently skips a track missing either text file; we never do: every track
left out is reported with the reason, and unlicensed tracks are refused unless asked for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import atomic_path, atomic_write_text
from engine.catalog.split import split_unassigned
from engine.catalog.stats import catalog_stats
from engine.catalog.store import Catalog
from engine.catalog.track import (
    ACCEPTED,
    FLAG_EXCLUDED,
    FLAG_NEEDS_REVIEW,
    SPLIT_VALIDATION,
    Track,
)
from engine.errors import Cancelled
from engine.labels.labelling import lyrics_text, refresh_files, repair_locations
from engine.labels.prompts import metadata_bpm
from engine.labels.styles import Taxonomy
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.workspace import Workspace


@dataclass
class DatasetReport:
    out: Path
    written: dict[str, int] = field(default_factory=dict)  # split -> tracks
    left_out: dict[str, str] = field(default_factory=dict)  # track id -> reason
    warnings: list[str] = field(default_factory=list)
    per_style: dict[str, int] = field(default_factory=dict)
    underrepresented: list[str] = field(default_factory=list)
    splits_assigned: dict[str, int] = field(default_factory=dict)  # split -> tracks that had none before
    split_note: str | None = None  # says so, when any were assigned

    def notes(self) -> list[tuple[str, str]]:
        """(label, text) lines a person should read, in the order ``lofi dataset build`` prints them: the
        split note, each track left out with the reason, each warning."""
        lines = [("", self.split_note)] if self.split_note else []
        lines += [("left out", f"{tid[:8]}: {reason}") for tid, reason in self.left_out.items()]
        return lines + [("warning", w) for w in self.warnings]

    def result_line(self) -> str:
        return (f"wrote {self.written.get('train', 0)} training and {self.written.get('validation', 0)} "
                f"validation tracks to {self.out}")


def dataset_name(track: Track) -> str:
    """File stem that a person can read and a tool can trace back to the catalog (the id is in it)."""
    slug = re.sub(r"[^a-z0-9]+", "-", track.title.lower()).strip("-")[:40] or "track"
    return f"{slug}-{track.id}"


def _place(src: Path, dst: Path) -> None:
    """Hard-link when possible (no copy of the audio), else copy; atomic either way."""
    with atomic_path(dst, suffix=dst.suffix) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


def build_dataset(ws: Workspace, catalog: Catalog, taxonomy: Taxonomy, out: Path,
                  allow_unlicensed: bool = False, progress: ProgressCallback = no_progress,
                  cancel: CancelToken | None = None) -> DatasetReport:
    """Write the dataset folder; ``progress`` hears about each track placed. A cancel stops between tracks
    and writes no manifest (the tracks placed so far stay; building again redoes them quickly)."""
    out = Path(out).resolve()
    report = DatasetReport(out)
    repair_locations(ws, catalog)
    split = split_unassigned(catalog)
    report.splits_assigned, report.split_note = split.newly_assigned, split.summary()
    chosen: list[Track] = []
    for t in catalog.all():
        if t.status != ACCEPTED or FLAG_EXCLUDED in t.flags:
            continue
        if not t.source.licensed and not allow_unlicensed:
            report.left_out[t.id] = "no license recorded: set one with `lofi source`, or pass --allow-unlicensed"
        elif not t.styles:
            report.left_out[t.id] = "no style: label it with `lofi label --style`"
        elif lyrics_text(t, taxonomy) is None:
            report.left_out[t.id] = "vocal track without lyrics: `lofi label --lyrics FILE` or --instrumental"
        else:
            chosen.append(t)
            if FLAG_NEEDS_REVIEW in t.flags:
                report.warnings.append(f"{t.id} ({t.title}) still needs review; included with style {t.styles[0]}")
            if not t.source.licensed:
                report.warnings.append(f"{t.id} ({t.title}) has no license recorded; included as asked")
    lines = []
    progress(Progress(0, len(chosen), "starting"))
    for i, t in enumerate(chosen):
        if cancel is not None and cancel.cancelled:
            raise Cancelled(f"dataset build cancelled after {i} of {len(chosen)} tracks; {out} has no "
                            "manifest.jsonl yet: build again to finish it")
        refresh_files(ws, t, taxonomy)  # make sure the text files match the catalog
        lyrics = lyrics_text(t, taxonomy)
        assert t.prompt is not None and lyrics is not None  # refresh_files set the prompt; chosen tracks have lyrics
        folder = out / "validation" if t.split == SPLIT_VALIDATION else out
        name = dataset_name(t)
        audio = ws.resolve(t.audio)
        _place(audio, folder / f"{name}.mp3")
        atomic_write_text(folder / f"{name}_prompt.txt", t.prompt + "\n")
        atomic_write_text(folder / f"{name}_lyrics.txt", lyrics + "\n")
        report.written[t.split] = report.written.get(t.split, 0) + 1
        lines.append(json.dumps({
            "name": name,
            "id": t.id,
            "audio": str((folder / f"{name}.mp3").relative_to(out)),
            "caption": t.prompt,
            "lyrics": lyrics,
            "bpm": metadata_bpm(t.prompt, t.bpm),
            "key": t.key,
            "time_signature": t.time_signature,
            "duration": t.duration_sec,
            "language": t.language or ("instrumental" if lyrics.startswith("[Instrumental]") else None),
            "styles": t.styles,
            "split": t.split,
        }, ensure_ascii=False))
        progress(Progress(i + 1, len(chosen), t.title))
    atomic_write_text(out / "manifest.jsonl", "\n".join(lines) + ("\n" if lines else ""))
    stats = catalog_stats(chosen, taxonomy.ids)
    report.per_style, report.underrepresented = stats.by_style, stats.underrepresented
    return report
