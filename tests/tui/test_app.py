"""Pilot tests: every interaction of the dashboard, through the real engine on a real workspace."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Checkbox, Input, OptionList, Select

from engine.catalog.store import Catalog
from lofi_tui.app import LofiApp
from lofi_tui.widgets.line_table import LineTable
from tests.tui.conftest import RecordingPlayer, write_run
from tests.tui.screen_text import region_lines, screen_text, toasts


def titles(table: LineTable) -> list[str]:
    return [t.title for t in table.items]


async def _settle(app, pilot):
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_number_keys_switch_screens_and_titles_name_them(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(app, pilot)
        titles = {}
        for key in "123456":
            await pilot.press(key)
            await _settle(app, pilot)
            titles[key] = app.screen.TITLE
        assert titles == {"1": "1 Catalog", "2": "2 Review", "3": "3 Training", "4": "4 Checkpoints",
                          "5": "5 Listening", "6": "6 Export"}
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code == 0


async def test_catalog_filters_sorts_and_shows_details(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await _settle(app, pilot)
        table = app.screen.query_one("#tracks", LineTable)
        assert len(table.items) == 5
        await pilot.press("slash")
        await pilot.press(*"status:rejected")
        await pilot.pause()
        assert titles(table) == ["crushed master"]
        rows = [line for line in region_lines(app, "#tracks")[1:] if line]
        assert len(rows) == 1 and rows[0].startswith("crushed master"), "the filtered rows are the rows drawn"
        app.screen.query_one("#filter", Input).value = "flag:missing_license"
        await pilot.pause()
        assert titles(table) == ["late bus"]
        app.screen.query_one("#filter", Input).value = ""
        await pilot.pause()
        await pilot.click("#tracks", offset=(3, 0))  # the Title header
        await pilot.pause()
        assert titles(table) == sorted(titles(table))
        assert "Title▲" in screen_text(app), "the sorted column shows it"
        table.focus()
        table.cursor = titles(table).index("crushed master")
        await _settle(app, pilot)
        detail = str(app.screen.query_one("#detail").render())
        assert "excessive_clipping" in detail and "7.40 %" in detail


async def test_space_plays_the_selected_track(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(app, pilot)
        await pilot.press("space")
        await _settle(app, pilot)
        assert len(player.played) == 1 and player.played[0].suffix == ".mp3" and player.played[0].exists()


async def test_a_track_that_cannot_be_played_is_reported_and_the_app_goes_on(tui_workspace, player):
    first = tui_workspace.resolve("tracks/core/0000000000000001.mp3")
    first.write_bytes(b"not an mp3 at all")
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await _settle(app, pilot)
        table = app.screen.query_one("#tracks", LineTable)
        table.cursor = titles(table).index("rainy window")
        await pilot.press("space")
        await _settle(app, pilot)
        assert player.played == []
        shown = toasts(app)
        assert "Failed: playing a track" in shown and "0000000000000001.mp3" in shown, "the toast names the file"
        table.cursor = titles(table).index("coffee steam")
        await pilot.press("space")
        await _settle(app, pilot)
        assert [p.name for p in player.played] == ["0000000000000002.mp3"]


async def test_no_audio_output_is_said_on_every_press_and_the_app_keeps_working(tui_workspace):
    app = LofiApp(tui_workspace, player=RecordingPlayer(available=False))
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await _settle(app, pilot)
        for _ in range(3):
            app.clear_notifications()
            await pilot.press("space")
            await pilot.pause()
            assert "no audio output device (test)" in screen_text(app), "a later press still says why"
        await pilot.press("2")
        assert app.screen.TITLE == "2 Review"


@pytest.mark.slow
async def test_import_runs_ingest_in_a_worker_and_reports(tui_workspace, player, tmp_path):
    from tests.audio_files import lofi_file

    lofi_file(tmp_path / "new" / "fresh beat.wav", 31, seed=5)
    (tmp_path / "new" / "[live] notes.txt").write_text("not audio")  # brackets: not Rich markup
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _settle(app, pilot)
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(tmp_path / "new")
        await pilot.press("enter")
        for _ in range(200):
            await _settle(app, pilot)
            if "Import finished" in screen_text(app):
                break
        shown = toasts(app)
        assert "1 accepted (0 duplicates)" in shown and "[live] notes.txt: unsupported_format" in shown
        await _settle(app, pilot)
        table = app.screen.query_one("#tracks", LineTable)
        assert len(table.items) == 7
        assert "[live] notes" in screen_text(app)  # as the table draws it: brackets are not markup

        async def import_again(retry: bool):
            app._notifications.clear()
            await pilot.press("i")
            await pilot.pause()
            app.screen.query_one("#retry-errors", Checkbox).value = retry
            app.screen.query_one("#answer", Input).value = str(tmp_path / "new")
            await pilot.press("enter")
            for _ in range(200):
                await _settle(app, pilot)
                if any("Import finished" in (n.title or "") for n in app._notifications):
                    break
            return next(n for n in app._notifications if n.title == "Import finished").message

        again = await import_again(retry=False)
        assert "0 errors, 2 skipped" in again and "[live] notes.txt: unsupported_format (last time" in again
        retried = await import_again(retry=True)
        assert "1 errors, 1 skipped" in retried  # the failed file was processed again


async def test_review_changes_are_saved_at_once_and_undo_restores(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    catalog = Catalog(tui_workspace.catalog_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        screen = app.screen
        assert [t.title for t in screen.queue] == ["late bus", "rainy window"]
        first = screen.current_track.id
        await pilot.press("s")
        await pilot.pause()
        await pilot.press(*"season-02")
        await pilot.pause()
        assert app.screen.query_one("#styles", OptionList).get_option_at_index(0).id == "SEASON-02"
        await pilot.press("enter")
        await _settle(app, pilot)
        stored = catalog.get(first)
        assert stored.styles[0] == "SEASON-02" and stored.category == "seasonal"
        assert tui_workspace.resolve(stored.output).exists() and "seasonal" in stored.output
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("4", "enter")
        await _settle(app, pilot)
        assert catalog.get(first).ratings[-1].rating == 4
        await pilot.press("a")
        await _settle(app, pilot)
        assert "needs_review" not in catalog.get(first).flags
        await pilot.press("u", "u", "u")
        await _settle(app, pilot)
        restored = catalog.get(first)
        assert restored.styles == ["CORE-01"] and restored.ratings == [] and "needs_review" in restored.flags
        assert tui_workspace.resolve(restored.output).exists() and "/core/" in "/" + restored.output
        await pilot.press("n", "x")
        await _settle(app, pilot)
        assert "excluded" in catalog.get(screen.queue[1].id).flags


async def test_training_view_follows_metrics_within_a_second(tui_workspace, player):
    run = write_run(tui_workspace, "live", steps=20)
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one("#runs", Select).value = "live"
        for _ in range(50):
            await pilot.pause(0.05)
            if len(app.screen.metrics.steps) == 20:
                break
        assert len(app.screen.metrics.steps) == 20
        with open(run / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"type": "step", "step": 21, "loss": 0.5, "lr": 1e-4, "grad_norm": 0.3,
                                 "step_time": 0.5, "samples_per_sec": 2, "memory_mb": 1500, "time": 21}) + "\n")
            fh.write(json.dumps({"type": "event", "event": "checkpoint_saved", "step": 21, "time": 21}) + "\n")
        for _ in range(40):
            await pilot.pause(0.05)
            if 21 in app.screen.metrics.steps:
                break
        assert 21 in app.screen.metrics.steps  # within 2 s here, usually ~0.2 s
        stats = str(app.screen.query_one("#train-stats").render())
        assert "step 21/100" in stats and "interrupted" in stats, "no process: not running, no speed shown"
        assert "checkpoint_saved" in "\n".join(app.screen.query_one("#train-events").lines)


async def test_starting_without_a_base_model_says_what_to_do(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Base model: set the directory" in toasts(app)
        app.screen.query_one("#f-base_model", Input).value = "/nowhere/model"
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        await pilot.pause(0.2)
        assert "hf download" in toasts(app)
        assert not tui_workspace.runs_dir.exists() or not any(tui_workspace.runs_dir.iterdir())


async def test_review_tags_lyrics_instrumental_flags_and_secondary_style(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    catalog = Catalog(tui_workspace.catalog_path)

    async def answer(key: str, text: str) -> None:
        await pilot.press(key)
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = text
        await pilot.press("enter")
        await _settle(app, pilot)

    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        tid = app.screen.current_track.id
        await answer("t", "+rain sounds,-vinyl crackle")
        stored = catalog.get(tid)
        assert stored.tag_edits.add == ["rain sounds"] and "vinyl crackle" not in stored.prompt
        await pilot.press("S")
        await pilot.pause()
        await pilot.press(*"inst-01", "enter")
        await _settle(app, pilot)
        assert catalog.get(tid).styles == ["CORE-01", "INST-01"]
        await answer("l", "[Verse]|late bus home|[Chorus]|hold on")
        lyrics = tui_workspace.resolve(catalog.get(tid).output).with_name(f"{tid}_lyrics.txt").read_text()
        assert lyrics == "[Verse]\nlate bus home\n\n[Chorus]\nhold on\n"
        await pilot.press("i")
        await _settle(app, pilot)
        assert catalog.get(tid).instrumental is True
        await answer("f", "low quality")
        assert "low_quality" in catalog.get(tid).flags
        await answer("f", "low_quality")
        assert "low_quality" not in catalog.get(tid).flags
        await answer("l", "[Guitar Solo]|x")
        assert "unknown section tag" in toasts(app)


async def test_style_distribution_and_palette_commands(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        text = str(app.screen.query_one(".dialog Static").render())
        assert "CORE-01" in text and "underrepresented" in text and "VOCAL-05" in text
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Go to Review", "Go to Training", "Help", "Catalog: Import", "Catalog: Play"} <= set(titles)
