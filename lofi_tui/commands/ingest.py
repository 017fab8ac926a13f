"""``lofi ingest``: bring audio files into the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from engine.ingest.batch import IngestReport, ingest
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes [default: cores].")
@click.option("--sources", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or JSON sidecar with provider/license/cost per file name.")
@click.option("--retry-errors", is_flag=True, help="Process again the files whose last result was an error.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_context
def ingest_cmd(ctx: click.Context, paths: tuple[Path, ...], jobs: int | None, sources: Path | None,
               retry_errors: bool, as_json: bool) -> None:
    """Decode, check, normalise and catalog audio files (directories are searched recursively)."""
    ws = workspace_of(ctx)
    # Ctrl+C interrupts here; every file reported so far is already saved in the catalog.
    with progress_bar("ingest", enabled=not as_json) as on_progress:
        report = ingest(ws, paths, jobs=jobs or os.cpu_count(), sources=sources, retry_errors=retry_errors,
                        progress=on_progress)
    if as_json:
        emit_json(report.to_json())
        return
    _print_report(report)


def _print_report(report: IngestReport) -> None:
    problems = [r for r in report.results
                if r.status in ("rejected", "error") or r.duplicate_of or (r.status == "skipped" and r.reason)]
    if problems:
        table = Table(title="Needs attention", show_lines=False)
        for col in ("file", "status", "reason", "message"):
            table.add_column(col, overflow="fold")
        for r in problems:
            status = "duplicate" if r.duplicate_of and r.status == "accepted" else r.status
            table.add_row(Path(r.source).name, status, r.reason or "", r.message or "")
        stdout.print(table)
    s = report.summary
    stderr.print(
        f"[bold]{s['total']}[/] files: [green]{s['accepted']} accepted[/], [yellow]{s['rejected']} rejected[/], "
        f"[red]{s['error']} errors[/], {s['skipped']} skipped, {s['duplicates']} duplicates"
        + (" [bold red](cancelled)[/]" if report.cancelled else ""),
        markup=True,  # numbers only: no user text in this line
    )
