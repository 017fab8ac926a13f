"""The CLI loads a command's module only when that command runs, from the map in ``lofi_tui.cli``."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

from lofi_tui import commands
from lofi_tui.cli import COMMANDS, main


def test_the_command_map_names_every_command_and_its_module():
    defined = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for name, command in main.commands.items():
            if command.callback.__module__ == module.__name__:
                defined[name] = info.name
    assert defined == COMMANDS


def test_a_light_command_does_not_load_the_others():
    code = ("import sys; from click.testing import CliRunner; from lofi_tui.cli import main; "
            "r = CliRunner().invoke(main, ['styles', '--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith(('lofi_tui.commands.', 'torch'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['lofi_tui.commands.label']"
