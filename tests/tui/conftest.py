"""A small, fixed workspace for dashboard tests, and a player that records what it was asked to play."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.audio import synth
from engine.audio.playback import RATE, Player
from engine.catalog.store import Catalog
from engine.catalog.track import SourceRecord, Track
from engine.workspace import Workspace
from tests.audio_files import write


class RecordingPlayer(Player):
    """The engine's player model with the test in the place of an audio device: frames are rendered
    only when the test pulls them, so positions never depend on real time."""

    def __init__(self, available: bool = True) -> None:
        super().__init__()
        self.available = available
        self.reason = None if available else "no audio output device (test)"
        self.played: list[Path] = []
        self.output: list[np.ndarray] = []

    def play(self, path: Path, start: float = 0.0, gain_db: float = 0.0) -> None:
        super().play(path, start, gain_db)  # like a real player: a file that does not decode fails here
        self.played.append(Path(path))

    def pull(self, seconds: float) -> np.ndarray:
        """What a device would take in the next ``seconds``; kept in ``output``."""
        block = self.render(round(seconds * RATE))
        self.output.append(block)
        return block


def _track(i: int, title: str, **kw) -> Track:
    base = dict(id=f"{i:016x}", source_path=f"/music/{title}.mp3", title=title, source_format="mp3",
                status="accepted", duration_sec=95.0 + i, quality_score=80.0 + i, styles=["CORE-01"],
                flags=["needs_review"], split="train", bpm=80.0 + i, key="C major", time_signature="4/4",
                prompt="lofi hip hop, chill, boom bap drums, vinyl crackle, 80 bpm, instrumental",
                source=SourceRecord(provider="Shop", license="royalty-free", cost=2.0, currency="USD",
                                    acquired="2026-10-01"))
    base.update(kw)
    return Track(**base)


def build_workspace(root: Path) -> Workspace:
    shutil.rmtree(root, ignore_errors=True)
    ws = Workspace.open(root)
    tracks = [
        _track(1, "rainy window", output="tracks/core/0000000000000001.mp3"),
        _track(2, "coffee steam", styles=["THEME-01"], category="thematic", flags=[],
               output="tracks/thematic/0000000000000002.mp3"),
        _track(3, "late bus", split="validation", flags=["needs_review", "missing_license"],
               source=SourceRecord(), output="tracks/core/0000000000000003.mp3"),
        _track(4, "crushed master", status="rejected", reason="excessive_clipping", styles=[], flags=[],
               split="none", duration_sec=None, message="crushed master.wav: 7.40 % of samples clip"),
        _track(5, "broken download", status="error", reason="corrupt", styles=[], flags=[], split="none",
               duration_sec=None, quality_score=None, message="broken download.mp3: not decodable as MP3"),
    ]
    for t in tracks:
        if t.output:
            write(ws.resolve(t.output), synth.lofi(8, seed=int(t.id, 16)))
            ws.resolve(t.output).with_name(f"{t.id}_prompt.txt").write_text(t.prompt + "\n")
            ws.resolve(t.output).with_name(f"{t.id}_lyrics.txt").write_text("[Instrumental]\n")
    Catalog(ws.catalog_path).put_many(tracks)
    return ws


def write_run(ws: Workspace, name: str, steps: int) -> Path:
    """A run directory as the trainer leaves it, with deterministic metrics."""
    run = ws.runs_dir / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"run": name, "base_model": "/models/tiny", "max_steps": 100}))
    lines = [json.dumps({"type": "event", "event": "started", "step": 0, "time": 0})]
    for s in range(1, steps + 1):
        lines.append(json.dumps({"type": "step", "step": s, "loss": 2.0 / (1 + 0.1 * s) + 0.05 * (s % 3),
                                 "lr": 1e-4, "grad_norm": 0.4, "step_time": 0.5, "samples_per_sec": 2.0,
                                 "memory_mb": 1500.0, "time": s}))
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


@pytest.fixture
def tui_workspace(tmp_path) -> Workspace:
    return build_workspace(tmp_path / "ws")


@pytest.fixture
def player() -> RecordingPlayer:
    return RecordingPlayer()


def write_checkpoints(run: Path) -> dict[str, list[Path]]:
    """Checkpoints at steps 20 and 40 of a run from :func:`write_run`, evaluated (40 is the automatic best),
    with sample-matrix clips for two styles: base quiet, 20 louder, 40 loudest; step 40 lacks CORE-02. Step 20's
    distinctness carries a caveat (too few clips), as the evaluation writes it."""
    from engine.evaluation.evaluate import METRICS_VERSION
    from engine.evaluation.matrix import ClipSettings
    from tests.runs import fake_checkpoints, fake_clips

    settings = ClipSettings(duration=4.0, steps=8, seed=0)
    fake_checkpoints(run, [20, 40])
    clips = {"base": fake_clips(run, None, ["CORE-01", "CORE-02"], settings, gain=0.05),
             "20": fake_clips(run, 20, ["CORE-01", "CORE-02"], settings, gain=0.2),
             "40": fake_clips(run, 40, ["CORE-01"], settings, gain=0.6)}
    for step, fad, combined in ((20, 3.2, 0.31), (40, 2.1, 0.42)):
        caveats = {"distinctness": "needs at least 2 styles with at least 2 clips each"} if step == 20 else {}
        (run / "eval" / f"step-{step}.json").write_text(json.dumps(
            {"step": step, "embedding": "builtin", "fad": fad + 0.4, "fad_inf": fad, "clap": None,
             "clap_ratio": None, "distinctness": 0.5, "combined": combined, "caveats": caveats,
             "metrics_version": METRICS_VERSION}))
    (run / "eval" / "best.json").write_text(json.dumps({"step": 40, "combined": 0.42}))
    return clips
