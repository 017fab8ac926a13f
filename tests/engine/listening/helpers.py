"""A listening test as ``create_test`` leaves it, with synthesized clips in place of model renders
(the screens and the answer log do not care where the audio came from; ``test_lab`` covers renders)."""

from __future__ import annotations

import numpy as np

from engine.atomic import atomic_write_json
from engine.audio import synth
from engine.audio.io import write_audio
from engine.listening.design import DEFINITION, ClipPair, ListeningTest, Material, draw_plan
from engine.listening.session import Session, is_correct, shown_sides
from engine.workspace import Workspace

SOURCES = {"a": {"spec": "bundle:exports/v1/int8", "kind": "bundle", "label": "int8", "run": None, "step": None,
                 "identity": {"bundle": "v1-int8"}},
           "b": {"spec": "bundle:exports/v1/fp32", "kind": "bundle", "label": "fp32", "run": None, "step": None,
                 "identity": {"bundle": "v1-fp32"}},
           "real": {"spec": "real:validation", "kind": "real", "label": "real tracks", "run": None, "step": None,
                    "identity": {}}}


def synthetic_test(ws: Workspace, kind: str = "abx", trials: int = 4, practice: int = 0, seed: int = 7,
                   listener: str = "ana", test_id: str | None = None, run: str | None = None,
                   step: int | None = None, a: dict | None = None, b: dict | None = None) -> ListeningTest:
    """A finished preparation; ``a``/``b`` replace the default sources (two bundles, or real tracks)."""
    count = trials + practice
    test_id = test_id or f"{kind}-{seed:06x}"
    directory = ws.root / "listening" / test_id
    clips = []
    for i in range(count):
        for side, offset in (("a", 0), ("b", 100)):
            write_audio(directory / f"clips/m{i:02d}-{side}.wav", synth.lofi(2, seed=i + offset) * np.float32(0.3),
                        synth.SR)
        clips.append(ClipPair(f"clips/m{i:02d}-a.wav", f"clips/m{i:02d}-b.wav", -23.0, -23.0))
    a = a or {**SOURCES["a"], "run": run, "step": step}
    b = b or (SOURCES["real"] if kind == "real" else {**SOURCES["b"], "run": run, "step": step})
    test = ListeningTest(test_id, kind, a, b, listener, trials, practice, seed, "2026-01-01T00:00:00+00:00",
                         2.0, 8, [Material("CORE-01", "lofi hip hop", i) for i in range(count)],
                         draw_plan(trials, practice, seed), clips, [], dir=directory)
    atomic_write_json(directory / DEFINITION, test.to_json())
    return test


def answer_all(session: Session, correct: int, none: int = 0) -> None:
    """Answer every remaining trial: the first ``correct`` counted ones right (for preference: for A),
    then ``none`` with no preference, the rest wrong; practice trials right."""
    done = 0
    while (view := session.current()) is not None:
        trial = session.test.plan[session.answered]
        right = next(c for c in view.choices if c != "none" and (
            is_correct(session.test, trial, c) if session.test.kind != "preference"
            else shown_sides(session.test, trial)[c] == "a"))
        wrong = next(c for c in view.choices if c not in (right, "none"))
        if view.practice:
            session.answer(right)
            continue
        session.answer(right if done < correct else "none" if done < correct + none else wrong)
        done += 1
