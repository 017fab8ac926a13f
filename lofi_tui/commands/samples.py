"""``lofi samples`` (the style x checkpoint sample matrix) and ``lofi report`` (a shareable HTML page)."""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.table import Table

from engine.evaluation.matrix import fill_matrix, parse_columns, sample_matrix
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


@main.command("samples")
@click.option("--run", "run_name", required=True)
@click.option("--style", "styles", multiple=True, help="Only these styles (repeatable) [default: all 38].")
@click.option("--category", default=None, help="Only this category's styles (core, seasonal, ...).")
@click.option("--checkpoints", "columns", default=None, help="Comma list of steps and 'base' [default: all].")
@click.option("--render/--no-render", default=True, show_default=True, help="Generate the missing cells.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def samples_cmd(ctx: click.Context, run_name: str, styles: tuple[str, ...], category: str | None,
                columns: str | None, render: bool, as_json: bool) -> None:
    """The sample matrix: one clip per style and checkpoint (and the base model), same prompt and seed."""
    run_dir = workspace_of(ctx).runs_dir / run_name
    matrix = sample_matrix(run_dir, styles, parse_columns(columns), category)
    made = 0
    if render and matrix.missing():
        with progress_bar(f"{len(matrix.missing())} clips", enabled=not as_json) as on_progress:
            made = fill_matrix(matrix, on_progress)
        matrix = sample_matrix(run_dir, styles, parse_columns(columns), category)
    if as_json:
        emit_json({"run": run_name, "settings": asdict(matrix.settings), "generated": made,
                   "columns": [c.label for c in matrix.columns],
                   "rows": [{"style": s, "prompt": matrix.prompts[s],
                             "cells": {c.label: str(matrix.cell(s, c).path) if matrix.cell(s, c).ready else None
                                       for c in matrix.columns}} for s in matrix.styles]})
        return
    table = Table(title=f"Samples of {run_name} ({matrix.settings.duration:g} s, {matrix.settings.steps} steps, "
                        f"seed {matrix.settings.seed})")
    table.add_column("style")
    for c in matrix.columns:
        table.add_column(c.label, justify="center")
    for s in matrix.styles:
        table.add_row(s, *("✓" if matrix.cell(s, c).ready else "·" for c in matrix.columns))
    stdout.print(table)
    where = matrix.run_dir / "eval"
    stderr.print(f"{made} generated; {len(matrix.missing())} missing; clips in {where}/<base|step-N>/<style>-0.wav",
                 highlight=False)


@main.command("report")
@click.option("--run", "run_name", required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for index.html [default: runs/<run>/report].")
@click.option("--audio", type=click.Choice(["embed", "files"]), default="embed", show_default=True,
              help="embed: one self-contained file; files: MP3s next to the page (big matrices).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def report_cmd(ctx: click.Context, run_name: str, out_dir: str | None, audio: str, as_json: bool) -> None:
    """Write a shareable HTML report of a run: checkpoint table, metric charts, sample matrix with players."""
    from engine.evaluation.report import write_report

    result = write_report(workspace_of(ctx), run_name, out_dir, audio)
    if as_json:
        emit_json(result)
        return
    stdout.print(f"wrote {result.path} ({result.clips} clips, {result.audio}; {result.missing} cells not rendered: "
                 f"`lofi samples --run {run_name}` fills them)", highlight=False)
