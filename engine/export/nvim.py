"""The lofi.nvim ``setup({...})`` call that plays a bundle through this project's daemon."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

DAEMON = "lofi-daemon"


def daemon_path() -> str:
    """The ``lofi-daemon`` installed next to this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / DAEMON
    if beside.exists():
        return str(beside)
    return shutil.which(DAEMON) or DAEMON


def setup_snippet(bundle: Path, daemon: str | None = None) -> str:
    """Lua for Neovim's config; lofi.nvim hands ``model_path`` to the daemon as LOFI_MODEL_PATH."""
    return "\n".join([
        'require("lofi").setup({',
        f"  daemon_path = {_lua_string(daemon or daemon_path())},",
        f"  model_path = {_lua_string(str(Path(bundle).resolve()))},",
        "})",
    ])


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
