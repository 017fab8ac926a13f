"""Assemble ``OUT/<precision>/``: graphs, ``tokenizer.json``, arrays, ``manifest.json`` and a model card.

Files are copied, not hard-linked: onnx's checker refuses external data with several links (it
reads them as a hard-link attack). The manifest's checksums cover every file but itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from engine.export.graphs import (
    CONDITION_ENCODER,
    TEXT_ENCODER,
    TRANSFORMER,
    VAE_DECODER,
)
from engine.hashing import file_sha256
from engine.inference.bundle import FORMAT, FORMAT_VERSION, MANIFEST

GRAPH_ORDER = (TEXT_ENCODER, CONDITION_ENCODER, TRANSFORMER, VAE_DECODER)
MAX_DURATION = 240.0  # lofi.nvim's limit; the graphs themselves take any length
MIN_DURATION = 1.0


def write_bundle(out: Path, precision: str, graphs: dict[str, dict[str, Any]], facts: dict[str, Any], facts_dir: Path,
                 tokenizer: Path, model: dict[str, Any], lora: dict[str, Any], fp32_bytes: int, card: dict[str, Any]) -> dict[str, Any]:
    """``graphs[name]`` = {"dir": stage dir, "precision", "detail", "parity", "io"}; returns the manifest."""
    out = Path(out)
    entries = {}
    for name in GRAPH_ORDER:
        g = graphs[name]
        for suffix in (".onnx", ".onnx.data"):
            shutil.copyfile(Path(g["dir"]) / f"{name}{suffix}", out / f"{name}{suffix}")
        size = sum((out / f"{name}{s}").stat().st_size for s in (".onnx", ".onnx.data"))
        entries[name] = {"file": f"{name}.onnx", "external_data": f"{name}.onnx.data", "precision": g["precision"],
                         "detail": g["detail"], "bytes": size, "parity": g["parity"], **g["io"]}
    shutil.copy2(tokenizer, out / "tokenizer.json")
    for filename in facts["arrays"].values():
        shutil.copyfile(Path(facts_dir) / filename, out / filename)
    total = sum(e["bytes"] for e in entries.values())
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "precision": precision,
        "base_model": model, "lora": lora, "graphs": entries, "tokenizer": "tokenizer.json",
        "size": {"total_bytes": total, "fp32_total_bytes": fp32_bytes,
                 "reduction_vs_fp32": round(1 - total / fp32_bytes, 4) if fp32_bytes else None},
        "max_duration_sec": MAX_DURATION, "min_duration_sec": MIN_DURATION, **facts,
    }
    (out / "README.md").write_text(model_card(manifest, card), encoding="utf-8")
    manifest["checksums"] = {p.name: file_sha256(p) for p in sorted(out.iterdir()) if p.is_file()}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def model_card(manifest: dict[str, Any], card: dict[str, Any]) -> str:
    """README.md with Hugging Face front matter. ``card``: license, base_model_id, metrics (dict or None),
    listening (lines from :func:`engine.listening.report.model_card_lines`, optional)."""
    metrics = card.get("metrics") or {}
    lora, model = manifest["lora"], manifest["base_model"]
    front = ["---", f"license: {card['license']}", f"base_model: {card['base_model_id']}", "library_name: onnx",
             "pipeline_tag: text-to-audio", "tags:", *(f"- {t}" for t in
                                                        ("lofi", "music", "ace-step", "lora", "onnx", manifest["precision"]))]
    if metrics:
        front += ["metrics:", *(f"- {k}" for k in ("fad", "clap") if metrics.get(k) is not None)]
    front.append("---")
    rows = [f"| {n} | {g['detail']} | {_mb(g['bytes'])} | {g['parity']['max_rel_error']:.2e} |"
            for n, g in manifest["graphs"].items()]
    size = manifest["size"]
    body = [
        f"# lofi LoRA for {card['base_model_id']} ({manifest['precision']} ONNX)", "",
        f"LoRA run `{lora['run']}`, step {lora['step']} (rank {lora['rank']}, alpha {lora['alpha']:g}, "
        f"{'rsLoRA' if lora['use_rslora'] else 'LoRA'} scaling {lora['scaling']:g}), merged into the DiT and exported "
        "with lofi-tui.",
    ]
    if model.get("tiny"):
        body += ["", "**Built on lofi-tui's tiny random-weight model: it does not make music.** It exists to test "
                 "the export and serving path."]
    body += ["", "| graph | precision | size | parity (max rel. error vs PyTorch) |", "|---|---|---|---|", *rows, "",
             f"Total {_mb(size['total_bytes'])}" + (f", {100 * size['reduction_vs_fp32']:.1f} % below fp32 "
                                                    f"({_mb(size['fp32_total_bytes'])})." if size["reduction_vs_fp32"]
                                                    is not None else "."), ""]
    if metrics:
        body += [f"Evaluation at this checkpoint ({metrics.get('embedding')} embedding, {metrics.get('samples')} "
                 "clips): " + ", ".join(f"{k} {metrics[k]:.4g}" for k in ("fad", "fad_inf", "clap", "distinctness")
                                        if metrics.get(k) is not None) + ".", ""]
        caveats = metrics.get("caveats") or {}  # what the evaluation marked unreliable, said next to the numbers
        body += [*(f"- {k}: {reason}" for k, reason in caveats.items()), *([""] if caveats else [])]
    if card.get("listening"):
        body += ["Blind listening tests (lofi-tui, level-matched clips, fixed trials):", "",
                 *(f"- {line}" for line in card["listening"]), ""]
    body += ["## Use", "", "```sh", "lofi generate --bundle . --prompt \"lofi hip hop, chill, vinyl crackle\" "
             "--duration 30 --out track.wav", "```", "",
             "or serve it to lofi.nvim: `lofi-daemon --daemon --model-dir .` (see lofi-tui's docs/lofi-nvim.md).",
             "", f"Sampler: {manifest['scheduler']['type']}, shift {manifest['scheduler']['shift']:g}, "
             f"{manifest['default_steps']} steps by default; {manifest['audio']['sample_rate']} Hz stereo, up to "
             f"{manifest['max_duration_sec']:g} s.", ""]
    return "\n".join(front + [""] + body)
