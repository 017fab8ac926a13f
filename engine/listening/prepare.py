"""Create a listening test: check the request, draw the plan from the seed, render both sources,
and level-match each pair of clips (BS.1770, same length, the same short fades).

Preparation happens in ``<id>.partial/`` and the finished test is renamed into place, so a test either
exists whole or not at all. Asking again for the same test (same kind, sources, listener and
settings) after an interruption resumes the preparation: rendered clips are kept.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import secrets
import shutil
from dataclasses import dataclass
from functools import partial

import numpy as np

from engine.atomic import atomic_write_json
from engine.audio.io import write_audio
from engine.audio.loudness import TARGET_LUFS, integrated_loudness, matching_gains
from engine.audio.playback import RATE, load_clip
from engine.listening.design import (
    CLIPS,
    DEFAULT_TRIALS,
    DEFINITION,
    KINDS,
    PARTIAL,
    ClipPair,
    ListeningError,
    ListeningTest,
    Material,
    RealTrack,
    draw_plan,
    draw_prompts,
    draw_tracks,
    home,
    listening_dirs,
    read_test,
    source_json,
)
from engine.listening.sources import REAL, Render, Source, parse_source, render
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.workspace import Workspace

EDGE_FADE_SEC = 0.02  # both clips of a pair start and end with the same short fade: no clicks, no tell
MATCH_TOLERANCE_LU = 0.5
MAX_SECONDS = 60.0


@dataclass(frozen=True)
class ListeningRequest:
    """What ``lofi listen new`` and the New test dialog ask for. ``a`` is the candidate, ``b`` the
    reference: in a preference test wins are A's."""

    kind: str
    a: str
    b: str
    trials: int | None = None  # default per kind: 16 ABX, 20 preference, 20 real
    seed: int | None = None  # default: drawn, and recorded
    listener: str | None = None  # default: the login name
    practice: int = 0
    duration: float = 10.0
    steps: int = 8


def _check(ws: Workspace, request: ListeningRequest) -> tuple[Source, Source, int, str]:
    if request.kind not in KINDS:
        raise ListeningError(f"unknown test kind {request.kind!r}: use one of {', '.join(KINDS)}")
    a, b = parse_source(ws, request.a), parse_source(ws, request.b)
    reals = [s for s in (a, b) if not s.generated]
    if request.kind == "real" and len(reals) != 1:
        raise ListeningError(f"a \"which is real?\" test needs {REAL} on one side and a generated source on the "
                             "other")
    if request.kind != "real" and reals:
        raise ListeningError(f"{REAL} can only be used with --kind real (ABX and preference compare two models)")
    trials = DEFAULT_TRIALS[request.kind] if request.trials is None else request.trials
    if trials < 1:
        raise ListeningError(f"--trials must be at least 1, got {trials}")
    if request.practice < 0:
        raise ListeningError(f"--practice must be 0 or more, got {request.practice}")
    if request.practice and request.kind == "preference":
        raise ListeningError("practice trials give feedback, and a preference has no right answer: use --practice "
                             "with abx or real")
    if not 1.0 <= request.duration <= MAX_SECONDS:
        raise ListeningError(f"--duration must be between 1 and {MAX_SECONDS:g} s, got {request.duration:g}")
    if request.steps < 1:
        raise ListeningError(f"--steps must be at least 1, got {request.steps}")
    listener = (request.listener or _login()).strip()
    if not listener or len(listener) > 40 or not listener.isprintable() or "/" in listener:
        raise ListeningError(f"listener name {listener!r} must be 1-40 printable characters without '/'")
    return a, b, trials, listener


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (containers)
        return "listener"


def _validation_tracks(ws: Workspace, clip_seconds: float) -> tuple[list[RealTrack], list[str]]:
    from engine.catalog.store import Catalog
    from engine.catalog.track import ACCEPTED, SPLIT_VALIDATION
    from engine.labels.prompts import build_prompt
    from engine.labels.styles import load_styles

    taxonomy = load_styles()
    tracks, notes = [], []
    for t in Catalog(ws.catalog_path).all():
        if t.status != ACCEPTED or t.split != SPLIT_VALIDATION or not t.output:
            continue
        if not t.duration_sec or t.duration_sec < clip_seconds:
            notes.append(f"validation track {t.id} ({t.title}) is shorter than the {clip_seconds:g} s clips; left out")
            continue
        tracks.append(RealTrack(t.id, t.primary_style or "CORE-01", t.prompt or build_prompt(t, taxonomy)[0],
                                float(t.duration_sec)))
    if not tracks:
        raise ListeningError(f"no validation tracks of at least {clip_seconds:g} s in {ws.root}: run `lofi split` "
                             "(a \"which is real?\" test plays real validation tracks)")
    return tracks, notes


def _same_request(test: ListeningTest, a: Source, b: Source, trials: int, listener: str, request: ListeningRequest) -> bool:
    return (test.kind == request.kind and test.a == source_json(a) and test.b == source_json(b)
            and test.trials == trials and test.listener == listener and test.practice == request.practice
            and test.duration == request.duration and test.steps == request.steps
            and (request.seed is None or request.seed == test.seed))


