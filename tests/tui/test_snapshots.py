"""Snapshot tests of each screen at fixed sizes (pytest-textual-snapshot).

Each workspace lives in the test's own temporary directory, which becomes the current directory, so the
header shows the same relative name on every run; nothing in a picture depends on today's date. Workers are
awaited and the cursor never sits in a blinking input before the picture is taken.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from lofi_tui.app import LofiApp
from tests.tui.conftest import RecordingPlayer, build_workspace, write_checkpoints, write_run


def _app(root: Path, name: str) -> LofiApp:
    ws = build_workspace(root / f"lofi-snapshot-{name}")
    run = write_run(ws, "demo", steps=60)
    if name.startswith("checkpoints"):
        write_checkpoints(run)
    return LofiApp(ws, player=RecordingPlayer())


async def _settled(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _goto(keys: str | tuple[str, ...]):
    async def run_before(pilot) -> None:
        await _settled(pilot)
        for key in (keys,) if isinstance(keys, str) else keys:
            if key:
                await pilot.press(key)
                await _settled(pilot)
        if pilot.app.screen.TITLE == "3 Training":
            pilot.app.screen.query_one("#runs", Select).value = "demo"
            for _ in range(40):
                await pilot.pause(0.05)
                if len(pilot.app.screen.metrics.steps) == 60:
                    break
            pilot.app.screen._stop_follow.set()
            await _settled(pilot)

    return run_before


@pytest.mark.parametrize("screen,keys,size", [
    ("catalog", "", (110, 32)),
    ("catalog-80x24", "", (80, 24)),
    ("review", "2", (100, 32)),
    ("training", "3", (110, 36)),
    ("checkpoints-80x24", ("4", "space"), (80, 24)),
    ("checkpoints-160x45", ("4", "space", "right_square_bracket"), (160, 45)),
    ("listening", "5", (80, 24)),
    ("export", "6", (80, 24)),
])
def test_screen_snapshot(snap_compare, tmp_path, monkeypatch, screen, keys, size):
    monkeypatch.chdir(tmp_path)
    assert snap_compare(_app(tmp_path, screen), terminal_size=size, run_before=_goto(keys))
