"""Screen 6, the export wizard, driven with Pilot on the tiny model's real export (offline).

The session's shared export (tests/engine/export/exported.py) is copied, not redone: the run goes into a
fresh workspace, and its bundles are reused where a test only reads them.
"""

from __future__ import annotations

import json
import shutil
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import soundfile as sf
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static, TabbedContent, TextArea

from engine.export import exporter
from engine.inference.bundle import GRAPHS
from engine.workspace import Workspace
from lofi_tui.app import LofiApp
from tests.tui.conftest import RecordingPlayer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("export")]


def _copy_run(exported, root: Path, best: int | None = None) -> Workspace:
    ws = Workspace.open(root)
    shutil.copytree(exported.workspace.runs_dir / exported.run, ws.runs_dir / exported.run)
    if best is not None:
        eval_dir = ws.runs_dir / exported.run / "eval"
        eval_dir.mkdir(exist_ok=True)
        (eval_dir / f"step-{best}.json").write_text(json.dumps(
            {"step": best, "embedding": "builtin", "samples": 4, "fad": 12.5, "fad_inf": 11.0, "clap": None,
             "distinctness": 0.5, "combined": 0.42}))
        (eval_dir / "best.json").write_text(json.dumps({"step": best, "combined": 0.42}))
    return ws


def _copy_export(exported, ws: Workspace) -> Path:
    """The session's export as if made in ``ws`` (its default folder), to change or add to freely."""
    shutil.copytree(exported.out, ws.exports_dir / f"{exported.run}-step-{exported.result.step}")
    return ws.exports_dir / f"{exported.run}-step-{exported.result.step}"


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


@asynccontextmanager
async def _wizard(ws: Workspace, run: str, player: RecordingPlayer | None = None, step: int | None = None):
    """The dashboard on ``ws``, switched to screen 6 for ``run`` as the Checkpoints screen does it."""
    app = LofiApp(ws, player=player or RecordingPlayer())
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        app.open_export(run, step)
        await _settle(pilot)
        yield app, pilot


async def test_choose_preselects_the_best_checkpoint_with_its_metrics_and_estimated_sizes(exported, tmp_path):
    step = exported.result.step
    ws = _copy_run(exported, tmp_path / "ws", best=step)
    async with _wizard(ws, exported.run) as (app, pilot):
        screen = app.screen
        assert screen.TITLE == "6 Export"
        assert screen.query_one("#step", Select).value == step
        info = _text(app, "#ckpt-info")
        assert "evaluated best" in info and "FAD 12.5" in info and "combined 0.420" in info
        labels = {p: str(screen.query_one(f"#p-{p}", Checkbox).label) for p in ("fp32", "fp16", "int8", "int4")}
        assert all(label.startswith(f"{p} ~") and label[-2:] in ("kB", "MB", "GB") for p, label in labels.items())
        sizes = screen.info.estimates
        assert sizes["fp32"] > sizes["fp16"] > sizes["int8"] > sizes["int4"] > 0
        out = screen.query_one("#out", Input).value
        assert out.endswith(f"{exported.run}-step-{step}")
        assert "not exported yet" in _text(app, "#export-state")


def _states(app) -> dict[str, str]:
    return {row[0]: row[1] for row in _cells(app.screen.query_one("#stages", DataTable))}


async def test_an_export_cancelled_failed_and_reopened_continues_where_it_stopped(exported, tmp_path, monkeypatch):
    ws = _copy_run(exported, tmp_path / "ws")
    out = _copy_export(exported, ws)
    shutil.rmtree(out / "int8")  # this bundle (and its graphs' work files) still to do
    # The tiny model's int8 stages (three of them copied from the graph cache) can all finish before a key
    # press is handled: the first stage waits until the test has pressed cancel, as a real model's would.
    pressed, run_stage = threading.Event(), exporter.run_stage
    monkeypatch.setattr(exporter, "run_stage", lambda path, build: pressed.wait(30) and run_stage(path, build))
    async with _wizard(ws, exported.run, step=exported.result.step) as (app, pilot):
        states = _states(app)
        assert states["fp16"] == states["int4"] == states["fp32/transformer"] == "done"
        assert states["int8"] == states["int8/text_encoder"] == "pending"
        await pilot.press("ctrl+e", "ctrl+x")  # the running stage ends, then the export stops
        pressed.set()
        await _settle(pilot)
        assert app.screen.status.state == "cancelled" and _states(app)["int8"] == "pending"
    (out / "int8").write_text("a file in the way\n")  # makes the bundle stage fail when it renames into place

    app = LofiApp(ws, player=RecordingPlayer())  # the dashboard opened again
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("6")  # no checkpoint named: the unfinished export comes back by itself
        await _settle(pilot)
        assert "cancelled" in _text(app, "#export-state") and "ctrl+e continues" in _text(app, "#export-state")
        await pilot.press("ctrl+e")
        await _settle(pilot)
        states = _states(app)
        assert states["int8"] == "failed" and all(states[f"int8/{g}"] == "done" for g in GRAPHS)
        failed = next(row for row in _cells(app.screen.query_one("#stages", DataTable)) if row[0] == "int8")
        assert "Not a directory" in failed[2]
        assert "failed at int8" in _text(app, "#export-state")
        (out / "int8").unlink()
        await pilot.press("ctrl+e")
        await _settle(pilot)
        assert set(_states(app).values()) == {"done"} and app.screen.status.state == "done"
    manifest = json.loads((out / "int8" / "manifest.json").read_text())
    assert manifest["precision"] == "int8"


