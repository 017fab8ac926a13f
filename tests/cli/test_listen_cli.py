"""``lofi listen report`` and ``verify`` from a shell: text, JSON and exit codes, without loading a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from engine.listening.log import LOG
from engine.listening.session import Session
from engine.workspace import Workspace
from lofi_tui.cli import main
from tests.engine.listening.helpers import answer_all, synthetic_test


def _run(ws: Workspace, *args: str):
    return CliRunner().invoke(main, ["--workspace", str(ws.root), "listen", *args])


def test_report_json_has_the_figures_and_pools_listeners(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    ana = synthetic_test(ws, "preference", trials=20, seed=1, listener="ana", test_id="preference-ana")
    ben = synthetic_test(ws, "preference", trials=20, seed=2, listener="ben", test_id="preference-ben")
    answer_all(Session(ana), correct=9, none=6)
    answer_all(Session(ben), correct=12, none=2)
    done = _run(ws, "report", "preference-ana", "--json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert {k: report[k] for k in ("kind", "trials", "wins", "ties", "losses", "verdict")} == {
        "kind": "preference", "trials": 20, "wins": 9, "ties": 6, "losses": 5, "verdict": "met"}
    assert 0 < report["ci_low"] < report["ci_high"] < 1 and 0 < report["p_value"] <= 1
    assert report["pooled"]["wins"] == 21 and report["pooled"]["listeners"] == ["ana", "ben"]
    text = _run(ws, "report").output
    assert "int8 (A) against fp32: 21 wins, 8 ties, 11 losses of 40" in text and "listener ben" in text


def test_an_unfinished_test_reports_no_score(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    test = synthetic_test(ws, "abx", trials=16)
    Session(test).answer("A")
    report = json.loads(_run(ws, "report", test.id, "--json").output)
    assert report["status"] == "in progress" and report["answered"] == 1
    assert report["correct"] is None and report["p_value"] is None and report["verdict"] == "unfinished"


def test_verify_passes_an_intact_log_and_fails_an_edited_one(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    test = synthetic_test(ws, "abx", trials=4)
    session = Session(test)
    for choice in "ABA":
        session.answer(choice)
    ok = _run(ws, "verify", test.id)
    assert ok.exit_code == 0 and "answer log intact (3 answers" in ok.output
    lines = (test.dir / LOG).read_text().splitlines(keepends=True)
    (test.dir / LOG).write_text(lines[0].replace('"A"', '"B"') + "".join(lines[1:]))
    bad = _run(ws, "verify", test.id, "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.output)["problems"] == ["line 2: hash chain broken (line 1 was changed)"]
    missing = _run(ws, "verify", "nope")
    assert missing.exit_code == 1 and "no listening test 'nope'" in missing.output


def test_report_and_verify_do_not_load_torch(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    synthetic_test(ws, "abx", trials=2, test_id="abx-light")
    code = ("import sys; from click.testing import CliRunner; from lofi_tui.cli import main; "
            f"r = CliRunner().invoke(main, ['-w', {str(ws.root)!r}, 'listen', 'report', 'abx-light']); "
            "assert r.exit_code == 0, r.output; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'onnxruntime', 'scipy')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
