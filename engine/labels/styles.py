"""The style taxonomy (``styles.toml``): loading, validation and ``extends`` resolution.

Validation fails on the first problem with the preset and line at fault, because a user who adds a
preset by hand needs to know exactly where the mistake is.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from engine import settings
from engine.errors import LofiError
from engine.labels.categories import CATEGORIES

# Shipped inside the package (a link to the repository-root styles.toml, copied into wheels).
SHIPPED_STYLES = Path(__file__).with_name("styles.toml")
TAG_FIELDS = ("base_tags", "mood", "instruments", "production", "atmosphere", "vocal_type")
REQUIRED = ("id", "name", "category", "description", *TAG_FIELDS, "tempo_bpm")
ALLOWED = frozenset(REQUIRED) | {"extends"}
MIN_BPM, MAX_BPM = 30, 300


class StyleError(LofiError):
    """styles.toml is malformed or a style id is unknown."""


@dataclass(frozen=True)
class Preset:
    id: str
    name: str
    category: str
    description: str
    tempo_bpm: tuple[int, int]
    base_tags: tuple[str, ...]
    mood: tuple[str, ...]
    instruments: tuple[str, ...]
    production: tuple[str, ...]
    atmosphere: tuple[str, ...]
    vocal_type: tuple[str, ...]
    extends: str | None = None

    def tags(self, name: str) -> tuple[str, ...]:
        return cast(tuple[str, ...], getattr(self, name))

    @property
    def instrumental(self) -> bool:
        return "instrumental" in self.vocal_type


@dataclass(frozen=True)
class Taxonomy:
    """Presets with ``extends`` already resolved (own tags first, then the parent's)."""

    presets: dict[str, Preset]
    path: Path | None = None
    order: tuple[str, ...] = field(default=())

    @property
    def ids(self) -> list[str]:
        return list(self.order or self.presets)

    def get(self, style_id: str) -> Preset:
        try:
            return self.presets[style_id.upper()]
        except KeyError:
            raise StyleError(f"unknown style {style_id!r}; see `lofi styles` or {self.path or 'styles.toml'}") from None

    def category(self, style_id: str) -> str:
        return self.get(style_id).category

    def by_category(self) -> dict[str, list[Preset]]:
        out: dict[str, list[Preset]] = {c: [] for c in CATEGORIES}
        for sid in self.ids:
            out[self.presets[sid].category].append(self.presets[sid])
        return out


def default_styles_path() -> Path:
    """``$LOFI_STYLES`` if set, else the ``styles.toml`` shipped at the repository root."""
    return settings.current().styles or SHIPPED_STYLES


def load_styles(path: Path | None = None) -> Taxonomy:
    path = Path(path) if path else default_styles_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StyleError(f"cannot read style taxonomy {path}: {exc.strerror}; set $LOFI_STYLES or restore it") from exc
    return parse_styles(text, path)


def parse_styles(text: str, path: Path | None = None) -> Taxonomy:
    where = str(path or "styles.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StyleError(f"{where}: TOML syntax error: {exc}") from None
    raw = data.get("preset")
    if not isinstance(raw, list) or not raw:
        raise StyleError(f"{where}: no [[preset]] tables found")
    extra = set(data) - {"preset"}
    if extra:
        raise StyleError(f"{where}: unexpected top-level key(s) {', '.join(sorted(extra))}; only [[preset]] tables")
    lines = _id_lines(text)
    presets: dict[str, Preset] = {}
    for i, entry in enumerate(raw):
        preset = _parse_preset(entry, i, where, lines)
        if preset.id in presets:
            seen = lines.get(preset.id, [])
            at = f" (lines {', '.join(map(str, seen))})" if len(seen) > 1 else ""
            raise StyleError(f"{where}: duplicate preset id {preset.id}{at}")
        presets[preset.id] = preset
    resolved = {sid: _resolve(sid, presets, where, lines) for sid in presets}
    return Taxonomy(resolved, path, tuple(presets))


def _id_lines(text: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        m = re.match(r'\s*id\s*=\s*"([^"]*)"', line)
        if m:
            found.setdefault(m.group(1).upper(), []).append(n)
    return found


def _label(entry: dict[str, Any], index: int, lines: dict[str, list[int]]) -> str:
    sid = str(entry.get("id", "")).upper()
    line = lines.get(sid, [None])[0]
    return f"preset {sid or '#' + str(index + 1)}" + (f" (line {line})" if line else "")


def _parse_preset(entry: object, index: int, where: str, lines: dict[str, list[int]]) -> Preset:
    if not isinstance(entry, dict):
        raise StyleError(f"{where}: preset #{index + 1} is not a table")
    label = f"{where}: {_label(entry, index, lines)}"
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise StyleError(f"{label}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - ALLOWED)
    if unknown:
        raise StyleError(f"{label}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ALLOWED))}")
    sid = str(entry["id"]).strip().upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9]*-\d{2,}", sid):
        raise StyleError(f"{label}: id must look like CORE-01 (letters, a dash, two or more digits)")
    category = str(entry["category"]).strip().lower()
    if category not in CATEGORIES:
        raise StyleError(f"{label}: unknown category {entry['category']!r}; use one of {', '.join(CATEGORIES)}")
    tags = {}
    for name in TAG_FIELDS:
        value = entry[name]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise StyleError(f"{label}: {name} must be a list of strings")
        cleaned = tuple(t.strip().lower() for t in value if t.strip())
        if not cleaned:
            raise StyleError(f"{label}: {name} is empty; give at least one tag")
        bad = [t for t in cleaned if "," in t]
        if bad:
            raise StyleError(f"{label}: tag {bad[0]!r} in {name} contains a comma (prompts are split on ', ')")
        tags[name] = cleaned
    tempo = entry["tempo_bpm"]
    if (not isinstance(tempo, list) or len(tempo) != 2 or not all(isinstance(b, int) for b in tempo)
            or not MIN_BPM <= tempo[0] < tempo[1] <= MAX_BPM):
        raise StyleError(f"{label}: tempo_bpm must be [min, max] whole numbers with "
                         f"{MIN_BPM} <= min < max <= {MAX_BPM}, got {tempo!r}")
    extends = entry.get("extends")
    return Preset(id=sid, name=str(entry["name"]), category=category, description=str(entry["description"]),
                  tempo_bpm=(tempo[0], tempo[1]), extends=str(extends).upper() if extends else None, **tags)


def _resolve(sid: str, presets: dict[str, Preset], where: str, lines: dict[str, list[int]],
             chain: tuple[str, ...] = ()) -> Preset:
    preset = presets[sid]
    if preset.extends is None:
        return preset
    if sid in chain:
        cycle = " -> ".join((*chain[chain.index(sid):], sid))
        raise StyleError(f"{where}: cyclic extends: {cycle}")
    if preset.extends not in presets:
        line = lines.get(sid, [None])[0]
        at = f" (line {line})" if line else ""
        raise StyleError(f"{where}: preset {sid}{at}: extends unknown preset {preset.extends}")
    parent = _resolve(preset.extends, presets, where, lines, (*chain, sid))
    merged: dict[str, Any] = {name: tuple(dict.fromkeys(preset.tags(name) + parent.tags(name))) for name in TAG_FIELDS}
    return replace(preset, **merged)
