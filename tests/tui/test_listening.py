"""Screen 5 and ``lofi listen run``: sessions hide the score and identities, switch at the same position,
and the dashboard opens a prefilled new test."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from engine.listening.session import Session, is_correct
from engine.workspace import Workspace
from lofi_tui.app import LofiApp
from screens.listening import ListenApp, NewTestDialog, SessionScreen
from tests.engine.listening.helpers import synthetic_test
from tests.tui.conftest import RecordingPlayer


async def _settle(app, pilot):
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def _text(app) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(Static))


async def _take(directory, right: bool) -> tuple[list[str], str]:
    """Answer every trial (all right or all wrong); the screen text at each trial, and at the end."""
    session = Session.at(directory)
    app = ListenApp(session, player=RecordingPlayer())
    seen = []
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(app, pilot)
        while (view := session.current()) is not None:
            await pilot.press("x")
            await _settle(app, pilot)
            app.screen.refresh_player()  # the 5 Hz refresh, now rather than whenever its timer fires
            seen.append(_text(app))
            trial = session.test.plan[session.answered]
            choice = next(c for c in view.choices if bool(is_correct(session.test, trial, c)) == right)
            await pilot.press(choice, "enter")  # shift+a / shift+b, then confirm
            await _settle(app, pilot)
        return seen, _text(app)


async def test_the_screen_shows_trial_k_of_n_and_nothing_that_depends_on_the_score(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    right = synthetic_test(ws, "abx", trials=5, seed=3, test_id="abx-right")
    wrong = synthetic_test(ws, "abx", trials=5, seed=3, test_id="abx-wrong")
    seen_right, end_right = await _take(right.dir, right=True)
    seen_wrong, end_wrong = await _take(wrong.dir, right=False)
    assert [f"trial {k} of 5" in text for k, text in enumerate(seen_right, 1)] == [True] * 5
    # all right or all wrong, the listener sees exactly the same screens: no score, no hint
    assert seen_right == seen_wrong
    for text in seen_right:
        assert "%" not in text and "correct" not in text and "p =" not in text
    assert "5 of 5 correct" in end_right and "0 of 5 correct" in end_wrong  # revealed at the end only


async def test_switching_keeps_the_position_and_loops_work_in_a_session(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    test = synthetic_test(ws, "preference", trials=2)
    player = RecordingPlayer()
    app = ListenApp(Session(test), player=player)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a")
        await _settle(app, pilot)
        view = app.session.current()
        player.pull(0.75)
        await pilot.press("b")
        await _settle(app, pilot)
        assert player.now_playing == view.clips["B"] and player.position() == pytest.approx(0.75)
        await pilot.press("left_square_bracket")
        player.pull(0.5)
        await pilot.press("right_square_bracket")
        assert player.loop == pytest.approx((0.75, 1.25))
        await pilot.press("right")  # seek past the region: the loop brings it back
        player.pull(0.1)
        assert 0.75 <= player.position() < 1.25
        await pilot.press("N", "enter")
        await _settle(app, pilot)
        assert app.session.answered == 1 and player.now_playing is None
        assert "trial 2 of 2" in _text(app)


async def test_a_session_resumes_at_the_first_unanswered_trial(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    test = synthetic_test(ws, "real", trials=4, practice=1)
    session = Session(test)
    session.answer("A")  # practice
    session.answer("B")
    app = ListenApp(Session.at(test.dir), player=RecordingPlayer(available=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(app, pilot)
        assert "trial 2 of 4" in _text(app) and "Which one is the real track?" in _text(app)
        await pilot.press("a")
        await _settle(app, pilot)
        assert [n.message for n in app._notifications].count("no audio output device (test)") == 1


async def test_the_dashboard_lists_tests_and_opens_a_prefilled_new_test(tui_workspace, player):
    synthetic_test(tui_workspace, "abx", trials=3, seed=9)
    app = LofiApp(tui_workspace, player=player)
    async with app.run_test(size=(120, 32)) as pilot:
        await _settle(app, pilot)
        await pilot.press("5")
        await _settle(app, pilot)
        table = app.screen.query_one("#tests", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[5] == "0/3" and table.get_row_at(0)[6] == "unfinished"
        await pilot.press("enter")
        await _settle(app, pilot)
        assert isinstance(app.screen, SessionScreen) and "trial 1 of 3" in _text(app)
        await pilot.press("escape")
        await _settle(app, pilot)
        app.open_listening("preference", "bundle:exports/v1/int8", "bundle:exports/v1/fp32")
        await _settle(app, pilot)
        assert isinstance(app.screen, NewTestDialog)
        assert app.screen.query_one("#field-a", Input).value == "bundle:exports/v1/int8"
        assert app.screen.query_one("#kind").value == "preference"
        await pilot.press("escape")
        await _settle(app, pilot)
        assert app.screen.TITLE == "5 Listening"
