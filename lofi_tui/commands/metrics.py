"""``lofi fad`` (standalone, like fadtk) and ``lofi models`` (which embedders are installed)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from engine.metrics.embedders import NAMES, availability, load_embedder, models_dir
from engine.metrics.folders import EmbeddingCache, fad_between
from lofi_tui.cli import main
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


def _models_root(ctx: click.Context) -> Path:
    return models_dir(ctx.find_root().obj)


@main.command("fad")
@click.argument("ref_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("eval_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--embedding", type=click.Choice(NAMES), default="builtin", show_default=True)
@click.option("--post-relu", is_flag=True,
              help="VGGish after its final ReLU (torchvggish's output) instead of fadtk's default before it.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Reuse embeddings across calls [default: WORKSPACE/cache/embeddings].")
@click.option("--per-track", is_flag=True, help="Also list each evaluated file's FAD (outliers first).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def fad_cmd(ctx: click.Context, ref_dir: Path, eval_dir: Path, embedding: str, post_relu: bool,
            cache_dir: Path | None, per_track: bool, as_json: bool) -> None:
    """Fréchet Audio Distance between the audio in REF_DIR and EVAL_DIR (n counts embedding frames)."""
    if post_relu and embedding != "vggish":
        raise click.BadParameter("only applies to --embedding vggish", param_hint="--post-relu")
    embedder = load_embedder(embedding, _models_root(ctx), vggish_post_relu=post_relu)
    cache = EmbeddingCache(cache_dir or Path(ctx.find_root().obj) / "cache" / "embeddings")
    with progress_bar("embedding", enabled=not as_json) as on_progress:
        report = fad_between(embedder, ref_dir, eval_dir, cache, on_progress)
    if as_json:
        doc = {"fad": report.fad, "fad_inf": report.fad_inf, "fad_inf_r2": report.fad_inf_r2,
               "fad_inf_note": report.fad_inf_note, "embedding": report.embedding, "dim": report.dim,
               "convention": embedder.info.convention, "comparable_with_published": report.comparable,
               "n_ref": report.n_ref, "n_eval": report.n_eval, "files_ref": report.files_ref,
               "files_eval": report.files_eval, "reliable": report.reliable,
               "reliability_note": report.reliability_note}
        if per_track:
            doc["per_track"] = report.per_track
        emit_json(doc)
        return
    stdout.print(report.summary(), highlight=False, soft_wrap=True)
    if not report.comparable:
        stderr.print(f"note: {embedder.info.convention}; not comparable with published FAD numbers")
    if per_track:
        for name, value in report.per_track.items():
            stdout.print(f"  {value:10.4f}  {name}")


@main.command("models")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models_cmd(ctx: click.Context, as_json: bool) -> None:
    """Embedders for evaluation: which are installed, the convention their values follow, and how to install the
    others (never downloaded)."""
    root = _models_root(ctx)
    states = [availability(name, root) for name in NAMES]
    if as_json:
        emit_json({"models_dir": str(root), "embedders": states})
        return
    table = Table(title=f"Embedders (models directory: {root}, or $LOFI_MODELS)")
    for col in ("name", "status", "values follow", "how to install"):
        table.add_column(col, overflow="fold")
    for s in states:
        table.add_row(s.name, "[green]available[/]" if s.available else "[yellow]missing[/]", s.convention,
                      s.instructions or "")
    stdout.print(table)
