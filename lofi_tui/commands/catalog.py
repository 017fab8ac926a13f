"""Catalog queries and edits: ``lofi tracks``, ``lofi stats``, ``lofi split``, ``lofi source``, ``lofi remove``."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table
from rich.text import Text

from engine.catalog.remove import remove_track
from engine.catalog.sources import edit_source
from engine.catalog.split import DEFAULT_RATIO, DEFAULT_SEED, assign_splits
from engine.catalog.stats import catalog_stats, unlicensed_note
from engine.catalog.store import Catalog
from engine.catalog.track import Track, short_flags
from engine.labels.styles import load_styles
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, stderr, stdout


def _catalog(ctx: click.Context) -> Catalog:
    return Catalog(workspace_of(ctx).catalog_path)




def tracks_table(tracks: list[Track], title: str = "Tracks") -> Table:
    """Compact enough for 80 columns: the id prefix is what other commands accept as TRACK."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("id", "title", "len", "style", "score", "status", "split", "flags"):
        wraps = col in ("title", "flags", "status")
        table.add_column(col, overflow="fold", no_wrap=not wraps, min_width=10 if wraps else None)
    for t in sorted(tracks, key=lambda t: (t.status, t.title.lower())):
        status = t.reason or t.status
        colour = {"accepted": "green", "rejected": "yellow", "error": "red"}.get(t.status, "")
        table.add_row(t.id[:8], Text(t.title), t.duration_text, t.primary_style or "-",
                      f"{t.quality_score:.0f}" if t.quality_score is not None else "-",
                      Text(status, style=colour), "val" if t.split == "validation" else t.split,
                      short_flags(t))
    return table


@main.command("tracks")
@click.option("--status", type=click.Choice(["accepted", "rejected", "error"]))
@click.option("--style", help="Style id, e.g. CORE-01.")
@click.option("--flag", help="Review flag, e.g. needs_review.")
@click.option("--split", type=click.Choice(["train", "validation", "none"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tracks_cmd(ctx: click.Context, status: str | None, style: str | None, flag: str | None, split: str | None,
               as_json: bool) -> None:
    """List catalog tracks, optionally filtered."""
    tracks = _catalog(ctx).select(status=status, style=style, flag=flag, split=split)
    if as_json:
        emit_json({"tracks": [t.to_dict() for t in tracks]})
    else:
        stdout.print(tracks_table(tracks))


@main.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats_cmd(ctx: click.Context, as_json: bool) -> None:
    """Counts per status, category and style; underrepresented styles are marked."""
    tracks = _catalog(ctx).all()
    stats = catalog_stats(tracks, load_styles().ids)
    if as_json:
        emit_json(stats)
        return
    stdout.print(f"{stats.total} tracks, {stats.total_duration_sec / 60:.1f} min accepted")
    for name, counts in (("status", stats.by_status), ("category", stats.by_category), ("flag", stats.by_flag)):
        stdout.print(f"by {name}: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"))
    table = Table(title=f"Accepted tracks per style (mean {stats.mean_per_style})")
    table.add_column("style")
    table.add_column("tracks", justify="right")
    table.add_column("")
    for style, n in stats.by_style.items():
        under = style in stats.underrepresented
        table.add_row(style, str(n), Text("underrepresented", style="yellow") if under else "")
    stdout.print(table)
    if note := unlicensed_note(tracks):
        stderr.print(Text("warning ", style="yellow") + Text(note))


@main.command("split")
@click.option("--ratio", type=click.FloatRange(0.0, 0.9), default=DEFAULT_RATIO, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def split_cmd(ctx: click.Context, ratio: float, seed: int, as_json: bool) -> None:
    """Assign train/validation splits to tracks that have none (existing splits never move)."""
    report = assign_splits(_catalog(ctx), ratio=ratio, seed=seed)
    if as_json:
        emit_json({"assigned": report.assigned, "per_style": report.per_style, "totals": report.totals})
        return
    stderr.print(report.result_line())


@main.command("source")
@click.argument("track")
@click.option("--provider")
@click.option("--license", "license_")
@click.option("--cost")
@click.option("--currency")
@click.option("--acquired", help="Acquisition date, YYYY-MM-DD.")
@click.option("--url")
@click.option("--notes")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def source_cmd(ctx: click.Context, track: str, license_: str | None, as_json: bool, **fields: str | None) -> None:
    """Edit where TRACK came from and its license (TRACK: id, id prefix, file name or title)."""
    updated = edit_source(_catalog(ctx), track, {**fields, "license": license_})
    if as_json:
        emit_json(updated.to_dict())
    else:
        s = updated.source
        stderr.print(f"{updated.id} {updated.title}: provider={s.provider} license={s.license} cost={s.cost} "
                     f"{s.currency or ''} acquired={s.acquired}", markup=False, highlight=False)


@main.command("remove")
@click.argument("track")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def remove_cmd(ctx: click.Context, track: str, yes: bool, as_json: bool) -> None:
    """Remove TRACK from the catalog with the workspace's copies of it; the source file is never deleted."""
    ws = workspace_of(ctx)
    catalog = Catalog(ws.catalog_path)
    found = catalog.find(track)
    if not yes:  # asked on stderr, so --json output stays clean
        click.confirm(f"Remove {found.id[:8]} {found.title} from the catalog? Its source file stays on disk "
                      f"({found.source_path})", abort=True, err=True)
    removed = remove_track(ws, catalog, found.id)
    if as_json:
        emit_json({"removed": removed.track.id, "deleted": removed.deleted, "source": removed.track.source_path})
    else:
        stderr.print(removed.result_line(), highlight=False)
