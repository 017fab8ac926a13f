"""Source records (provider, license, cost, acquisition) from CSV/JSON sidecars and per-track edits."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from engine.catalog.store import Catalog
from engine.catalog.track import FLAG_MISSING_LICENSE, SourceRecord, Track
from engine.errors import SourcesError

# Accepted column/key names for each SourceRecord field (first one is canonical).
_ALIASES: dict[str, tuple[str, ...]] = {
    "file": ("file", "filename", "file_name", "name", "path"),
    "provider": ("provider", "store", "vendor"),
    "license": ("license", "license_type", "licence"),
    "cost": ("cost", "price"),
    "currency": ("currency",),
    "acquired": ("acquired", "acquisition_date", "date", "purchased"),
    "url": ("url", "link"),
    "notes": ("notes", "note", "comment"),
}
_LOOKUP = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}


def parse_date(value: str | None, where: str) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise SourcesError(f"{where}: acquisition date {value!r} is not a date in YYYY-MM-DD form") from None


def parse_cost(value: Any, where: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        cost = float(str(value).strip().lstrip("$€£"))
    except ValueError:
        raise SourcesError(f"{where}: cost {value!r} is not a number") from None
    if cost < 0:
        raise SourcesError(f"{where}: cost {value!r} is negative")
    return cost


def make_record(fields: dict[str, Any], where: str) -> SourceRecord:
    """Validate raw fields (already mapped to canonical names) into a SourceRecord."""

    def text(key: str) -> str | None:
        value = fields.get(key)
        return str(value).strip() or None if value is not None else None

    return SourceRecord(
        provider=text("provider"),
        license=text("license"),
        cost=parse_cost(fields.get("cost"), where),
        currency=(text("currency") or "").upper() or None,
        acquired=parse_date(fields.get("acquired"), where),
        url=text("url"),
        notes=text("notes"),
    )


def _canonical(row: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise SourcesError(f"{where}: more values than header columns")
        field = _LOOKUP.get(str(key).strip().lower())
        if field is None:
            known = ", ".join(_ALIASES)
            raise SourcesError(f"{where}: unknown column {key!r}; expected some of: {known}")
        out[field] = value
    return out


def load_sources(path: Path) -> dict[str, SourceRecord]:
    """Read a sidecar; keys are file names (matched case-insensitively against ingested files)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourcesError(f"cannot read sources file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise SourcesError(f"sources file {path} is not UTF-8 text") from None
    rows = _json_rows(path, text) if path.suffix.lower() == ".json" else _csv_rows(path, text)
    records: dict[str, SourceRecord] = {}
    for where, row in rows:
        fields = _canonical(row, where)
        name = str(fields.get("file") or "").strip()
        if not name:
            raise SourcesError(f"{where}: no file name (column 'file')")
        records[Path(name).name.lower()] = make_record(fields, where)
    return records


def _csv_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise SourcesError(f"{path}: empty CSV; the first line must be a header such as file,provider,license,...")
    return [(f"{path.name} line {reader.line_num}", row) for row in reader]


def _json_rows(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourcesError(f"{path.name} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = [{"file": name, **(rec if isinstance(rec, dict) else {})} for name, rec in data.items()]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise SourcesError(f"{path.name}: expected a list of objects or an object keyed by file name")
    return [(f"{path.name} entry {i + 1}", row) for i, row in enumerate(data)]


def edit_source(catalog: Catalog, ref: str, changes: dict[str, Any]) -> Track:
    """Change some fields of one track's source record (None leaves a field alone); returns the track.

    Keeps the ``missing_license`` flag in step with the license field.
    """
    track = catalog.find(ref)
    given = {k: v for k, v in changes.items() if v is not None}
    unknown = set(given) - set(_ALIASES) - {"file"}
    if unknown:
        raise SourcesError(f"unknown source field(s): {', '.join(sorted(unknown))}")
    merged = {**track.source.__dict__, **given}
    record = make_record(merged, f"track {track.id}")

    def change(t: Track) -> None:
        t.source = record
        t.set_flag(FLAG_MISSING_LICENSE, not record.licensed)

    return catalog.update(track.id, change)
