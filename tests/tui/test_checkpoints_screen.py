"""Screen 4 with a recording player: what the table and matrix show, synced switching, loops, loudness
matching measured on the player's output, and the decisions it records or hands to other screens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Static

import lofi_tui.app
from engine.audio.io import decode
from engine.listening.session import Session
from engine.training import checkpoints as ckpt
from lofi_tui.app import LofiApp
from tests.engine.listening.helpers import answer_all, synthetic_test
from tests.tui.conftest import RecordingPlayer, write_checkpoints, write_run
from tests.tui.screen_text import screen_text


class HandOffApp(LofiApp):
    """The app with the listening lab and export wizard replaced by a record of how they were opened."""

    CSS_PATH = Path(lofi_tui.app.__file__).with_name(LofiApp.CSS_PATH)  # relative paths follow the subclass

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.opened: list[tuple] = []
        self.said: list[tuple[str | None, str]] = []  # (title, message): toasts expire, on a busy machine too soon

    def notify(self, message: str, **options) -> None:
        self.said.append((options.get("title"), message))
        super().notify(message, **options)

    def open_listening(self, kind: str, a: str, b: str) -> None:
        self.opened.append(("listening", kind, a, b))

    def open_export(self, run: str, step: int) -> None:
        self.opened.append(("export", run, step))


@pytest.fixture
def run_clips(tui_workspace):
    return write_checkpoints(write_run(tui_workspace, "demo", steps=60))


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _open(pilot):
    await _settle(pilot)
    await pilot.press("4")
    await _settle(pilot)
    return pilot.app.screen


def _cells(table: DataTable, row: int) -> list[str]:
    return [Text.from_markup(c).plain if isinstance(c, str) else c.plain for c in table.get_row_at(row)]


def _lufs(buffer: np.ndarray, rate: int = 48000) -> float:
    return pyloudnorm.Meter(rate).integrated_loudness(buffer.astype(np.float64))


async def test_table_and_matrix_show_the_base_model_checkpoints_marks_and_missing_cells(tui_workspace, run_clips):
    app = LofiApp(tui_workspace, player=RecordingPlayer())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#ckpt-table", DataTable)
        rows = [_cells(table, i) for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["base", "20", "40"]
        assert rows[2][2] == "builtin" and rows[2][3] == "2.100" and rows[2][-2] == "★" and rows[1][-2] == ""
        assert rows[1][5] == "0.50?" and rows[2][5] == "0.50"  # a value with a caveat is marked, as in the CLI
        matrix = screen.query_one("#matrix", DataTable)
        assert [str(c.label) for c in matrix.columns.values()] == ["style", "base", "20", "40★"]
        assert matrix.row_count == 38
        core, core2 = _cells(matrix, 0), _cells(matrix, 1)
        assert core[0] == "CORE-01" and all(set(c) - {" ", "·"} for c in core[1:])  # a waveform in every cell
        assert core2[3] == "·" and _cells(matrix, 2)[1] == "·"  # not rendered
        status = str(screen.query_one("#ckpt-status", Static).render())
        assert "109 cells not rendered" in status  # 38 x 3 less the 5 clips

        await pilot.press("s", "s", "s", "s", "s", "s")  # sort by the combined score ...
        await pilot.press("S")  # ... best first; the base model stays on top
        assert [_cells(table, i)[0] for i in range(3)] == ["base", "40", "20"]
        await pilot.press("c")  # only the core styles
        assert matrix.row_count == 7 and "styles: core" in str(screen.query_one("#ckpt-head", Static).render())


async def test_the_listening_column_shows_the_finished_blind_tests_of_each_checkpoint(tui_workspace, run_clips):
    def checkpoint(step: int) -> dict:
        return {"spec": f"ckpt:demo/{step}", "kind": "ckpt", "label": f"step {step}", "run": "demo", "step": step,
                "identity": {}}

    test = synthetic_test(tui_workspace, kind="preference", trials=4, a=checkpoint(40), b=checkpoint(20))
    answer_all(Session(test), correct=3)
    app = LofiApp(tui_workspace, player=RecordingPlayer())
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        table = screen.query_one("#ckpt-table", DataTable)
        listening = {_cells(table, i)[0]: _cells(table, i)[-1] for i in range(table.row_count)}
        assert listening["40"] == "blind preference vs step 20: 3/0/1 inconclusive"  # wins/ties/losses, verdict on A
        assert listening["20"] == "blind preference vs step 40: 1/0/3" and listening["base"] == ""
        assert "blind preference vs step 20: 3/0/1" in screen_text(app)  # on screen, not only in the table's data


async def test_switching_checkpoints_keeps_the_position_and_loops_stay_inside_their_bounds(tui_workspace, run_clips):
    player = RecordingPlayer()
    app = HandOffApp(tui_workspace, player=player)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        await pilot.press("space")
        await _settle(pilot)
        assert player.now_playing == run_clips["base"][0] and player.position() == 0.0
        player.pull(1.25)
        await pilot.press("right_square_bracket")
        await _settle(pilot)
        assert player.now_playing == run_clips["20"][0]
        assert abs(player.position() - 1.25) <= 0.010  # the same place in the music, within 10 ms
        assert screen.query_one("#matrix", DataTable).cursor_coordinate == (0, 2)
        assert "▶ CORE-01 @ 20" in str(screen.query_one("#ckpt-status", Static).render())
        pictures = str(screen.query_one("#listen-now", Static).render()), str(
            screen.query_one("#listen-against", Static).render())
        assert pictures[0].startswith("▶ CORE-01 · 20") and pictures[1].startswith("vs CORE-01 · base")

        await pilot.press("l")  # loop from 1.25 s ...
        player.pull(0.5)
        await pilot.press("l")  # ... to 1.75 s
        assert player.loop == (1.25, 1.75)
        out = player.pull(2.0)  # four times round the loop
        clip = decode(run_clips["20"][0]).samples * 10 ** (screen.view.gains[run_clips["20"][0]] / 20)
        loop = clip[round(1.25 * 48000):round(1.75 * 48000)]
        assert np.allclose(out, np.concatenate([loop] * 4), atol=1e-6)
        assert 1.25 <= player.position() < 1.75
        await pilot.press("b")  # to the base model, still inside the loop
        await _settle(pilot)
        assert player.now_playing == run_clips["base"][0] and 1.25 <= player.position() < 1.75
        await pilot.press("l")  # off
        assert player.loop is None

        await pilot.press("a")  # blind ABX test between the two clips compared: checkpoint 20 and the base model
        await pilot.press("right_square_bracket", "right_square_bracket")
        await _settle(pilot)
        await pilot.press("p")  # preference between 40 and 20
        await pilot.press("e")  # export the checkpoint under the cursor
        assert app.opened == [("listening", "abx", "ckpt:demo/20", "base:demo"),
                              ("listening", "preference", "ckpt:demo/40", "ckpt:demo/20"), ("export", "demo", 40)]


async def test_loudness_matching_is_on_by_default_and_measured_on_the_output(tui_workspace, run_clips):
    player = RecordingPlayer()
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        await pilot.press("space")
        await _settle(pilot)
        quiet = player.pull(1.0)
        await pilot.press("right_square_bracket", "right_square_bracket")
        await _settle(pilot)
        loud = player.pull(1.0)
        assert abs(_lufs(quiet) - _lufs(loud)) <= 0.5  # 21.6 dB apart in the files
        assert "loudness match on" in str(screen.query_one("#ckpt-status", Static).render())
        await pilot.press("v")
        await _settle(pilot)
        unmatched = player.pull(1.0)  # the same clip, on from 2 s
        assert _lufs(unmatched) - _lufs(quiet) > 15
        assert "loudness match off" in str(screen.query_one("#ckpt-status", Static).render())


async def test_marking_the_best_checkpoint_by_hand_is_saved_with_its_note(tui_workspace, run_clips):
    app = LofiApp(tui_workspace, player=RecordingPlayer())
    run_dir = tui_workspace.runs_dir / "demo"
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        await pilot.press("right", "m")  # cursor on step 20
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "warmer keys"
        await pilot.press("enter")
        await _settle(pilot)
        assert ckpt.best_pick(run_dir) == ckpt.BestPick(automatic=40, manual=20, note="warmer keys")
        table = screen.query_one("#ckpt-table", DataTable)
        assert [_cells(table, i)[-2] for i in range(3)] == ["", "✎", "★"]  # the automatic pick stays visible
        assert "chosen 20 (warmer keys)" in str(screen.query_one("#ckpt-head", Static).render())
        await pilot.press("M")
        await _settle(pilot)
        assert ckpt.best_pick(run_dir).chosen == 40


async def test_without_audio_it_says_so_once_and_rendering_without_a_model_fails_cleanly(tui_workspace, run_clips):
    app = HandOffApp(tui_workspace, player=RecordingPlayer(available=False))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _open(pilot)
        await pilot.press("space", "right_square_bracket", "b")
        await _settle(pilot)
        assert [m for _, m in app.said].count("no audio output device (test)") == 1
        assert "▶ CORE-01 @ base" in str(screen.query_one("#ckpt-status", Static).render())  # pictures still work
        await pilot.press("g")
        await _settle(pilot)
        await _settle(pilot)
        failed = [m for title, m in app.said if title == "Failed: rendering the sample matrix"]
        assert failed and "/models/tiny" in failed[-1]  # the app's worker policy names what failed
        assert app.screen is screen and screen._fill_cancel is None
