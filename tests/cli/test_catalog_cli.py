"""The CLI as a user runs it: a real `lofi` process per command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audio_files import lofi_file


def lofi(ws: Path, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "lofi_tui", "--workspace", str(ws), *args],
                          capture_output=True, text=True, timeout=300, input=input, env={**os.environ, "COLUMNS": "120"})
    if check and proc.returncode != 0:
        raise AssertionError(f"lofi {' '.join(args)} failed:\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    lofi_file(d / "alpha.mp3", 31, seed=1)
    lofi_file(d / "beta.wav", 31, seed=2)
    (d / "broken.flac").write_bytes(b"fLaC broken")
    sidecar = d.parent / f"{d.name}.csv"
    sidecar.write_text("file,provider,license,cost,currency,acquired\nalpha.mp3,Shop,CC-BY,1,USD,2026-02-03\n")
    return d, sidecar


def test_ingest_json_is_one_document_with_results_and_summary(tmp_path, sources):
    folder, sidecar = sources
    proc = lofi(tmp_path / "ws", "ingest", str(folder), "--jobs", "2", "--sources", str(sidecar), "--json")
    doc = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert doc["summary"]["accepted"] == 2 and doc["summary"]["error"] == 1
    keys = {"source", "status", "reason", "message", "track_id", "output", "quality_score", "duration_sec",
            "duplicate_of"}
    assert all(set(r) == keys for r in doc["results"])
    again = lofi(tmp_path / "ws", "ingest", str(folder / "broken.flac"))  # the table says why it is still out
    assert "skipped (last error:" in again.stdout and "--retry-errors" in again.stdout
    retried = json.loads(lofi(tmp_path / "ws", "ingest", str(folder / "broken.flac"), "--retry-errors",
                              "--json").stdout)
    assert [r["status"] for r in retried["results"]] == ["error"]
    broken = next(r for r in doc["results"] if r["source"].endswith("broken.flac"))
    assert broken["status"] == "error" and broken["reason"] == "corrupt" and "broken.flac" in broken["message"]
    assert all(Path(r["output"]).is_absolute() for r in doc["results"] if r["output"])

    tracks = json.loads(lofi(tmp_path / "ws", "tracks", "--status", "accepted", "--json").stdout)["tracks"]
    assert {t["title"] for t in tracks} == {"alpha", "beta"}
    missing = json.loads(lofi(tmp_path / "ws", "tracks", "--flag", "missing_license", "--json").stdout)["tracks"]
    assert {t["title"] for t in missing} == {"beta", "broken"}

    edited = json.loads(lofi(tmp_path / "ws", "source", "beta", "--license", "owned", "--cost", "0",
                             "--acquired", "2026-05-06", "--json").stdout)
    assert edited["source"]["license"] == "owned" and "missing_license" not in edited["flags"]

    stats = json.loads(lofi(tmp_path / "ws", "stats", "--json").stdout)
    assert stats["by_status"] == {"accepted": 2, "error": 1} and stats["by_style"]["CORE-01"] == 2
    assert len(stats["by_style"]) == 38 and "VOCAL-05" in stats["underrepresented"]

    split = json.loads(lofi(tmp_path / "ws", "split", "--json").stdout)
    assert split["totals"] == {"train": 2, "validation": 0}

    again = json.loads(lofi(tmp_path / "ws", "ingest", str(folder), "--json").stdout)
    assert again["summary"]["skipped"] == 3


def test_human_output_summarises_and_lists_problems(tmp_path, sources):
    folder, _ = sources
    proc = lofi(tmp_path / "ws", "ingest", str(folder), "--jobs", "1")
    assert "broken.flac" in proc.stdout and "corrupt" in proc.stdout
    assert "2 accepted" in proc.stderr and "1 errors" in proc.stderr
    table = lofi(tmp_path / "ws", "tracks").stdout
    assert "alpha" in table and "corrupt" in table


@pytest.mark.parametrize(
    "args,message",
    [
        (["source", "nothing-like-this", "--license", "x"], "no track matches 'nothing-like-this'"),
        (["source", "alpha", "--acquired", "31/12/2026"], "YYYY-MM-DD"),
    ],
)
def test_bad_input_is_one_clear_error_line(tmp_path, sources, args, message):
    folder, _ = sources
    lofi(tmp_path / "ws", "ingest", str(folder / "alpha.mp3"), "--jobs", "1")
    proc = lofi(tmp_path / "ws", *args, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_sidecar_stops_before_any_work(tmp_path, sources):
    folder, _ = sources
    bad = tmp_path / "bad.csv"
    bad.write_text("file,license,cost\nalpha.mp3,x,lots\n")
    proc = lofi(tmp_path / "ws", "ingest", str(folder), "--sources", str(bad), check=False)
    assert proc.returncode == 1 and "bad.csv line 2: cost 'lots' is not a number" in proc.stderr
    assert not (tmp_path / "ws" / "catalog.json").exists()


def test_workspace_from_environment(tmp_path, sources):
    folder, _ = sources
    env_ws = tmp_path / "from-env"
    proc = subprocess.run([sys.executable, "-m", "lofi_tui", "ingest", str(folder / "alpha.mp3"), "--json"],
                          capture_output=True, text=True, env={**os.environ, "LOFI_WORKSPACE": str(env_ws)})
    assert proc.returncode == 0, proc.stderr
    assert (env_ws / "catalog.json").exists()


def test_stats_warn_about_unlicensed_training_and_remove_keeps_the_source(tmp_path, sources):
    folder, sidecar = sources
    ws = tmp_path / "ws"
    lofi(ws, "ingest", str(folder), "--jobs", "1", "--sources", str(sidecar))
    stats = lofi(ws, "stats")
    assert "warning 1 track(s) headed for training have no license recorded (beta)" in stats.stderr
    kept = lofi(ws, "remove", "beta", input="n\n", check=False)
    assert kept.returncode == 1 and "Its source file stays on disk" in kept.stderr
    assert (folder / "beta.wav").exists() and "beta" in lofi(ws, "tracks").stdout
    removed = json.loads(lofi(ws, "remove", "beta", "--yes", "--json").stdout)
    assert removed["source"] == str((folder / "beta.wav").resolve()) and len(removed["deleted"]) == 4
    assert (folder / "beta.wav").exists() and "beta" not in lofi(ws, "tracks").stdout
    assert "no license" not in lofi(ws, "stats").stderr
