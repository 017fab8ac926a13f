"""What a curator does from the dashboard (issue 14): source record and language, split, dataset build, removal,
import with a sidecar and retries, the unlicensed-training warning. Each test reads the rendered screen at 80x24."""

from __future__ import annotations

import json

from textual.widgets import Checkbox, Input

from engine.catalog.store import Catalog
from lofi_tui.app import LofiApp
from lofi_tui.widgets.line_table import LineTable
from tests.tui.conftest import write_run
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
        assert f"wrote 2 training and 0 validation tracks to {out}" in shown
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
