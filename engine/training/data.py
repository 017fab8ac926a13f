"""Which tracks a run trains on: the workspace's train split, or a dataset folder in the v1 convention."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.catalog.store import Catalog
from engine.catalog.track import ACCEPTED, FLAG_EXCLUDED, SPLIT_TRAIN
from engine.errors import LofiError
from engine.hashing import file_sha256
from engine.labels.labelling import lyrics_text
from engine.labels.prompts import build_prompt, metadata_bpm
from engine.labels.styles import load_styles
from engine.workspace import Workspace


class DatasetError(LofiError):
    """No usable training data, or a dataset folder that breaks the convention."""


@dataclass(frozen=True)
class TrainItem:
    id: str
    audio: str  # absolute path
    prompt: str
    lyrics: str
    bpm: int | None = None
    key: str | None = None
    time_signature: str | None = None
    language: str = "en"
    sha256: str = ""


def workspace_items(ws: Workspace, require_license: bool, warn: Callable[[str], None]) -> list[TrainItem]:
    """Accepted, non-excluded tracks in the training split (unlicensed ones with a warning, or refused)."""
    taxonomy = load_styles()
    items = []
    for t in sorted(Catalog(ws.catalog_path).all(), key=lambda t: t.id):
        if t.status != ACCEPTED or t.split != SPLIT_TRAIN or FLAG_EXCLUDED in t.flags or not t.output:
            continue
        if not t.source.licensed:
            if require_license:
                warn(f"{t.id} ({t.title}) left out: no license recorded (--require-license)")
                continue
            warn(f"{t.id} ({t.title}) has no license recorded; training on it anyway")
        lyrics = lyrics_text(t, taxonomy)
        if lyrics is None:
            warn(f"{t.id} ({t.title}) left out: vocal track without lyrics")
            continue
        audio = ws.resolve(t.output)
        prompt = t.prompt or build_prompt(t, taxonomy)[0]
        items.append(TrainItem(t.id, str(audio), prompt, lyrics, metadata_bpm(prompt, t.bpm), t.key,
                               t.time_signature, t.language or "en", file_sha256(audio)))
    if not items:
        raise DatasetError(f"no training tracks in {ws.root}: ingest audio, then run `lofi split` "
                           "(tracks need status accepted and split train)")
    return items


def folder_items(folder: Path, warn: Callable[[str], None]) -> list[TrainItem]:
    """``name.mp3`` + ``name_prompt.txt`` + ``name_lyrics.txt``; manifest.jsonl adds bpm/key when present."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist")
    meta = {}
    manifest = folder / "manifest.jsonl"
    if manifest.exists():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                meta[row["name"]] = row
    items = []
    for audio in sorted(p for ext in ("*.mp3", "*.wav", "*.flac") for p in folder.glob(ext)):
        name = audio.stem
        prompt_file, lyrics_file = folder / f"{name}_prompt.txt", folder / f"{name}_lyrics.txt"
        missing = [p.name for p in (prompt_file, lyrics_file) if not p.exists()]
        if missing:
            warn(f"{audio.name} left out: missing {', '.join(missing)}")
            continue
        row = meta.get(name, {})
        prompt = prompt_file.read_text(encoding="utf-8").strip()
        items.append(TrainItem(row.get("id", name), str(audio.resolve()), prompt,
                               lyrics_file.read_text(encoding="utf-8").strip(), metadata_bpm(prompt, row.get("bpm")),
                               row.get("key"),
                               row.get("time_signature"), row.get("language") or "en", file_sha256(audio)))
    if not items:
        raise DatasetError(f"dataset folder {folder} holds no usable name.mp3 + name_prompt.txt + name_lyrics.txt")
    return items
