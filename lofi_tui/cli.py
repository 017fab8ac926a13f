"""The ``lofi`` command line.

Subcommands live in :mod:`lofi_tui.commands` and attach themselves to :data:`main`. A module is
imported only when one of its commands runs (:data:`COMMANDS` says which), so ``lofi generate`` and
``lofi tracks`` start without loading PyTorch.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from engine.errors import LofiError
from engine.settings import DEFAULT_WORKSPACE
from engine.workspace import Workspace, default_workspace_path

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# command -> its module in lofi_tui.commands (a test checks this against what the modules define)
COMMANDS = {
    "tui": "tui", "demo": "demo", "ingest": "ingest", "tracks": "catalog", "stats": "catalog", "split": "catalog",
    "source": "catalog", "remove": "catalog", "label": "label", "prompts": "label", "styles": "label", "dataset": "label",
    "model": "model", "train": "train", "runs": "train", "eval": "evaluate", "checkpoints": "evaluate",
    "best": "evaluate", "samples": "samples", "report": "samples",
    "fad": "metrics", "models": "metrics", "export": "export", "publish": "export", "generate": "export",
    "compare-precisions": "export", "exports": "export", "nvim-setup": "export", "listen": "listen",
}


class LofiGroup(click.Group):
    """Loads command modules on demand, and turns engine errors into one clear line on stderr and
    exit status 1, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f"lofi_tui.commands.{COMMANDS[name]}")
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LofiError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=LofiGroup, context_settings=CONTEXT_SETTINGS, invoke_without_command=True)
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_workspace_path,
    show_default=f"$LOFI_WORKSPACE or {DEFAULT_WORKSPACE}",
    help="Workspace directory.",
)
@click.pass_context
def main(ctx: click.Context, workspace: Path) -> None:
    """lofi-tui: curate, train, judge and export a lofi LoRA for ACE-Step 1.5."""
    ctx.obj = workspace
    if ctx.invoked_subcommand is None:  # plain `lofi` opens the dashboard
        ctx.invoke(main.get_command(ctx, "tui"))


def workspace_of(ctx: click.Context, create: bool = True) -> Workspace:
    """The workspace chosen with --workspace, opened (and created if asked)."""
    return Workspace.open(ctx.find_root().obj, create=create)
