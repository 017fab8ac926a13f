"""Taking a test: balanced and reproducible plans, hidden identities, durable answers, a tamper-evident log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.listening.design import ListeningError, draw_plan, draw_prompts, find_test
from engine.listening.log import HEAD, LOG
from engine.listening.report import model_card_lines, report_for
from engine.listening.session import Session
from tests.engine.listening.helpers import answer_all, synthetic_test


def test_plans_are_balanced_and_reproducible_from_the_seed():
    for trials, practice in ((16, 0), (20, 3), (7, 2)):
        plan = draw_plan(trials, practice, seed=1234)
        assert plan == draw_plan(trials, practice, seed=1234)
        counted = [t for t in plan if not t.practice]
        swaps = Counter(t.swap for t in counted)
        assert abs(swaps[True] - swaps[False]) <= trials % 2 and len(counted) == trials
        assert [t.practice for t in plan] == [True] * practice + [False] * trials  # practice first
        assert sorted(t.material for t in plan) == list(range(trials + practice))  # each material once
    orders = {tuple(t.swap for t in draw_plan(16, 0, seed)) for seed in range(20)}
    assert len(orders) == 20  # the seed decides the order
    assert draw_prompts(40, 5) == draw_prompts(40, 5) and draw_prompts(40, 5) != draw_prompts(40, 6)
    assert len({m.style for m in draw_prompts(38, 5)}) == 38  # every style before a repeat


def test_a_session_shows_trial_k_of_n_and_the_clips_without_identities(workspace):
    test = synthetic_test(workspace, "abx", trials=4, practice=1)
    session = Session(test)
    view = session.current()
    assert (view.number, view.of, view.practice) == (1, 1, True) and set(view.clips) == {"A", "B", "X"}
    assert view.clips["X"] in (view.clips["A"], view.clips["B"])
    feedback = session.answer("A")
    assert feedback is not None and feedback.truth in ("X was A", "X was B")
    view = session.current()
    assert (view.number, view.of, view.practice) == (1, 4, False)
    assert session.answer("B") is None  # counted trials give no feedback
    with pytest.raises(ListeningError, match="not an answer"):
        session.answer("none")


def test_preference_hides_which_source_is_which(workspace):
    test = synthetic_test(workspace, "preference", trials=6)
    session = Session(test)
    seen = set()
    while (view := session.current()) is not None:
        seen.add(view.clips["A"].name[-6:])  # which side's clip is shown as A
        session.answer("none")
    assert seen == {"-a.wav", "-b.wav"}  # A is sometimes source a, sometimes source b


def test_a_finished_session_is_read_only_and_reports_its_score(workspace):
    test = synthetic_test(workspace, "abx", trials=6, practice=2)
    session = Session(test)
    answer_all(session, correct=5)
    assert session.finished and session.current() is None
    with pytest.raises(ListeningError, match="finished: its answers are read-only"):
        session.answer("A")
    assert not os.access(test.dir / LOG, os.W_OK) or os.geteuid() == 0
    assert oct((test.dir / LOG).stat().st_mode & 0o777) == "0o444"
    report = report_for(find_test(workspace, test.id[:6]))
    assert (report.correct, report.answered, report.status) == (5, 6, "finished")  # practice not counted


def test_an_unfinished_report_shows_progress_but_no_score(workspace):
    test = synthetic_test(workspace, "abx", trials=6)
    session = Session(test)
    session.answer("A")
    session.answer("B")
    report = report_for(test)
    assert report.status == "in progress" and report.answered == 2
    assert report.correct is None and report.p_value is None and report.ci_low is None
    assert "results stay hidden" in report.summary


def _log_lines(test) -> list[bytes]:
    return (test.dir / LOG).read_bytes().splitlines(keepends=True)


@pytest.fixture
def answered(workspace):
    test = synthetic_test(workspace, "abx", trials=5)
    session = Session(test)
    for choice in "ABBA":
        session.answer(choice)
    return test


def test_verify_accepts_an_untouched_log(answered):
    result = Session(answered).log.verify()
    assert result.ok and result.lines == 4 and result.problems == []


def test_an_edited_line_breaks_the_chain(answered):
    lines = _log_lines(answered)
    lines[1] = lines[1].replace(b'"choice": "B"', b'"choice": "A"')
    (answered.dir / LOG).write_bytes(b"".join(lines))
    result = Session(answered).log.verify()
    assert not result.ok and result.problems == ["line 3: hash chain broken (line 2 was changed)"]


def test_an_edited_last_line_or_definition_is_caught_too(answered):
    lines = _log_lines(answered)
    (answered.dir / LOG).write_bytes(b"".join(lines[:-1]) + lines[-1].replace(b'"A"', b'"B"'))
    assert Session(answered).log.verify().problems == ["line 4 was changed (it does not match head.json)"]
    (answered.dir / LOG).write_bytes(b"".join(lines))
    definition = json.loads((answered.dir / "test.json").read_text())
    definition["seed"] += 1
    (answered.dir / "test.json").write_text(json.dumps(definition))
    assert "the test definition (test.json) was changed" in Session(answered).log.verify().problems[0]


def test_removed_lines_are_caught_by_the_head(answered):
    lines = _log_lines(answered)
    (answered.dir / LOG).write_bytes(b"".join(lines[:2]))
    problems = Session(answered).log.verify().problems
    assert problems == ["the log has 2 lines but head.json records 4: lines were removed from the end"]


def test_a_torn_last_write_is_reported_then_dropped_on_resume(answered):
    with open(answered.dir / LOG, "ab") as fh:
        fh.write(b'{"choice": "A", "seq"')  # killed mid-write: never acknowledged
    assert Session.at(answered.dir).note.startswith("an answer being written")
    session = Session.at(answered.dir)
    assert session.answered == 4 and session.current().number == 5 and session.log.verify().ok


DRIVER = """
import sys
from pathlib import Path
from engine.listening.session import Session

session = Session.at(Path(sys.argv[1]))
for line in sys.stdin:
    session.answer(line.strip())
    print(f"saved {session.answered}", flush=True)
"""


def test_kill_9_mid_session_loses_no_answered_trial(workspace):
    test = synthetic_test(workspace, "abx", trials=8)
    child = subprocess.Popen([sys.executable, "-c", DRIVER, str(test.dir)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    for i, choice in enumerate("ABBAB", 1):
        child.stdin.write(choice + "\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == f"saved {i}"  # acknowledged: the answer is on disk
    child.send_signal(signal.SIGKILL)
    child.wait()
    session = Session.at(test.dir)
    assert [r["choice"] for r in session.records] == list("ABBAB")
    assert session.current().number == 6 and session.log.verify().ok
    assert json.loads((test.dir / HEAD).read_text())["lines"] == 5


def test_a_truncated_log_takes_no_more_answers_and_its_report_says_why(answered):
    lines = _log_lines(answered)
    (answered.dir / LOG).write_bytes(b"".join(lines[:2]))
    session = Session.at(answered.dir)
    with pytest.raises(ListeningError, match="fails verification"):
        session.answer("A")
    assert Session.at(answered.dir).log.verify().problems  # still detected: nothing was rewritten


def test_the_model_card_line_of_a_checkpoints_precisions(workspace):
    test = synthetic_test(workspace, "preference", trials=20, run="lofi-v1", step=1200)
    answer_all(Session(test), correct=9, none=6)
    [line] = model_card_lines(workspace, "lofi-v1", 1200)
    assert line.startswith("int8 vs fp32: 9 wins, 6 ties, 5 losses of 20 (blind preference, 1 listener; met, p = ")
    assert model_card_lines(workspace, "lofi-v1", 800) == []
