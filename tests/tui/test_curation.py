"""What a curator does from the dashboard (issue 14): source record and language, split, dataset build, removal,
import with a sidecar and retries, the unlicensed-training warning. Each test reads the rendered screen at 80x24."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input

from engine.catalog.store import Catalog
from lofi_tui.app import LofiApp
from lofi_tui.widgets.line_table import LineTable
from tests.tui.conftest import RecordingPlayer
from tests.tui.screen_text import region_lines, screen_text, toasts


async def _settle(app, pilot):
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _select(app, pilot, title: str) -> None:
    table = app.screen.query_one("#tracks", LineTable)
    table.focus()
    table.cursor = [t.title for t in table.items].index(title)
    await _settle(app, pilot)


def _dialog_fits(app) -> None:
    dialog = app.screen.query_one(".dialog")
    assert app.screen.region.contains_region(dialog.region), "the dialog fits the terminal"


def _text_of(app, selector: str) -> str:
    """A widget's text as drawn, its wrapped lines joined again."""
    return " ".join(" ".join(line.strip(" │█▌▐").split()) for line in region_lines(app, selector)).strip()


def _squeezed(text: str) -> str:
    """Without whitespace: a long path folds anywhere in a dialog."""
    return "".join(text.split())


async def _type(pilot, field, text: str) -> None:
    field.value = ""
    field.focus()
    await pilot.press(*text)


