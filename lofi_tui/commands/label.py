"""Labelling commands: ``lofi label``, ``lofi prompts``, ``lofi styles``, ``lofi dataset build``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from engine.catalog.store import Catalog
from engine.catalog.track import USER_FLAGS
from engine.labels.dataset import build_dataset
from engine.labels.labelling import (
    LabelChange,
    apply_label,
    regenerate_all,
    repair_locations,
)
from engine.labels.styles import load_styles
from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


@main.command("label")
@click.argument("tracks", nargs=-1, required=True)
@click.option("--style", "styles", multiple=True, help="Style id; repeat for several, primary first.")
@click.option("--instrumental", is_flag=True, default=None, help="No vocals: lyrics become [Instrumental].")
@click.option("--lyrics", "lyrics_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Lyrics text file (sections such as [Verse], [Chorus]).")
@click.option("--language", help="Vocal language code, e.g. en, ja.")
@click.option("--flag", "flags_on", multiple=True, help="Set a review flag: " + ", ".join(USER_FLAGS) + ".")
@click.option("--unflag", "flags_off", multiple=True, help="Clear a review flag (e.g. needs_review).")
@click.option("--rating", type=click.IntRange(1, 5))
@click.option("--tags", help='Tag edits for these tracks, e.g. "+rain sounds,-vinyl crackle".')
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def label_cmd(ctx: click.Context, tracks: tuple[str, ...], styles: tuple[str, ...], instrumental: bool | None,
              lyrics_file: Path | None, language: str | None, flags_on: tuple[str, ...], flags_off: tuple[str, ...],
              rating: int | None, tags: str | None, as_json: bool) -> None:
    """Label TRACKS (ids, id prefixes, file names or titles): styles, lyrics, flags, rating, tags."""
    ws = workspace_of(ctx)
    catalog = Catalog(ws.catalog_path)
    taxonomy = load_styles()
    repair_locations(ws, catalog)
    change = LabelChange(
        styles=list(styles) or None,
        instrumental=instrumental,
        lyrics=lyrics_file.read_text(encoding="utf-8") if lyrics_file else None,
        language=language,
        flags_on=list(flags_on),
        flags_off=list(flags_off),
        rating=rating,
        tags=tags,
    )
    done = [apply_label(ws, catalog, taxonomy, ref, change) for ref in tracks]
    if as_json:
        emit_json({"tracks": [t.to_dict() for t in done]})
        return
    for t in done:
        stderr.print(f"{t.id[:8]} {t.title}: {', '.join(t.styles)} [{t.category}] "
                     f"flags: {', '.join(t.flags) or '-'}", highlight=False)
        stderr.print(f"  prompt: {t.prompt}", highlight=False)


@main.command("prompts")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def prompts_cmd(ctx: click.Context, as_json: bool) -> None:
    """(Re)generate every accepted track's prompt and lyrics files and report what changed."""
    ws = workspace_of(ctx)
    with progress_bar("prompts", enabled=not as_json) as on_progress:
        changes = regenerate_all(ws, Catalog(ws.catalog_path), load_styles(), progress=on_progress)
    changed = [c for c in changes if c.prompt_changed or c.lyrics_changed or c.moved_to]
    if as_json:
        emit_json({"tracks": len(changes), "changed": [c.__dict__ for c in changed]})
        return
    for c in changed:
        what = [w for w, on in (("prompt", c.prompt_changed), ("lyrics", c.lyrics_changed)) if on]
        if c.moved_to:
            what.append(f"moved to {c.moved_to}")
        stdout.print(f"{c.track_id[:8]}: {', '.join(what)}")
    stderr.print(f"{len(changes)} tracks, {len(changed)} changed")


@main.command("styles")
@click.option("--json", "as_json", is_flag=True)
def styles_cmd(as_json: bool) -> None:
    """List the style presets (from styles.toml, or $LOFI_STYLES)."""
    taxonomy = load_styles()
    if as_json:
        emit_json({"styles": [taxonomy.get(s).__dict__ for s in taxonomy.ids]})
        return
    table = Table(title=f"{len(taxonomy.ids)} styles")
    for col in ("id", "name", "bpm", "genre tags"):
        table.add_column(col, overflow="fold")
    for sid in taxonomy.ids:
        p = taxonomy.get(sid)
        table.add_row(p.id, p.name, f"{p.tempo_bpm[0]}-{p.tempo_bpm[1]}", ", ".join(p.base_tags))
    stdout.print(table)


@main.group("dataset")
def dataset_group() -> None:
    """Training datasets built from the catalog."""


@dataset_group.command("build")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--allow-unlicensed", is_flag=True, help="Include tracks with no license recorded (warned).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def dataset_build_cmd(ctx: click.Context, out: Path, allow_unlicensed: bool, as_json: bool) -> None:
    """Write OUT: name.mp3 + name_prompt.txt + name_lyrics.txt, validation/, manifest.jsonl."""
    ws = workspace_of(ctx)
    with progress_bar("dataset", enabled=not as_json) as on_progress:
        report = build_dataset(ws, Catalog(ws.catalog_path), load_styles(), out, allow_unlicensed=allow_unlicensed,
                               progress=on_progress)
    if as_json:
        emit_json(report)
        return
    for label, text in report.notes():
        stderr.print(Text(f"{label} " if label else "", style="yellow") + Text(text))
    table = Table(title="Tracks per style")
    table.add_column("style")
    table.add_column("tracks", justify="right")
    table.add_column("")
    for style, n in report.per_style.items():
        table.add_row(style, str(n), Text("underrepresented", style="yellow") if style in report.underrepresented else "")
    stdout.print(table)
    stderr.print(report.result_line(), markup=False, highlight=False)
