import json
import re

import pytest

from engine.catalog.split import assign_splits
from engine.catalog.store import Catalog
from tests.audio_files import lofi_file
from tests.cli.test_catalog_cli import lofi

pytestmark = pytest.mark.slow


def test_model_tools_train_and_runs_from_the_command_line(tmp_path):
    ws = tmp_path / "ws"
    model = tmp_path / "tiny"
    lofi(ws, "model", "init-tiny", str(model))
    summary = json.loads(lofi(ws, "model", "check", str(model), "--json").stdout)
    assert summary["tiny"] is True and {c["name"] for c in summary["components"]} >= {"transformer", "vae"}
    assert summary["total_parameters"] > 0 and set(summary["training_memory_gb"]) == {"64", "256"}

    missing = lofi(ws, "train", "--run", "r1", "--base-model", str(tmp_path / "absent"), check=False)
    assert missing.returncode == 1 and "hf download" in missing.stderr and not (ws / "runs" / "r1").exists()

    lofi_file(tmp_path / "src" / "a.wav", 31, seed=90)
    lofi(ws, "ingest", str(tmp_path / "src"), "--jobs", "1", "--json")
    assign_splits(Catalog(ws / "catalog.json"), ratio=0.0)
    args = ["train", "--run", "r1", "--base-model", str(model), "--max-steps", "3", "--checkpoint-every", "2",
            "--warmup-steps", "1", "--crop-sec", "2", "--rank", "4"]
    first = lofi(ws, *args)
    assert re.search(r"step +3  finished", first.stderr) and "checkpoint_saved" in first.stderr
    again = lofi(ws, *args[:5], "--max-steps", "5")  # the same command again extends and resumes
    assert "resuming run r1" in again.stderr and re.search(r"step +5  finished", again.stderr)
    runs = json.loads(lofi(ws, "runs", "--json").stdout)["runs"]
    assert runs[0]["name"] == "r1" and runs[0]["status"] == "finished" and runs[0]["step"] == 5
    assert runs[0]["checkpoints"][-1] == 5
    table = json.loads(lofi(ws, "checkpoints", "--run", "r1", "--json").stdout)["checkpoints"]
    assert table[0]["step"] is None  # the base model's row (the step-0 baseline) comes first
    assert [row["step"] for row in table[1:]] == runs[0]["checkpoints"] and not any(row["best"] for row in table)
    no_reference = lofi(ws, "eval", "--run", "r1", "--duration", "1", "--steps", "1", check=False)
    assert no_reference.returncode == 1 and "no validation tracks" in no_reference.stderr
