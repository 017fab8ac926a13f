"""``lofi tui`` (and ``lofi`` with no command): the dashboard."""

from __future__ import annotations

from pathlib import Path

import click

from lofi_tui.cli import main, workspace_of


@main.command("tui")
@click.option("--base-model", type=click.Path(path_type=Path), envvar="LOFI_BASE_MODEL", default=None)
@click.pass_context
def tui_cmd(ctx: click.Context, base_model: Path | None) -> None:
    """Open the dashboard."""
    from lofi_tui.app import LofiApp

    LofiApp(workspace_of(ctx), str(base_model) if base_model else None).run()
