"""``lofi export``, ``lofi exports``, ``lofi publish``, ``lofi generate``, ``lofi nvim-setup`` and
``lofi compare-precisions``.

Heavy imports stay inside the commands: ``lofi generate`` runs on onnxruntime without torch.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from lofi_tui.cli import main, workspace_of
from lofi_tui.output import emit_json, progress_bar, stderr, stdout


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.2f} MB"


@main.command("export")
@click.option("--run", "run", required=True, help="The training run to export.")
@click.option("--checkpoint", default=None, help="STEP, best or latest [default: best evaluated, else latest].")
@click.option("--precision", "precisions", default="fp32,fp16,int8,int4", show_default=True,
              help="Comma list of fp32, fp16, int8, int4: one bundle each.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory [default: WORKSPACE/exports/<run>-step-<N>].")
@click.option("--license", "license_", default="other", show_default=True, help="Licence for the model card.")
@click.option("--base-model-id", default=None, help="Hub id of the base model for the model card.")
@click.option("--estimate", is_flag=True, help="Only print each precision's size estimated from parameter counts.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def export_cmd(ctx, run, checkpoint, precisions, out, license_, base_model_id, estimate, as_json):
    """Merge a checkpoint's LoRA, export ONNX graphs and write one bundle per precision (resumable)."""
    from engine.export.exporter import export_checkpoint
    from engine.export.graph_cache import cache_dir
    from engine.export.quantize import parse_precisions

    ws = workspace_of(ctx)
    if estimate:
        _print_estimates(ws, run, parse_precisions(precisions), as_json)
        return
    with progress_bar("export", enabled=not as_json) as on_progress:
        result = export_checkpoint(ws, run, parse_precisions(precisions), checkpoint, out, license_, base_model_id,
                                   progress=on_progress)
    if as_json:
        emit_json(result)
        return
    if result.skipped:
        stderr.print(f"resumed: {len(result.skipped)} finished stage(s) reused ({', '.join(result.skipped)})")
    if result.reused:
        stderr.print(f"{len(result.reused)} graph(s) of the base model copied from an earlier export "
                     f"({', '.join(result.reused)}; the graph cache is {cache_dir(ws)})")
    table = Table(title=f"{run} step {result.step} -> {result.out}")
    for col in ("bundle", "text_encoder", "condition_encoder", "transformer", "vae_decoder", "total", "vs fp32"):
        table.add_column(col, justify="right" if col != "bundle" else "left")
    for b in result.bundles:
        sizes = {g.name: f"{_mb(g.bytes)} {g.precision}" for g in b.graphs}
        reduction = "-" if b.reduction_vs_fp32 is None else f"{-100 * b.reduction_vs_fp32:+.1f} %"
        table.add_row(b.precision, *(sizes[n] for n in ("text_encoder", "condition_encoder", "transformer",
                                                          "vae_decoder")), _mb(b.total_bytes), reduction)
    stdout.print(table)


def _print_estimates(ws, run: str, precisions: list[str], as_json: bool) -> None:
    from engine.export.merge import run_base_model
    from engine.export.sizes import estimate_bundle_bytes, parameter_counts

    counts = parameter_counts(run_base_model(ws.runs_dir / run))
    sizes = {p: estimate_bundle_bytes(counts, p) for p in precisions}
    if as_json:
        emit_json({"parameters": counts, "estimated_bytes": sizes})
        return
    for precision, size in sizes.items():
        stdout.print(f"{precision:>5}  ~{_mb(size)}")
    stderr.print(f"estimated from {counts.total / 1e6:.1f}M parameters (weights only: graph structure comes on top)")


@main.command("exports")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def exports_cmd(ctx, as_json):
    """Every export in the workspace with its stages: done, failed (with the message) or pending."""
    from engine.export.status import read_status

    ws = workspace_of(ctx)
    found = sorted(p.parent for p in ws.exports_dir.glob("*/export.json")) if ws.exports_dir.exists() else []
    statuses = [read_status(out) for out in found]
    if as_json:
        emit_json(statuses)
        return
    table = Table(title=f"exports in {ws.exports_dir}")
    for col in ("export", "checkpoint", "state", "stages done", "problem"):
        table.add_column(col)
    for st in statuses:
        done = sum(s.state == "done" for s in st.stages)
        failed = next((f"{s.label}: {s.message}" for s in st.stages if s.state == "failed"), "")
        table.add_row(st.out.name, f"{st.request.run} step {st.request.step}" if st.request else "-", st.state,
                      f"{done}/{len(st.stages)}", failed)
    stdout.print(table)


@main.command("publish")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", default=None, help="Hub model repo id, owner/name (not needed with --dry-run).")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--dry-run", is_flag=True, help="Only list the files and sizes and say whether a token is there.")
@click.option("--json", "as_json", is_flag=True)
def publish_cmd(bundle, repo, private, dry_run, as_json):
    """Upload BUNDLE (one precision directory of an export) to the Hugging Face Hub."""
    from engine.export.publish import PublishError, publish_bundle, publish_plan

    plan = publish_plan(bundle)
    if dry_run:
        if as_json:
            emit_json(plan)
            return
        for name, size in plan.files:
            stdout.print(f"{_mb(size):>12}  {name}", markup=False, highlight=False)
        stdout.print(f"{_mb(plan.total_bytes):>12}  total, {len(plan.files)} files")
        stderr.print(plan.problem or f"a Hugging Face token is set ({plan.token_source})", markup=False)
        return
    if not repo:
        raise click.UsageError("--repo owner/name is required to publish (or pass --dry-run)")
    if plan.problem:  # offline or no token: one line, before any progress bar
        raise PublishError(plan.problem)
    with progress_bar("uploading", enabled=not as_json) as on_progress:
        url = publish_bundle(bundle, repo, private, progress=on_progress)
    if as_json:
        emit_json({"url": url, "files": len(plan.files), "bytes": plan.total_bytes})
    else:
        stdout.print(f"published {bundle} to {url}")