def _start(ws: Workspace, request: ListeningRequest, a: Source, b: Source, trials: int, listener: str) -> ListeningTest:
    """A resumable preparation of the same request, or a new one with its plan drawn."""
    for directory in listening_dirs(ws, partial=True):
        test = read_test(directory)
        if _same_request(test, a, b, trials, listener, request):
            return test
    seed = secrets.randbelow(2 ** 31) if request.seed is None else request.seed
    count = trials + request.practice
    warnings: list[str] = []
    if request.kind == "real":
        tracks, warnings = _validation_tracks(ws, request.duration)
        materials = draw_tracks(count, seed, tracks, request.duration)
        if len(tracks) < count:
            warnings.append(f"only {len(tracks)} validation tracks for {count} trials: real tracks repeat (other "
                            "excerpts), which can let listeners recognise them; add validation tracks")
    else:
        materials = draw_prompts(count, seed)
    root = home(ws, a, b)
    while True:
        test_id = f"{request.kind}-{secrets.token_hex(3)}"
        if not (root / test_id).exists() and not (root / f"{test_id}{PARTIAL}").exists():
            break
    test = ListeningTest(test_id, request.kind, source_json(a), source_json(b), listener, trials, request.practice,
                         seed, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), request.duration,
                         request.steps, materials, draw_plan(trials, request.practice, seed), [], warnings,
                         dir=root / f"{test_id}{PARTIAL}")
    atomic_write_json(test.dir / DEFINITION, test.to_json())
    return test


def _rendering(progress: ProgressCallback, spec: str, p: Progress) -> None:
    progress(Progress(p.done, p.total, f"rendering {spec}: {p.label}"))


def _excerpt(ws: Workspace, material: Material, frames: int) -> np.ndarray:
    from engine.catalog.store import Catalog

    track = Catalog(ws.catalog_path).get(material.track) if material.track else None
    if track is None:
        raise ListeningError(f"track {material.track} of this test is no longer in the catalog")
    samples = load_clip(ws.resolve(track.audio)).samples
    start = int(round(material.offset * RATE))
    return samples[start:start + frames]


def _fit(samples: np.ndarray, frames: int, what: str) -> np.ndarray:
    """Exactly ``frames`` long, with the same raised-cosine fade in and out."""
    if samples.shape[0] < frames:
        raise ListeningError(f"{what} is {samples.shape[0] / RATE:.2f} s long, shorter than the test's "
                             f"{frames / RATE:g} s clips")
    out = samples[:frames].copy()
    n = int(EDGE_FADE_SEC * RATE)
    ramp = (0.5 * (1 - np.cos(np.linspace(0, np.pi, n)))).astype(np.float32)[:, None]
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def _level_match(ws: Workspace, test: ListeningTest, renders: dict[str, list[Render]]) -> list[ClipPair]:
    frames = int(round(test.duration * RATE))
    pairs = []
    for i, material in enumerate(test.materials):
        audio = {}
        for side in ("a", "b"):
            spec = test.a if side == "a" else test.b
            if spec["spec"] == REAL:
                raw = _excerpt(ws, material, frames)
                what = f"validation track {material.track}"
            else:
                raw = load_clip(renders[side][i].path).samples
                what = f"the clip {spec['spec']} rendered for trial material {i + 1}"
            audio[side] = _fit(raw, frames, what)
            if not np.any(audio[side]):
                raise ListeningError(f"{what} is silent: it cannot be level-matched; check the source")
        gains = matching_gains([audio["a"], audio["b"]], TARGET_LUFS, RATE)
        names = {}
        for side, gain in zip(("a", "b"), gains):
            names[side] = f"{CLIPS}/m{i:02d}-{side}.wav"
            write_audio(test.dir / names[side], audio[side] * np.float32(10 ** (gain / 20)), RATE)
        measured = [integrated_loudness(load_clip(test.dir / names[s]).samples, RATE) for s in ("a", "b")]
        if abs(measured[0] - measured[1]) > MATCH_TOLERANCE_LU:
            raise ListeningError(f"clips of trial material {i + 1} still differ by {abs(measured[0] - measured[1]):.2f} "
                                 "LU after matching")
        pairs.append(ClipPair(names["a"], names["b"], round(measured[0], 3), round(measured[1], 3)))
    return pairs


def create_test(ws: Workspace, request: ListeningRequest, progress: ProgressCallback = no_progress,
                cancel: CancelToken | None = None) -> ListeningTest:
    """Prepare a test (or resume preparing the same one) and return it, ready to be taken."""
    a, b, trials, listener = _check(ws, request)
    test = _start(ws, request, a, b, trials, listener)
    renders: dict[str, list[Render]] = {}
    for side, source in (("a", a), ("b", b)):
        if source.generated:
            renders[side] = [Render(m.prompt, m.seed, test.dir / "renders" / side / f"m{i:02d}.wav")
                             for i, m in enumerate(test.materials)]
            render(ws, source, renders[side], test.duration, test.steps,
                   partial(_rendering, progress, source.spec), cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    progress(Progress(0, 1, "level-matching clips"))
    test.clips = _level_match(ws, test, renders)
    shutil.rmtree(test.dir / "renders", ignore_errors=True)
    final = test.dir.with_name(test.id)
    atomic_write_json(test.dir / DEFINITION, test.to_json())
    os.replace(test.dir, final)
    test.dir = final
    progress(Progress(1, 1, f"test {test.id} ready"))
    return test