async def test_source_record_and_language_are_edited_with_the_engines_checks(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    catalog = Catalog(tui_workspace.catalog_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        await _select(app, pilot, "late bus")
        await pilot.press("e")
        await pilot.pause()
        _dialog_fits(app)
        shown = screen_text(app)
        assert "Source record of late bus" in shown and "Language" in shown and "YYYY-MM-DD" in shown
        assert app.focused.id == "field-provider", "typing goes into the first field at once"
        await pilot.press(*"Loop Shop", "tab", *"royalty-free", "tab", *"lots")
        await pilot.press("enter")
        await pilot.pause()
        assert "track 00000000: cost 'lots' is not a number" in _text_of(app, "#form-error"), "the engine's message"
        await _type(pilot, app.screen.query_one("#field-cost", Input), "3.50")
        await _type(pilot, app.screen.query_one("#field-acquired", Input), "31/12/2026")
        await pilot.press("enter")
        await pilot.pause()
        assert "acquisition date '31/12/2026' is not a date in YYYY-MM-DD form" in _text_of(app, "#form-error")
        await _type(pilot, app.screen.query_one("#field-acquired", Input), "2026-10-03")
        await _type(pilot, app.screen.query_one("#field-language", Input), "jp")
        await pilot.press("enter")
        await pilot.pause()
        assert "unknown vocal language 'jp' (did you mean ja?)" in _text_of(app, "#form-error")
        assert catalog.find("late bus").source.license is None, "nothing is saved while a value is refused"
        await _type(pilot, app.screen.query_one("#field-language", Input), "ja")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "late bus: source record saved" in toasts(app)
        detail = _text_of(app, "#detail")
        assert "Loop Shop · royalty-free · 3.5 · 2026-10-03" in detail and "Language ja" in detail
        track = catalog.find("late bus")
        assert (track.source.provider, track.source.license, track.source.cost, track.source.acquired,
                track.language) == ("Loop Shop", "royalty-free", 3.5, "2026-10-03", "ja")
        assert "missing_license" not in track.flags


async def test_split_and_dataset_build_show_the_clis_summaries(tui_workspace, player, tmp_path):
    app = LofiApp(tui_workspace, player=player)
    catalog = Catalog(tui_workspace.catalog_path)
    catalog.update(catalog.find("rainy window").id, lambda t: setattr(t, "split", "none"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        _dialog_fits(app)
        await _type(pilot, app.screen.query_one("#field-ratio", Input), "0.95")
        await pilot.press("enter")
        await pilot.pause()
        assert "validation share 0.95 is out of range: give a value from 0 to 0.9" in _text_of(app, "#form-error")
        await _type(pilot, app.screen.query_one("#field-ratio", Input), "0.1")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "assigned 1 tracks; now 2 train, 1 validation" in toasts(app), "as `lofi split` prints it"

        app.clear_notifications()
        await pilot.press("b")
        await pilot.pause()
        _dialog_fits(app)
        out = tmp_path / "dataset"
        await _type(pilot, app.screen.query_one("#field-out", Input), str(out))
        await pilot.press("enter")
        for _ in range(100):
            await _settle(app, pilot)
            if "Dataset built" in screen_text(app):
                break
        _dialog_fits(app)
        shown = _text_of(app, "#report-text")
        assert _squeezed(f"wrote 2 training and 0 validation tracks to {out}") in _squeezed(shown)
        assert "left out 00000000: no license recorded" in shown, "late bus has no license"
        assert "warning 0000000000000001 (rainy window) still needs review" in shown
        assert [json.loads(x)["id"] for x in (out / "manifest.jsonl").read_text().splitlines()] == [
            "0000000000000001", "0000000000000002"]
        app.screen.query_one(".dialog").scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "VOCAL-05" in screen_text(app) and "underrepresented" in screen_text(app), "per-style counts scroll"
        await pilot.press("escape")
        await pilot.pause()
        assert "Dataset built" not in screen_text(app) and app.screen.TITLE == "1 Catalog"


async def test_a_dataset_build_shows_progress_and_escape_cancels_it(tui_workspace, player, tmp_path):
    app = LofiApp(tui_workspace, player=player)
    held = Catalog(tui_workspace.catalog_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        with held.transaction():  # the build waits for the catalog lock: it is still running when escape comes
            await pilot.press("b")
            await pilot.pause()
            await _type(pilot, app.screen.query_one("#field-out", Input), str(tmp_path / "ds"))
            await pilot.press("enter")
            await pilot.pause()
            assert "building the dataset into ds · escape cancels" in region_lines(app, "#status-line")[0]
            assert app.screen.query_one("#import-progress").region.width > 0, "the progress bar is on screen"
            footer = screen_text(app).splitlines()[-1]
            assert "? Help" in footer and "q Quit" in footer, "the Footer still fits while the job runs"
            await pilot.press("escape")
            await pilot.pause()
            assert "cancelling: building the dataset stops" in region_lines(app, "#status-line")[0]
        await _settle(app, pilot)
        assert "dataset build cancelled after 0 of 2 tracks" in toasts(app)
        assert not (tmp_path / "ds" / "manifest.jsonl").exists()
        assert "escape cancels" not in region_lines(app, "#status-line")[0]


async def test_remove_asks_first_and_never_deletes_the_source_file(tui_workspace, player, tmp_path):
    source = tmp_path / "rainy window.mp3"
    source.write_bytes(b"the person's own file")
    catalog = Catalog(tui_workspace.catalog_path)
    catalog.update(catalog.find("rainy window").id, lambda t: setattr(t, "source_path", str(source)))
    output = tui_workspace.resolve(catalog.find("rainy window").output)
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        await _select(app, pilot, "rainy window")
        await pilot.press("delete")
        await pilot.pause()
        _dialog_fits(app)
        question = _text_of(app, ".dialog")
        assert "Remove rainy window (00000000) from the catalog?" in question
        assert _squeezed(f"The source file stays on disk: {source}") in _squeezed(question) and "Remove (y)" in question
        await pilot.press("n")
        await _settle(app, pilot)
        assert len(catalog) == 5 and "Remove rainy window" not in screen_text(app)
        await pilot.press("delete", "y")
        await _settle(app, pilot)
        assert "removed 00000000 rainy window from the catalog" in toasts(app)
        assert "rainy window" not in "\n".join(region_lines(app, "#tracks"))
        assert "4 of 4 tracks shown" in region_lines(app, "#status-line")[0]
        assert source.read_bytes() == b"the person's own file" and not output.exists()


async def test_unlicensed_training_tracks_are_warned_about_on_catalog_and_training(tui_workspace, player):
    catalog = Catalog(tui_workspace.catalog_path)
    catalog.update(catalog.find("late bus").id, lambda t: setattr(t, "split", "train"))  # no license, trains
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        assert "⚠ 1 unlicensed" in region_lines(app, "#status-line")[0]
        await pilot.press("d")
        await pilot.pause()
        assert "⚠ 1 track(s) headed for training have no license recorded (late bus)" in _text_of(app, ".dialog")
        await pilot.press("escape", "3")
        await _settle(app, pilot)
        assert region_lines(app, "#status-line")[0].strip() == \
            "⚠ 1 track to train on has no license (on Catalog: d lists, e records)", "it fits 80 columns"
        catalog.update(catalog.find("late bus").id, lambda t: setattr(t.source, "license", "royalty-free"))
        await pilot.press("1", "3")
        await _settle(app, pilot)
        assert "no license" not in _text_of(app, "#status-line"), "a recorded license clears the warning"


async def test_the_import_path_completes_and_a_sources_sidecar_fills_the_record(tui_workspace, player, tmp_path,
                                                                                monkeypatch):
    from tests.audio_files import lofi_file

    lofi_file(tmp_path / "incoming" / "fresh beat.wav", 31, seed=5)
    sidecar = tmp_path / "purchases.csv"
    sidecar.write_text("file,provider,license,cost,currency,acquired\n"
                       "fresh beat.wav,Loop Shop,royalty-free,4.99,usd,2026-10-03\n")
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        await pilot.press("i")
        await pilot.pause()
        _dialog_fits(app)
        assert "Sources sidecar" in screen_text(app)
        monkeypatch.chdir(tmp_path)  # short paths: the field shows them whole at 80 columns
        await pilot.press(*"inc")
        await pilot.pause()
        assert "incoming/" in _text_of(app, "#answer"), "the completion is shown as you type"
        await pilot.press("right")
        assert app.screen.query_one("#answer", Input).value == "incoming/"
        await pilot.press("tab", *"purch", "right")
        assert app.screen.query_one("#sources", Input).value == sidecar.name
        await pilot.press("enter")
        for _ in range(200):
            await _settle(app, pilot)
            if "Import finished" in toasts(app):
                break
        assert "1 accepted (0 duplicates)" in toasts(app)
        track = Catalog(tui_workspace.catalog_path).find("fresh beat")
        assert (track.source.provider, track.source.license, track.source.cost, track.source.currency) == (
            "Loop Shop", "royalty-free", 4.99, "USD")
        assert "missing_license" not in track.flags


async def test_a_broken_sidecar_is_one_clear_message_and_nothing_is_imported(tui_workspace, player, tmp_path):
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "a.wav").write_bytes(b"RIFF")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,license,cost\na.wav,x,lots\n")
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await _settle(app, pilot)
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(tmp_path / "incoming")
        app.screen.query_one("#sources", Input).value = str(bad)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "bad.csv line 2: cost 'lots' is not a number" in toasts(app)
        assert len(Catalog(tui_workspace.catalog_path)) == 5
        assert "escape cancels" not in region_lines(app, "#status-line")[0], "the import is over"


async def test_the_palette_runs_split_and_dataset_build_from_any_screen(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press("2")
        await _settle(app, pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Catalog: Source", "Catalog: Split train/validation", "Catalog: Build dataset",
                "Catalog: Remove from catalog"} <= set(commands)
        commands["Catalog: Split train/validation"].callback()
        await _settle(app, pilot)
        assert "Split accepted tracks into train and validation (lofi split)" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("2")
        await _settle(app, pilot)
        commands["Catalog: Build dataset"].callback()
        await _settle(app, pilot)
        assert "Build an ACE-Step training folder (lofi dataset build)" in screen_text(app)
        _dialog_fits(app)


@pytest.mark.slow
async def test_starting_a_run_on_unlicensed_tracks_says_so_on_screen(train_workspace, tiny_model, tmp_path):
    import shutil

    from engine.workspace import Workspace

    shutil.copytree(train_workspace.root, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    app = LofiApp(ws, base_model=str(tiny_model), player=RecordingPlayer())
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        assert "⚠ 2 tracks to train on have no license" in region_lines(app, "#status-line")[0]
        for key, value in {"run": "unlicensed", "rank": "2", "alpha": "2", "max_steps": "1"}.items():
            app.screen.query_one(f"#f-{key}", Input).value = value
        await pilot.press("ctrl+s")
        for _ in range(600):  # the launch worker checks the model first; the follow worker never ends by itself
            await pilot.pause(0.1)
            if app.screen._started:
                break
        await pilot.pause()
        assert "2 track(s) headed for training have no license recorded (one, two)" in toasts(app)
        for process in app.screen._started:
            process.wait(timeout=120)  # our child: reap it
