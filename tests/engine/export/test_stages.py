"""Resumable stages shared by concurrent exports (the graph cache): leftovers of killed exports go, the work of
a running one stays, and the first finished build is the one kept."""

from __future__ import annotations

import os
import subprocess
import sys

from engine.export.stages import load_stage, run_stage


def _writes(text: str):
    def build(tmp):
        (tmp / "graph.onnx").write_text(text)
        return {"text": text}
    return build


def test_a_killed_exports_leftover_goes_and_a_running_exports_work_stays(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".graph.tmp-{int(dead.stdout)}-0000beef"
    running = tmp_path / f".graph.tmp-{os.getppid()}-0000cafe"  # the process that started this test is alive
    for leftover in (killed, running):
        leftover.mkdir()
        (leftover / "graph.onnx").write_text("half written")
    record, ran = run_stage(tmp_path / "graph", _writes("whole"))
    assert ran and record["results"] == {"text": "whole"}
    assert not killed.exists() and (running / "graph.onnx").read_text() == "half written"


def test_when_another_export_finished_the_stage_first_its_result_is_kept(tmp_path):
    path = tmp_path / "graph"

    def build_while_another_finishes(tmp):
        run_stage(path, _writes("theirs"))  # the other export renames its stage into place meanwhile
        return _writes("mine")(tmp)

    record, _ = run_stage(path, build_while_another_finishes)
    assert record["results"] == {"text": "theirs"} and (path / "graph.onnx").read_text() == "theirs"
    assert load_stage(path) is not None and [p.name for p in tmp_path.iterdir()] == ["graph"]
