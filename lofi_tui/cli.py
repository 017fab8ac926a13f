"""The ``lofi`` command line.

Subcommands live one module each in :mod:`lofi_tui.commands` and attach themselves to :data:`main`;
this module discovers them, so adding a command never edits a shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from engine.errors import LofiError
from engine.workspace import Workspace

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LofiGroup(click.Group):
    """Turns engine errors into one clear line on stderr and exit status 1, never a traceback."""

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
    envvar="LOFI_WORKSPACE",
    default="lofi-workspace",
    show_default=True,
    help="Workspace directory (or $LOFI_WORKSPACE).",
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


def _load_commands() -> None:
    from lofi_tui import commands

    for info in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{info.name}")


_load_commands()
