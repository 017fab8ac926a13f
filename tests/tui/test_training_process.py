"""The Training screen drives a real training process on the tiny model: start, watch, stop, resume,
and a dashboard that closes while the run goes on."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from textual.widgets import Input

from engine.training.events import read_metrics
from engine.training.runs import request_stop, run_dir, running_pid
from engine.workspace import Workspace
from lofi_tui.app import LofiApp
from tests.tui.conftest import RecordingPlayer


async def _until(pilot, condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)


def _events(path) -> list[str]:
    return [e["event"] for e in read_metrics(path / "metrics.jsonl").events]


@pytest.mark.slow
async def test_start_stop_resume_and_closing_the_dashboard_leaves_the_run_going(
        train_workspace, tiny_model, tmp_path, hooked_worker):
    hooked_worker("--step-sleep", "0.2")  # slow steps down so stop/resume land mid-run
    shutil.copytree(train_workspace.root, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    path = run_dir(ws, "ui")
    app = LofiApp(ws, base_model=str(tiny_model), player=RecordingPlayer())
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        for key, value in {"run": "ui", "rank": "4", "alpha": "4", "max_steps": "500",
                           "checkpoint_every": "1000", "learning_rate": "1e-3"}.items():
            screen.query_one(f"#f-{key}", Input).value = value
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: len(screen.metrics.steps) >= 3, "the first steps in the live view")
        assert screen.following == "ui" and "started" in _events(path)

        await pilot.press("ctrl+x")
        await _until(pilot, lambda: "stopped" in [e["event"] for e in screen.metrics.events], "the stop event")
        await _until(pilot, lambda: all(p.poll() is not None for p in screen._started), "the process to exit")
        stopped_at = max(read_metrics(path / "metrics.jsonl").steps)
        assert any(path.glob("checkpoints/*")), "a graceful stop leaves a checkpoint to resume from"

        await pilot.press("ctrl+r")
        await _until(pilot, lambda: max(screen.metrics.steps) > stopped_at + 1, "steps after resuming")
        assert "resumed" in [e["event"] for e in screen.metrics.events]
        pid = running_pid(path)
        assert pid is not None
    try:
        time.sleep(1.0)
        assert running_pid(path) == pid, "closing the dashboard must not stop the run"
        steps_then = max(read_metrics(path / "metrics.jsonl").steps)
        time.sleep(1.5)
        assert max(read_metrics(path / "metrics.jsonl").steps) > steps_then
    finally:
        request_stop(path)
        os.waitpid(pid, 0)  # our child: reap it
    assert _events(path)[-1] == "stopped"