@main.command("generate")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--prompt", required=True, help="Caption, e.g. 'lofi hip hop, chill, vinyl crackle'.")
@click.option("--lyrics", default="[Instrumental]", show_default=True)
@click.option("--duration", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--steps", type=int, default=None, help="Sampling steps [default: the bundle's].")
@click.option("--guidance", type=float, default=None, help="Guidance scale [default: the bundle's].")
@click.option("--bpm", type=click.IntRange(1, 400), default=None, help="Tempo to condition on, e.g. 80.")
@click.option("--key", default=None, help="Key to condition on, e.g. 'C major'.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output audio file.")
@click.option("--json", "as_json", is_flag=True)
def generate_cmd(bundle, prompt, lyrics, duration, seed, steps, guidance, bpm, key, out, as_json):
    """Generate audio from an ONNX bundle with onnxruntime only (no PyTorch)."""
    from engine.inference.clip import ClipRequest, generate_clip

    request = ClipRequest(prompt, duration, seed, bpm, key, steps, guidance, lyrics)
    with progress_bar("generating", enabled=not as_json) as on_progress:
        clip = generate_clip(bundle, request, out, progress=on_progress)
    doc = {"path": str(clip.path), "duration_sec": clip.duration, "sample_rate": clip.sample_rate,
           "channels": clip.channels, "seed": clip.seed, "seconds": round(clip.seconds, 3),
           "seconds_per_audio_minute": round(clip.seconds_per_audio_minute, 3), "precision": clip.precision}
    if as_json:
        emit_json(doc)
    else:
        stdout.print(f"wrote {out}: {clip.duration:.2f} s, {clip.sample_rate} Hz stereo, in {clip.seconds:.2f} s "
                     f"({clip.seconds_per_audio_minute:.1f} s per minute of audio, {clip.precision} bundle)")


@main.command("nvim-setup")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def nvim_setup_cmd(bundle, as_json):
    """Print the lofi.nvim setup({...}) call that plays BUNDLE through lofi-daemon."""
    from engine.export.nvim import daemon_path, setup_snippet
    from engine.inference.bundle import read_manifest

    read_manifest(bundle)  # a bundle, not any folder
    if as_json:
        emit_json({"daemon_path": daemon_path(), "model_path": str(bundle.resolve()), "lua": setup_snippet(bundle)})
    else:
        stdout.print(setup_snippet(bundle), markup=False, highlight=False)


@main.command("compare-precisions")
@click.option("--bundles", "bundles", type=click.Path(exists=True, file_okay=False, path_type=Path), multiple=True,
              required=True, help="Bundles to compare (repeat, or list after one --bundles).")
@click.argument("more", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--prompts", type=click.IntRange(1, 38), default=4, show_default=True,
              help="How many style prompts (one seed each, the same for every bundle).")
@click.option("--duration", type=float, default=10.0, show_default=True)
@click.option("--steps", type=int, default=None, help="Sampling steps [default: each bundle's].")
@click.option("--embedding", default="builtin", show_default=True, help="FAD embedder (see `lofi models`).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where clips go [default: WORKSPACE/cache/compare-precisions].")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def compare_cmd(ctx, bundles, more, prompts, duration, steps, embedding, out, as_json):
    """Same prompts and seeds through each bundle: FAD vs fp32, graph sizes, seconds per minute of audio."""
    from engine.export.precisions import compare_precisions
    from engine.metrics.embedders import load_embedder, models_dir

    ws = workspace_of(ctx)
    embedder = load_embedder(embedding, models_dir(ws.root))
    with progress_bar("generating", enabled=not as_json) as on_progress:
        reports = compare_precisions([*bundles, *more], prompts, out or ws.cache_dir / "compare-precisions",
                                     embedder, ws.cache_dir / "embeddings", duration, steps, progress=on_progress)
    if as_json:
        emit_json(reports)
        return
    table = Table(title=f"{prompts} prompt(s) x {duration:g} s")
    for col in ("bundle", "precision", "text", "condition", "DiT", "VAE", "total", "s / min audio", "FAD vs ref",
                "FAD-inf"):
        table.add_column(col)
    for r in reports:
        g = r.graph_bytes
        table.add_row(f"{r.bundle.parent.name}/{r.bundle.name}", r.precision, *(_mb(g[n]) for n in ("text_encoder", "condition_encoder",
                                                                          "transformer", "vae_decoder")),
                      _mb(r.total_bytes), "reused" if r.seconds_per_audio_minute is None
                      else f"{r.seconds_per_audio_minute:.1f}",
                      "reference" if r.fad is None else f"{r.fad:.4f}" + (f" {r.fad_note}" if r.fad_note else ""),
                      "" if r.fad_inf is None else f"{r.fad_inf:.4f}")
    stdout.print(table)
    ref = next((r for r in reports if r.fad is not None), None)
    if ref is not None:
        stderr.print(f"FAD with the {ref.embedding} embedding ({ref.dim}-d) over {ref.n_ref_frames} reference frames "
                     f"and {ref.n_eval_frames} frames per compared bundle", highlight=False)
        for r in reports:
            if r.fad_note:
                stderr.print(f"{r.precision}: FAD over {r.n_eval_frames} frames is {r.fad_note}", highlight=False)
