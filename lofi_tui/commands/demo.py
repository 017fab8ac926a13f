"""``lofi demo``: build a demo workspace from synthesized audio and show what ingest made of it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine.catalog import Catalog
from engine.demo import sidecar_path, write_demo_sources
from engine.ingest import ingest
from engine.split import assign_splits
from lofi_tui.cli import main, workspace_of
from lofi_tui.commands.catalog import tracks_table
from lofi_tui.output import progress_bar, stderr, stdout


@main.command("demo")
@click.option("--sources-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the synthesized source files [default: WORKSPACE/demo-sources].")
@click.pass_context
def demo_cmd(ctx: click.Context, sources_dir: Path | None) -> None:
    """Synthesize a small (not musical) collection, ingest it, split it and print the catalog."""
    ws = workspace_of(ctx)
    folder = sources_dir or ws.root / "demo-sources"
    stderr.print(f"writing demo sources to {folder}")
    write_demo_sources(folder)
    with progress_bar("ingest") as on_progress:
        report = ingest(ws, [folder], jobs=os.cpu_count(), sources=sidecar_path(folder), progress=on_progress)
    catalog = Catalog(ws.catalog_path)
    assign_splits(catalog)
    stdout.print(tracks_table(catalog.all(), title="Demo catalog"))
    stderr.print(f"workspace: {ws.root}")
    s = report.summary
    stderr.print(f"{s['accepted']} accepted, {s['rejected']} rejected, {s['error']} errors, "
                 f"{s['duplicates']} duplicates, {s['skipped']} skipped (a second run skips everything)")
