"""The engine must run in a process where Textual and Rich were never imported (as Harlequin checks)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[1]


def test_engine_imports_no_ui_libraries():
    modules = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
    assert len(modules) > 5
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'lofi_tui', 'screens'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine pulled in UI modules: {out.stdout.strip()}"
