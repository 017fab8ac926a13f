"""``lofi export``, ``lofi publish``, ``lofi generate`` and ``lofi compare-precisions``.

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
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def export_cmd(ctx, run, checkpoint, precisions, out, license_, base_model_id, as_json):
    """Merge a checkpoint's LoRA, export ONNX graphs and write one bundle per precision (resumable)."""
    from engine.export.exporter import export_checkpoint
    from engine.export.quantize import parse_precisions

    ws = workspace_of(ctx)
    with progress_bar("export", enabled=not as_json) as on_progress:
        result = export_checkpoint(ws, run, parse_precisions(precisions), checkpoint, out, license_, base_model_id,
                                   progress=on_progress)
    if as_json:
        emit_json(result)
        return
    if result.skipped:
        stderr.print(f"resumed: {len(result.skipped)} finished stage(s) reused ({', '.join(result.skipped)})")
    table = Table(title=f"{run} step {result.step} -> {result.out}")
    for col in ("bundle", "text_encoder", "condition_encoder", "transformer", "vae_decoder", "total", "vs fp32"):
        table.add_column(col, justify="right" if col != "bundle" else "left")
    for b in result.bundles:
        sizes = {g.name: f"{_mb(g.bytes)} {g.precision}" for g in b.graphs}
        reduction = "-" if b.reduction_vs_fp32 is None else f"{-100 * b.reduction_vs_fp32:+.1f} %"
        table.add_row(b.precision, *(sizes[n] for n in ("text_encoder", "condition_encoder", "transformer",
                                                          "vae_decoder")), _mb(b.total_bytes), reduction)
    stdout.print(table)


@main.command("publish")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", required=True, help="Hub model repo id, owner/name.")
@click.option("--private", is_flag=True, help="Create the repo as private.")
def publish_cmd(bundle, repo, private):
    """Upload BUNDLE (one precision directory of an export) to the Hugging Face Hub."""
    from engine.export.publish import publish_bundle

    stdout.print(f"published {bundle} to {publish_bundle(bundle, repo, private)}")


@main.command("generate")
@click.option("--bundle", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--prompt", required=True, help="Caption, e.g. 'lofi hip hop, chill, vinyl crackle'.")
@click.option("--lyrics", default="[Instrumental]", show_default=True)
@click.option("--duration", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--steps", type=int, default=None, help="Sampling steps [default: the bundle's].")
@click.option("--guidance", type=float, default=None, help="Guidance scale [default: the bundle's].")
@click.option("--bpm", type=click.IntRange(30, 300), default=None, help="Tempo for the caption's metadata [default: N/A].")
@click.option("--key", "keyscale", default=None, help="Key for the metadata, e.g. 'A minor' [default: N/A].")
@click.option("--time-signature", default=None, help="Beats per bar for the metadata, e.g. 4 [default: N/A].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output audio file.")
@click.option("--json", "as_json", is_flag=True)
def generate_cmd(bundle, prompt, lyrics, duration, seed, steps, guidance, bpm, keyscale, time_signature, out, as_json):
    """Generate audio from an ONNX bundle with onnxruntime only (no PyTorch)."""
    import time

    from engine.audio.io import write_audio
    from engine.inference.bundle import Bundle
    from engine.inference.generator import OnnxGenerator
    from engine.progress import Progress

    gen = OnnxGenerator(Bundle.open(bundle))
    started = time.perf_counter()
    with progress_bar("generating", enabled=not as_json) as on_progress:
        audio = gen.generate(prompt, duration, seed=seed, steps=steps, guidance_scale=guidance, lyrics=lyrics,
                             on_step=lambda i, n: on_progress(Progress(i, n, f"step {i}/{n}")), bpm=bpm,
                             keyscale=keyscale, timesignature=time_signature)
    seconds = time.perf_counter() - started
    write_audio(out, audio, gen.sample_rate)
    doc = {"path": str(out), "duration_sec": audio.shape[0] / gen.sample_rate, "sample_rate": gen.sample_rate,
           "channels": audio.shape[1], "seed": seed, "seconds": round(seconds, 3), "bpm": bpm, "key": keyscale,
           "time_signature": time_signature,
           "precision": gen.bundle.manifest["precision"]}
    if as_json:
        emit_json(doc)
    else:
        stdout.print(f"wrote {out}: {doc['duration_sec']:.2f} s, {gen.sample_rate} Hz stereo, in {seconds:.2f} s "
                     f"({doc['precision']} bundle)")


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
                      else f"{r.seconds_per_audio_minute:.1f}", "reference" if r.fad is None else f"{r.fad:.4f}",
                      "" if r.fad_inf is None else f"{r.fad_inf:.4f}")
    stdout.print(table)
    ref = next((r for r in reports if r.fad is not None), None)
    if ref is not None:
        stderr.print(f"FAD with the {ref.embedding} embedding ({ref.dim}-d) over {ref.n_ref_frames} reference frames "
                     f"and {ref.n_eval_frames} frames per compared bundle", highlight=False)
        for r in reports:
            if r.fad_note:
                stderr.print(f"{r.precision}: FAD over {r.n_eval_frames} frames is {r.fad_note}", highlight=False)
