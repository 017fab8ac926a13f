"""The README's first quick-start command runs the demo; it must keep working."""

import os
import re
import subprocess
import sys

import pytest
import soundfile as sf

from engine.catalog.store import Catalog


@pytest.mark.slow
def test_demo_runs_the_whole_loop_and_shows_every_ingest_outcome(tmp_path):
    ws = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "lofi_tui", "--workspace", str(ws), "demo"],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    tracks = Catalog(ws / "catalog.json").all()
    reasons = {t.reason for t in tracks}
    assert {"too_short", "excessive_clipping", "excessive_silence", "corrupt"} <= reasons
    accepted = [t for t in tracks if t.status == "accepted"]
    assert len(accepted) == 7
    assert sum(t.duplicate_of is not None for t in accepted) == 1
    assert sum("missing_license" not in t.flags for t in accepted) == 4
    assert {t.split for t in accepted} <= {"train", "validation"}
    assert "rainy window" in proc.stdout
    assert re.search(r"step +12  finished", proc.stderr)
    run = ws / "runs" / "demo"
    assert sorted(p.name for p in (run / "eval").glob("step-*.json")) == ["step-0.json", "step-12.json", "step-6.json"]
    assert (run / "eval" / "best.json").exists() and "Checkpoints of demo" in proc.stdout
    assert (ws / "tracks" / "thematic").is_dir()  # the demo labels one track THEME-01
    bundle = ws / "exports" / "demo-step-12" / "int8"
    assert (bundle / "manifest.json").exists() and str(bundle.resolve()) in proc.stdout.replace("\n", "")  # the setup line
    info = sf.info(ws / "demo-clip.wav")
    assert info.samplerate == 48000 and info.channels == 2 and abs(info.duration - 5.0) < 1e-3
