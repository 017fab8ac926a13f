"""A listening test's definition: its kind, the two sources, a number of trials fixed in advance, the
seed and the plan drawn from it, and where the test lives.

A test belongs to one listener; several listeners each take their own test of the same comparison
and the report pools them. ``test.json`` is written once, when the clips are ready, and anchors the
answer log's hash chain, so the plan cannot be changed after the first answer without ``verify``
noticing.

Where tests live: ``runs/<run>/listening/<id>/`` for the run of source A (a bundle belongs to the run
its manifest names), else the run of source B; a comparison of bundles whose run is not in this
workspace goes to ``<workspace>/listening/<id>/``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import LofiError
from engine.listening.sources import Source
from engine.workspace import Workspace

KINDS = ("abx", "preference", "real")
KIND_NAMES = {"abx": "ABX", "preference": "blind preference", "real": "which is real?"}
DEFAULT_TRIALS = {"abx": 16, "preference": 20, "real": 20}
DEFINITION = "test.json"
CLIPS = "clips"
PARTIAL = ".partial"
FORMAT, VERSION = "lofi-listening-test", 1


class ListeningError(LofiError):
    """A listening test cannot be created, found or answered as asked."""


@dataclass(frozen=True)
class Material:
    """What one trial plays: a prompt rendered by each generated source with one seed; for "which is
    real?" also the validation track and where its excerpt starts."""

    style: str
    prompt: str
    seed: int
    track: str | None = None
    offset: float = 0.0


@dataclass(frozen=True)
class Trial:
    """``swap``: in ABX, X is B; otherwise the clip shown as A comes from source b."""

    material: int
    swap: bool
    practice: bool = False


@dataclass(frozen=True)
class ClipPair:
    """The level-matched clips of one material (paths relative to the test) and their measured loudness."""

    a: str
    b: str
    lufs_a: float
    lufs_b: float


@dataclass
class ListeningTest:
    id: str
    kind: str
    a: dict[str, Any]  # Source fields as JSON: spec, kind, label, run, step, identity
    b: dict[str, Any]
    listener: str
    trials: int
    practice: int
    seed: int
    created: str
    duration: float
    steps: int
    materials: list[Material]
    plan: list[Trial]
    clips: list[ClipPair] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dir: Path = field(kw_only=True)  # where it lives; not stored

    @property
    def name(self) -> str:
        return f"{self.a['spec']} vs {self.b['spec']}"

    @property
    def comparison(self) -> tuple[str, ...]:
        """Tests with equal keys compare the same audio sources and are pooled in reports."""
        return (self.kind, self.a["spec"], json.dumps(self.a["identity"], sort_keys=True), self.b["spec"],
                json.dumps(self.b["identity"], sort_keys=True))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("dir")
        return {"format": FORMAT, "version": VERSION, **out}

    @classmethod
    def from_json(cls, data: dict[str, Any], directory: Path) -> ListeningTest:
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ListeningError(f"{directory / DEFINITION} is not a lofi listening test (format "
                                 f"{data.get('format')!r} v{data.get('version')!r})")
        fields_ = {k: v for k, v in data.items() if k not in ("format", "version")}
        fields_["materials"] = [Material(**m) for m in fields_["materials"]]
        fields_["plan"] = [Trial(**t) for t in fields_["plan"]]
        fields_["clips"] = [ClipPair(**c) for c in fields_["clips"]]
        return cls(**fields_, dir=Path(directory))

    def clip(self, material: int, side: str) -> Path:
        pair = self.clips[material]
        return self.dir / (pair.a if side == "a" else pair.b)


def source_json(source: Source) -> dict[str, Any]:
    return {"spec": source.spec, "kind": source.kind, "label": source.label, "run": source.run, "step": source.step,
            "identity": source.identity}


