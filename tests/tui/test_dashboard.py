"""The dashboard as a new user meets it: each test reads what is on the rendered screen, not only widget state."""

from __future__ import annotations

import functools
import gc
import json
import subprocess
import sys

import psutil
import pytest
from textual.widgets import Input, OptionList, Select

from engine.catalog.store import Catalog
from engine.training.events import read_metrics
from engine.training.runs import PID_FILE, run_status
from lofi_tui.app import SCREENS, LofiApp, help_text
from lofi_tui.widgets.line_table import LineTable
from tests.audio_files import lofi_file
from tests.tui.conftest import build_workspace, write_run
from tests.tui.screen_text import region_lines, screen_lines, screen_text, toasts


async def _settle(app, pilot):
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


# 0, 1, 13 -------------------------------------------------------------------------------------

async def test_rows_header_and_status_line_are_on_screen_at_start_without_a_resize(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(app, pilot)
        lines = screen_lines(app)
        assert "1 Catalog" in lines[0], "the header is painted"
        table = region_lines(app, "#tracks")
        assert table[0].startswith("Title") and [r.split("  ")[0] for r in table[1:6]] == [
            "rainy window", "coffee steam", "late bus", "crushed master", "broken download"]
        assert lines[-2].strip().startswith("5 of 5 tracks shown"), "the status line sits above the Footer"
        assert "needs_review" not in "\n".join(table) and "review no-license" in "\n".join(table), \
            "flags fit at 160 columns"


@pytest.mark.parametrize("key", [s.key for s in SCREENS])
async def test_every_footer_fits_80_columns_and_the_status_line_shows_above_it(tui_workspace, player, key):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press(key)
        await _settle(app, pilot)
        footer = screen_lines(app)[-1]
        assert "? Help" in footer and "q Quit" in footer, f"cut: {footer!r}"


async def test_a_large_catalog_shows_its_first_rows_then_all_of_them(tui_workspace, player, monkeypatch):
    import screens.catalog

    monkeypatch.setattr(screens.catalog, "FIRST_ROWS", 2)  # "large": more tracks than the first screenful
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await _settle(app, pilot)
        assert screen_lines(app)[-2].strip().startswith("5 of 5 tracks shown")
        assert len(app.screen.query_one("#tracks", LineTable).items) == 5
        tracks = app.screen.query_one("#tracks", LineTable).items
        assert gc.get_freeze_count() > 0 and not any(gc.is_tracked(t) and _collectable(t) for t in tracks), \
            "the loaded catalog is left out of later full collections (they landed on key presses)"
    assert gc.get_freeze_count() == 0, "the collector gets everything back when the app ends"


def _collectable(obj) -> bool:
    """Whether ``obj`` is in a generation the collector scans (not frozen)."""
    return any(o is obj for generation in range(3) for o in gc.get_objects(generation))


async def test_filter_explains_a_term_it_cannot_use_and_counts_matches(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await _settle(app, pilot)
        await pilot.press("slash", *"foo:bar")
        assert "unknown filter 'foo:'" in screen_lines(app)[-2]
        app.screen.query_one("#filter", Input).value = "status:bogus"
        await pilot.pause()
        assert "no status 'bogus' (known: accepted, rejected, error)" in screen_text(app)
        app.screen.query_one("#filter", Input).value = "-status:rejected -status:error"
        await pilot.pause()
        assert "3 of 5 tracks shown" in screen_lines(app)[-2]
        rows = [r for r in region_lines(app, "#tracks")[1:] if r]
        assert len(rows) == 3 and not any("crushed" in r for r in rows)
        app.screen.query_one("#filter", Input).value = "status:rejected"
        await pilot.pause()
        assert region_lines(app, "#detail")[0].strip(" │") == "crushed master"  # the detail follows the filter
        app.screen.query_one("#filter", Input).value = ""
        await pilot.pause()
        assert "5 of 5 tracks shown" in screen_lines(app)[-2]
        assert region_lines(app, "#detail")[0].strip(" │") == "crushed master"  # the cursor stays on its track


# 2 --------------------------------------------------------------------------------------------

@pytest.mark.slow
async def test_after_a_cancelled_import_the_table_and_the_detail_show_the_catalog(tui_workspace, player, tmp_path):
    for i in range(4):
        lofi_file(tmp_path / "new" / f"fresh beat {i}.wav", 31, seed=300 + i)
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _settle(app, pilot)
        screen = app.screen
        screen.run_import(tmp_path / "new")
        await pilot.press("escape")  # cancel at once: at most the files already in progress are imported
        for _ in range(600):
            await _settle(app, pilot)
            if "Import cancelled" in toasts(app):
                break
        assert "Import cancelled" in toasts(app)
        await _settle(app, pilot)
        stored = sorted(t.title for t in Catalog(tui_workspace.catalog_path).all())
        table = screen.query_one("#tracks", LineTable)
        assert sorted(t.title for t in table.items) == stored and len(stored) < 6 + 4
        shown = region_lines(app, "#tracks")
        assert all(any(line.startswith(title) for line in shown) for title in stored)  # every stored track on screen
        highlighted = table.highlighted.title
        assert region_lines(app, "#detail")[0].strip(" │") == highlighted  # the detail pane follows the table
        await pilot.press("r")
        await _settle(app, pilot)
        assert sorted(t.title for t in table.items) == stored


# 3: focus traps --------------------------------------------------------------------------------

async def test_escape_and_enter_leave_the_filter_and_screen_keys_work_again(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await _settle(app, pilot)
        await pilot.press("slash", *"rain", "escape")
        assert app.screen.query_one("#filter", Input).value == "rain"
        await pilot.press("2")
        assert app.screen.TITLE == "2 Review" and "2 Review" in screen_lines(app)[0]
        await pilot.press("1", "slash", *"late", "enter", "3")
        await pilot.pause()
        assert "3 Training" in screen_lines(app)[0]


async def test_the_header_names_the_model_even_when_the_workspace_path_is_long(tmp_path, player):
    workspace = build_workspace(tmp_path / ("a-very-long-folder-name-" * 4) / "deeper" / "my-lofi-ws")
    app = LofiApp(workspace, base_model=str(tmp_path / "checkpoints" / "acestep-v15-xl-base"), player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = screen_lines(app)[0]
        assert "…/deeper/my-lofi-ws" in header and "model: acestep-v15-xl-base" in header


async def test_function_keys_switch_screens_from_inside_a_text_field(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one("#f-run", Input).focus()
        await pilot.press("4", "2")  # digits are part of a run name ...
        assert app.screen.TITLE == "3 Training" and app.screen.query_one("#f-run", Input).value.endswith("42")
        await pilot.press("f1")  # ... F1-F6 switch all the same
        await pilot.pause()
        assert app.screen.TITLE == "1 Catalog" and "1 Catalog" in screen_lines(app)[0]


async def test_training_keys_work_from_a_form_field(tui_workspace, player):
    write_run(tui_workspace, "demo", steps=30)
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        app.screen.query_one("#f-max_steps", Input).focus()
        await pilot.pause()
        assert "^x Stop" in screen_lines(app)[-1], "Stop stays in the Footer while a field has focus"
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert "no run attached" in toasts(app)
        await pilot.press("escape")
        assert not isinstance(app.focused, Input)
        field = app.screen.query_one("#f-max_steps", Input)
        value = field.value
        await pilot.press("plus", "1")
        assert field.value == value, "+ and 1 were not typed into the field"
        assert app.screen.TITLE == "1 Catalog"
        await pilot.press("3")
        await pilot.click("#f-run")
        await pilot.click("#loss-chart")
        assert app.focused.id == "loss-chart", "clicking the chart leaves the field"


async def test_a_form_checkbox_says_on_or_off_in_words(tui_workspace, player):
    """A compact checkbox draws its X either way; without colour (many ssh terminals) only words tell."""
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        assert region_lines(app, "#f-rslora") == ["▐X▌ on"] and region_lines(app, "#f-gradient_checkpointing") == [
            "▐X▌ off"], "the whole box and its word fit (it was cut to '▐X…')"
        await pilot.click("#f-rslora")
        await pilot.pause()
        assert region_lines(app, "#f-rslora") == ["▐X▌ off"] and app.screen.query_one("#f-rslora").value is False


# 4: runs and processes -------------------------------------------------------------------------

def test_a_finished_unreaped_child_is_not_a_running_run(tui_workspace):
    run = write_run(tui_workspace, "done", steps=3)
    child = subprocess.Popen([sys.executable, "-c", "pass", str(run.resolve())])
    (run / PID_FILE).write_text(str(child.pid))
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        pass  # the child exits at once; nobody has reaped it yet
    assert run_status(run, read_metrics(run / "metrics.jsonl")) == "interrupted"
    child.wait()


async def test_the_dashboard_reattaches_to_a_running_run_and_shows_its_settings(tui_workspace, player):
    run = write_run(tui_workspace, "live", steps=30)
    (run / "config.json").write_text(json.dumps({"run": "live", "base_model": "/models/tiny", "max_steps": 100,
                                                 "rank": 8, "learning_rate": 0.0003}))
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", str(run.resolve())],
                             stdin=subprocess.PIPE)
    (run / PID_FILE).write_text(str(child.pid))
    try:
        app = LofiApp(tui_workspace, player=player)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")  # it attaches at once: its follower runs until the screen goes, so no settling
            for _ in range(200):
                await pilot.pause(0.02)
                if app.screen.TITLE == "3 Training" and len(app.screen.metrics.steps) == 30:
                    break
            await pilot.pause()
            text = screen_text(app)
            assert "live running · step 30/100" in text and "steps/s" in text
            assert app.screen.query_one("#f-rank", Input).value == "8"
            assert app.screen.query_one("#f-learning_rate", Input).value == "0.0003"
            assert "model: tiny" in screen_lines(app)[0]
            child.stdin.close()
            child.wait()
            for _ in range(100):  # the screen polls its run once a second
                await pilot.pause(0.05)
                if "interrupted" in screen_text(app):
                    break
            text = screen_text(app)
            assert "live interrupted" in text and "steps/s" not in text and "ETA" not in text
            assert "live (interrupted, step 30/100)" in "".join(region_lines(app, "#runs")), \
                "the run picker still names the attached run after its list is refreshed"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


async def test_at_80x24_the_loss_chart_and_all_three_stats_lines_are_on_screen(tui_workspace, player):
    from tests.runs import fake_checkpoints

    run = write_run(tui_workspace, "run-20261127-101500", steps=60)  # a run named as the form names it
    fake_checkpoints(run, [20, 40])
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        app.screen.query_one("#runs", Select).value = run.name
        for _ in range(100):
            await pilot.pause(0.02)
            if "checkpoints: 20, 40" in screen_text(app):
                break
        stats = region_lines(app, "#train-stats")
        assert stats[0].strip().startswith("run-20261127-101500 interrupted · step 60/100  loss")
        assert stats[1].strip().startswith("lr 1.00e-04  grad 0.400  · ctrl+r resumes")
        assert stats[2].strip() == "checkpoints: 20, 40", "a wrapped first line once pushed this line out"
        chart = region_lines(app, "#loss-chart")
        assert "loss: run-20261127-101500" in chart[0]
        assert any("┤" in line for line in chart) and chart[-1].split()[-1] == "60", "axis labels up to step 60"


async def test_events_read_as_sentences_and_smoothing_steps_evenly(tui_workspace, player):
    run = write_run(tui_workspace, "done", steps=20)
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"type": "event", "event": "checkpoint_saved", "step": 20, "time": 20,
                             "path": "checkpoints/step-20", "deleted": []}) + "\n")
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        app.screen.query_one("#runs", Select).value = "done"
        for _ in range(100):
            await pilot.pause(0.02)
            if "checkpoint_saved" in screen_text(app):
                break
        text = screen_text(app)
        assert "checkpoint_saved  path checkpoints/step-20" in text and "{'path'" not in text
        for key, shown in (("plus", "0.95"), ("plus", "0.98"), ("plus", "0.99"), ("minus", "0.98")):
            await pilot.press(key)
            await pilot.pause()
            assert f"smoothing {shown})" in screen_text(app)


async def test_a_bad_number_names_its_field(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player, base_model="/models/none")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("3")
        await _settle(app, pilot)
        app.screen.query_one("#f-max_steps", Input).value = "ten"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Steps: 'ten' is not a whole number" in toasts(app)


# 5: dialogs fit and scroll ---------------------------------------------------------------------

async def test_help_fits_80x24_and_scrolls_to_its_end(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        dialog = app.screen.query_one(".dialog")
        assert app.screen.region.contains_region(dialog.region)
        dialog.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "6 Export" in screen_text(app), "the last section is reachable"


async def test_style_distribution_scrolls_to_the_last_style(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        assert "VOCAL-05" not in screen_text(app)
        app.screen.query_one(".dialog").scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert "VOCAL-05" in screen_text(app)


# 6, 7, 11: review ------------------------------------------------------------------------------

async def test_flags_are_known_ones_only_with_a_clear_message(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    catalog = Catalog(tui_workspace.catalog_path)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        tid = app.screen.current_track.id
        await pilot.press("f")
        await pilot.pause()
        assert "known: needs_review, excluded" in screen_text(app)
        await pilot.press(*"exc")
        await pilot.pause()
        assert "excluded" in "\n".join(region_lines(app, "#answer")), "the known flag is offered as a completion"
        app.screen.query_one("#answer", Input).value = "bogus_flag"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert "unknown flag 'bogus_flag'" in toasts(app)
        assert "bogus_flag" not in catalog.get(tid).flags


async def test_review_shows_text_as_typed_and_moves_on_after_approve(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        await pilot.press("l")
        await pilot.pause()
        assert "[Verse]|line one" in screen_text(app), "the lyrics hint keeps its brackets"
        app.screen.query_one("#answer", Input).value = "[Verse]|late bus home"
        await pilot.press("enter")
        await _settle(app, pilot)
        card = "\n".join(region_lines(app, "#review-card"))
        assert "with lyrics (set)" in card and "instrumental" not in card.split("Prompt", 1)[1].split("\n")[0]
        await pilot.press("n")
        assert "Vocals  not set" in "\n".join(region_lines(app, "#review-card"))
        await pilot.press("i")
        await _settle(app, pilot)
        assert "Vocals  instrumental (set)" in "\n".join(region_lines(app, "#review-card"))
        await pilot.press("p")
        first = next(line for line in region_lines(app, "#review-card") if line.strip())
        await pilot.press("a")
        await _settle(app, pilot)
        assert next(line for line in region_lines(app, "#review-card") if line.strip()) != first, \
            "approve moves to the next track"


async def test_style_picker_ranks_words_first_and_arrows_move_from_the_search_box(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        await pilot.press("s", *"rain")
        await pilot.pause()
        options = app.screen.query_one("#styles", OptionList)
        assert options.get_option_at_index(options.highlighted).id == "SEASON-06"
        await pilot.press("down")
        assert options.highlighted == 1 and isinstance(app.focused, Input)


# 8, 9 ------------------------------------------------------------------------------------------

async def test_palette_lists_every_screens_actions_with_their_screen(tui_workspace, player):
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(100, 32)) as pilot:
        await _settle(app, pilot)
        await pilot.press("ctrl+p", *"approve")
        await pilot.pause(0.3)  # the palette searches in the background: wait for its list
        for _ in range(50):
            if "Review: Approve" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert "Review: Approve" in screen_text(app)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.screen.TITLE == "2 Review"
    assert all(s.name in help_text() for s in SCREENS)


# robustness -----------------------------------------------------------------------------------

async def test_a_damaged_catalog_is_one_clear_message_and_nothing_changes(tui_workspace, player):
    tui_workspace.catalog_path.write_text('{"tracks": {"1": {"title": "x"')
    before = tui_workspace.catalog_path.read_bytes()
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32), notifications=True) as pilot:
        for _ in range(200):  # the catalog loads in a worker: wait for its failure, not a fixed time
            await _settle(app, pilot)
            # a toast wraps the path anywhere (even inside "catalog.json"): compare without the spaces
            if "catalog.json" in (text := toasts(app).replace(" ", "")):
                break
        assert "catalog.json" in text and "Traceback" not in text
        await pilot.press("2")
        assert app.screen.TITLE == "2 Review", "the app goes on"
    assert tui_workspace.catalog_path.read_bytes() == before


@pytest.mark.parametrize("key", ["1", "4"])  # screens with a worker handler of their own, too
async def test_an_unexpected_worker_error_is_one_line_and_the_app_goes_on(tui_workspace, player, key):
    app = LofiApp(tui_workspace, player=player)

    def broken() -> None:
        raise ZeroDivisionError("division by zero in a worker")

    async with app.run_test(size=(120, 32), notifications=True) as pilot:
        await pilot.press(key)
        await _settle(app, pilot)
        app.screen.run_worker(broken, thread=True, exit_on_error=False, name="testing the policy")
        await _settle(app, pilot)
        text = toasts(app)
        assert "ZeroDivisionError: division by zero in a worker" in text and "testing the policy" in text
        assert text.count("testing the policy") == 1, "one failure, one notification"
        await pilot.press("2")
        assert app.screen.TITLE == "2 Review"


@functools.cache
def _loaded_by_importing_the_dashboard() -> frozenset[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import lofi_tui.app"], capture_output=True,
                         text=True, check=True).stderr
    return frozenset(line.rsplit("|", 1)[-1].strip() for line in out.splitlines() if line.startswith("import time:"))


def test_importing_the_dashboard_does_not_import_torch():
    loaded = _loaded_by_importing_the_dashboard()
    assert "lofi_tui.app" in loaded and "torch" not in loaded and "scipy.signal" not in loaded


def test_importing_the_dashboard_leaves_what_the_first_screen_does_not_need_for_later():
    """Other screens load when first shown, numpy when something plays or draws a waveform, markdown-it with help."""
    later = {"numpy", "soundfile", "markdown_it", "lofi_tui.widgets.chart", "screens.catalog", "screens.review",
             "screens.training", "screens.checkpoints", "screens.listening", "screens.export"}
    assert "lofi_tui.app" in _loaded_by_importing_the_dashboard()
    assert not later & _loaded_by_importing_the_dashboard()
