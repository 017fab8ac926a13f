"""The package works when installed, not only from the source tree: data files ship inside it."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_wheel_runs_from_another_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(wheels)], check=True, capture_output=True, timeout=600)
    site = tmp_path / "site"
    with zipfile.ZipFile(next(wheels.glob("lofi_tui-*.whl"))) as wheel:
        wheel.extractall(site)  # what pip would put in site-packages (dependencies come from this venv)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("LOFI_STYLES", None)

    def lofi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lofi_tui", "--workspace", "ws", *args], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=600, check=True)

    where = subprocess.run([sys.executable, "-c", "import engine; print(engine.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(site), "the test must exercise the installed copy"
    assert not (site / "engine" / "labels" / "styles.toml").is_symlink()
    styles = json.loads(lofi("styles", "--json").stdout)["styles"]
    assert len(styles) == 38 and styles[0]["id"] == "CORE-01"
    lofi("model", "init-tiny", "tiny")
    assert (elsewhere / "tiny" / "model_index.json").exists()