def draw_plan(trials: int, practice: int, seed: int) -> list[Trial]:
    """Practice trials first (their own materials, after the counted ones'), then the counted trials.
    Within each group exactly half the trials are swapped (an odd one out decided by the seed), in
    an order drawn from the seed: balanced, and reproducible."""
    rng = np.random.default_rng([seed, 1])

    def balanced(n: int) -> list[bool]:
        swaps = [False] * (n // 2) + [True] * (n // 2) + ([bool(rng.integers(2))] if n % 2 else [])
        return [bool(s) for s in rng.permutation(swaps)]

    counted = [Trial(i, s) for i, s in enumerate(balanced(trials))]
    warmup = [Trial(trials + i, s, practice=True) for i, s in enumerate(balanced(practice))]
    return warmup + counted


def draw_prompts(count: int, seed: int) -> list[Material]:
    """Styles in a seeded order (all 38 before any repeats), each with its preset prompt and a seed."""
    from engine.labels.prompts import preset_prompt
    from engine.labels.styles import load_styles

    taxonomy = load_styles()
    rng = np.random.default_rng([seed, 2])
    order: list[str] = []
    while len(order) < count:
        order += [str(s) for s in rng.permutation(taxonomy.ids)]
    return [Material(s, preset_prompt(taxonomy.get(s)), int(rng.integers(2 ** 31))) for s in order[:count]]


@dataclass(frozen=True)
class RealTrack:
    id: str
    style: str
    prompt: str
    duration: float


def draw_tracks(count: int, seed: int, tracks: list[RealTrack], clip_seconds: float) -> list[Material]:
    """Validation tracks in a seeded order (each before any repeats), each with a seeded excerpt start;
    the generated side renders the track's own prompt."""
    rng = np.random.default_rng([seed, 3])
    order: list[RealTrack] = []
    while len(order) < count:
        order += [tracks[i] for i in rng.permutation(len(tracks))]
    return [Material(t.style, t.prompt, int(rng.integers(2 ** 31)), t.id,
                     round(float(rng.uniform(0.0, t.duration - clip_seconds)), 2)) for t in order[:count]]


def home(ws: Workspace, a: Source, b: Source) -> Path:
    """The directory that holds this comparison's tests (see the module docstring)."""
    for source in (a, b):
        if source.run and (ws.runs_dir / source.run / "config.json").exists():
            return ws.runs_dir / source.run / "listening"
    return ws.root / "listening"


def listening_dirs(ws: Workspace, partial: bool = False) -> list[Path]:
    """Every test in the workspace (or every unfinished preparation, with ``partial``)."""
    roots = [*sorted(ws.runs_dir.glob("*/listening")), ws.root / "listening"]
    found = []
    for root in roots:
        for path in sorted(root.glob("*")):
            if (path / DEFINITION).is_file() and path.name.endswith(PARTIAL) == partial:
                found.append(path)
    return found


def read_test(directory: Path) -> ListeningTest:
    path = Path(directory) / DEFINITION
    try:
        return ListeningTest.from_json(json.loads(path.read_text(encoding="utf-8")), Path(directory))
    except (OSError, ValueError, TypeError) as exc:
        raise ListeningError(f"{path} cannot be read ({exc}); the test is damaged") from None


def find_test(ws: Workspace, ref: str) -> ListeningTest:
    """A test by id or a unique start of one (like track ids)."""
    dirs = listening_dirs(ws)
    exact = [d for d in dirs if d.name == ref]
    matches = exact or [d for d in dirs if d.name.startswith(ref)]
    if len(matches) == 1:
        return read_test(matches[0])
    if not matches:
        raise ListeningError(f"no listening test {ref!r} in {ws.root} (see `lofi listen report`)")
    raise ListeningError(f"{ref!r} matches {len(matches)} tests ({', '.join(d.name for d in matches[:5])}); "
                         "give more of the id")


def all_tests(ws: Workspace) -> list[ListeningTest]:
    return [read_test(d) for d in listening_dirs(ws)]