async def test_verify_shows_parity_and_the_precision_comparison_and_starts_a_blind_test(exported, tmp_path):
    ws = _copy_run(exported, tmp_path / "ws")
    out = _copy_export(exported, ws)
    asked = []
    async with _wizard(ws, exported.run) as (app, pilot):
        app.open_listening = lambda kind, a, b: asked.append((kind, a, b))
        app.screen.query_one("#wizard", TabbedContent).active = "verify"
        parity = _cells(app.screen.query_one("#parity", DataTable))
        assert [row[0] for row in parity] == ["fp32", "fp16", "int8", "int4"]
        assert all(cell.endswith(" ok") for row in parity for cell in row[2:])
        app.screen.query_one("#cmp-prompts", Input).value = "2"  # 2 x 2 s: the fewest frames FAD-inf takes
        app.screen.query_one("#cmp-seconds", Input).value = "2"
        await pilot.press("ctrl+r")
        await _settle(pilot)
        rows = {row[0]: row for row in _cells(app.screen.query_one("#comparison", DataTable))}
        assert rows["fp32"][3] == "reference"
        for precision in ("fp16", "int8", "int4"):
            assert float(rows[precision][3]) >= 0 and float(rows[precision][2]) > 0  # FAD, s per minute
            assert rows[precision][5].startswith("not reliable (n < 2d)")  # 4 s of audio: far fewer frames than dimensions
        app.screen.query_one("#blind-with", Select).value = "int8"
        app.screen.query_one("#blind", Button).press()
        await pilot.pause()
    assert asked == [("preference", f"bundle:{out / 'fp32'}", f"bundle:{out / 'int8'}")]
    assert (out / "verify" / "report.json").exists()  # shown again next time without recomputing


async def test_try_generates_a_clip_from_the_bundle_and_plays_it(exported, tmp_path):
    ws = _copy_run(exported, tmp_path / "ws")
    out = _copy_export(exported, ws)
    player = RecordingPlayer()
    async with _wizard(ws, exported.run, player) as (app, pilot):
        screen = app.screen
        screen.query_one("#wizard", TabbedContent).active = "try"
        assert screen.query_one("#try-bundle", Select).value == "int8"
        for field, value in (("prompt", "lofi hip hop, rain"), ("seconds", "2"), ("bpm", "80"), ("key", "C major")):
            screen.query_one(f"#try-{field}", Input).value = value
        await pilot.press("ctrl+g")
        await _settle(pilot)
        result = _text(app, "#try-result")
    assert len(player.played) == 1 and player.played[0].parent == out / "try"
    info = sf.info(player.played[0])
    assert info.samplerate == 48000 and info.channels == 2 and abs(info.duration - 2.0) < 0.01
    assert "s per minute of audio (int8)" in result


async def test_ship_gives_the_setup_snippet_and_says_plainly_that_nothing_is_uploaded_offline(exported, tmp_path):
    """Tests run with HF_HUB_OFFLINE=1 (tests/conftest.py): the Hub is never reached."""
    ws = _copy_run(exported, tmp_path / "ws")
    out = _copy_export(exported, ws)
    async with _wizard(ws, exported.run) as (app, pilot):
        screen = app.screen
        screen.query_one("#wizard", TabbedContent).active = "ship"
        await _settle(pilot)
        snippet = screen.query_one("#snippet", TextArea).text
        assert f'model_path = "{out / "int8"}"' in snippet and "lofi-daemon" in snippet
        files = {row[0]: row[1] for row in _cells(screen.query_one("#files", DataTable))}
        assert {"manifest.json", "README.md", "transformer.onnx", "transformer.onnx.data", "total"} <= set(files)
        assert "stage.json" not in files
        assert "HF_HUB_OFFLINE" in _text(app, "#token")
        screen.query_one("#repo", Input).value = "someone/lofi-test"
        await pilot.press("ctrl+o")
        await _settle(pilot)
        result = _text(app, "#publish-result")
    assert "HF_HUB_OFFLINE" in result and "Nothing was uploaded" in result and "\n" not in result.strip()
