"""``lofi export``: checkpoint -> merged DiT -> fp32 graphs -> quantized graphs -> one bundle per precision.

Work lives in ``OUT/.work`` (merged weights in ``OUT/merged``), one resumable stage per step: a
second run after a crash, a cancel or a failed stage redoes only what is missing or invalid.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.atomic import atomic_write_json
from engine.errors import Cancelled, LofiError
from engine.export.assemble import GRAPH_ORDER, write_bundle
from engine.export.choices import checkpoint_metrics
from engine.export.facts import write_facts
from engine.export.graph_cache import GraphCache, cache_dir
from engine.export.merge import (
    load_merged_pipeline,
    merge_checkpoint,
    resolve_step,
    run_base_model,
)
from engine.export.quantize import (
    graph_precision,
    precision_detail,
    quantize_graph,
)
from engine.export.stages import ExportError, load_stage, run_stage
from engine.export.status import (
    CANCELLED,
    DONE,
    FAILED,
    RUNNING,
    ExportRequest,
    default_out,
    last_stage,
    plan,
    record,
)
from engine.inference.bundle import FORMAT_VERSION, PRECISIONS
from engine.listening.report import model_card_lines
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.training import checkpoints as ckpt
from engine.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np

    from engine.export.graphs import GraphSpec
    from engine.model.load import Pipeline


@dataclass
class GraphReport:
    name: str
    precision: str
    bytes: int
    max_rel_error: float


@dataclass
class BundleReport:
    precision: str
    path: Path
    graphs: list[GraphReport]
    total_bytes: int
    reduction_vs_fp32: float | None


@dataclass
class ExportResult:
    run: str
    step: int
    out: Path
    bundles: list[BundleReport]
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)  # stages copied from the graph cache (engine.export.graph_cache)


Build = Callable[[Path], dict[str, Any]]  # build(tmp_dir) -> the stage's results
# stage(label, build): run ``build(tmp_dir)`` unless the stage is done already; its results either way
Stage = Callable[[str, Build], dict[str, Any]]

class _Model:
    """The base pipeline with the merged DiT, loaded only when a stage needs PyTorch (resumes often don't)."""

    def __init__(self, base: Path, merged: Path) -> None:
        self.base, self.merged = base, merged
        self._pipe: Pipeline | None = None
        self._specs: dict[str, GraphSpec] | None = None
        self._references: dict[str, list[list[np.ndarray]]] = {}

    @property
    def pipe(self) -> Pipeline:
        if self._pipe is None:
            self._pipe = load_merged_pipeline(self.base, self.merged)
        return self._pipe

    def spec(self, name: str) -> GraphSpec:
        from engine.export.graphs import graph_specs

        if self._specs is None:
            self._specs = {s.name: s for s in graph_specs(self.pipe)}
        return self._specs[name]

    def references(self, name: str) -> list[list[np.ndarray]]:
        from engine.export.onnx_export import reference_outputs

        if name not in self._references:
            self._references[name] = reference_outputs(self.spec(name))
        return self._references[name]


def _graph_stage(model: _Model, name: str, precision: str, source: Path | None, tmp: Path) -> dict[str, Any]:
    from engine.export.onnx_export import (
        PARITY_TOLERANCE,
        describe,
        export_graph,
        graph_paths,
        parity,
    )

    path, _ = graph_paths(tmp, name)
    if source is None:
        export_graph(model.spec(name), tmp)
    else:
        quantize_graph(name, graph_paths(source, name)[0], path, precision)
    actual = graph_precision(name, precision)
    return {"precision": actual, "detail": precision_detail(name, precision), "io": describe(path),
            "parity": parity(model.spec(name), path, model.references(name), PARITY_TOLERANCE[actual])}


def export_checkpoint(ws: Workspace, run: str, precisions: list[str], checkpoint: str | None = None,
                      out: Path | None = None, license: str = "other", base_model_id: str | None = None,
                      progress: ProgressCallback = no_progress, cancel: CancelToken | None = None) -> ExportResult:
    """Each stage is reported twice through ``progress``: as it starts (``done`` = stages behind it) and as
    it ends; how it went is recorded in ``OUT/.work/status.json`` (engine.export.status)."""
    from engine.model.load import model_identity

    run_dir = ws.runs_dir / run
    if not (run_dir / "config.json").exists():
        raise ExportError(f"no run {run!r} in {ws.runs_dir}; `lofi runs` lists them")
    unknown = [p for p in precisions if p not in PRECISIONS]
    if unknown or not precisions:
        raise ExportError(f"precisions must be among {', '.join(PRECISIONS)}; got {', '.join(precisions) or 'none'}")
    step = resolve_step(run_dir, checkpoint)
    base = run_base_model(run_dir)
    out = Path(out) if out else default_out(ws, run, step)
    (out / ".work").mkdir(parents=True, exist_ok=True)
    marker = out / "export.json"  # an OUT directory holds one checkpoint's export, never a mix
    identity = model_identity(base)
    source = {"run": run, "step": step, "base_model_identity": identity, "format_version": FORMAT_VERSION}
    if marker.exists() and json.loads(marker.read_text()) != source:
        raise ExportError(f"{out} holds the export of {marker.read_text().strip()}; pass another --out")
    atomic_write_json(marker, source)
    request = ExportRequest(run, step, list(precisions), license, base_model_id)
    record(out, request, RUNNING)
    try:
        result = _export(out, request, run_dir, base, identity, model_card_lines(ws, run, step),
                         cache_dir(ws), progress, cancel)
    except Cancelled:
        record(out, request, CANCELLED, last_stage(out))
        raise
    except Exception as exc:
        message = str(exc) if isinstance(exc, LofiError) else f"{type(exc).__name__}: {exc}"
        record(out, request, FAILED, last_stage(out), message)
        raise
    record(out, request, DONE)
    return result


def _export(out: Path, request: ExportRequest, run_dir: Path, base: Path, identity: str, listening: list[str],
            graph_cache: Path, progress: ProgressCallback, cancel: CancelToken | None) -> ExportResult:
    precisions, step = request.precisions, request.step
    result = ExportResult(request.run, step, out, [])
    model = _Model(base, out / "merged")
    stages = {s.label: s.path for s in plan(out, precisions)}
    done = 0

    @cache
    def kept() -> GraphCache:  # hashes the base model's files: only once a graph is to be built
        return GraphCache.for_base(graph_cache, base)

    def cached(precision: str, name: str, build: Build) -> Build:
        if not GraphCache.holds(name):
            return build
        return kept().stage(precision, name, build, lambda: result.reused.append(f"{precision}/{name}"))

    def stage(label: str, build: Build) -> dict[str, Any]:
        nonlocal done
        if cancel is not None:
            cancel.raise_if_cancelled()
        record(out, request, RUNNING, label)
        progress(Progress(done, len(stages), label))
        finished, ran = run_stage(stages[label], build)
        (result.ran if ran else result.skipped).append(label)
        done += 1
        progress(Progress(done, len(stages), label))
        results: dict[str, Any] = finished["results"]
        return results

    manifests: dict[str, dict[str, Any]] = {}  # checksumming a finished bundle reads every byte of it: once per export is enough
    for precision in precisions:
        bundle = load_stage(out / precision)
        if bundle is not None:
            manifests[precision] = bundle["results"]
            result.skipped.append(precision)
            done += 1 + len(GRAPH_ORDER) * (precision != "fp32")
    pending = [p for p in precisions if p not in manifests]
    if pending:
        manifests |= _build(pending, run_dir, step, base, identity, out, model, stage, cached, request.license,
                            request.base_model_id, listening)
    progress(Progress(len(stages), len(stages), "done"))
    for precision in precisions:
        manifest = manifests[precision]
        result.bundles.append(BundleReport(
            precision, out / precision,
            [GraphReport(n, g["detail"], g["bytes"], g["parity"]["max_rel_error"]) for n, g in
             manifest["graphs"].items()], manifest["size"]["total_bytes"], manifest["size"]["reduction_vs_fp32"]))
    return result


def _build(pending: list[str], run_dir: Path, step: int, base: Path, identity: str, out: Path, model: _Model, stage: Stage,
           cached: Callable[[str, str, Build], Build], license: str, base_model_id: str | None,
           listening: list[str]) -> dict[str, dict[str, Any]]:
    """Merge, fp32 graphs (kept in ``.work`` as the source of every precision), then per pending
    precision its graphs and bundle; a precision's work files go once its bundle is whole. ``cached``
    wraps a graph's build so that the graph cache may provide it. Returns each built bundle's manifest."""
    from engine.model.check import is_tiny

    work = out / ".work"
    lora = stage("merged", lambda tmp: merge_checkpoint(base, ckpt.checkpoint_dir(run_dir, step), tmp))
    facts = stage("facts", lambda tmp: write_facts(model.pipe, tmp))

    def graph_stages(precision: str) -> dict[str, dict[str, Any]]:
        graphs = {}
        for name in GRAPH_ORDER:
            src = None if precision == "fp32" else work / "fp32" / name
            info = stage(f"{precision}/{name}", cached(precision, name, partial(_graph_stage, model, name, precision, src)))
            graphs[name] = {**info, "dir": work / precision / name}
        return graphs

    fp32 = graph_stages("fp32")
    fp32_bytes = sum(_graph_bytes(work / "fp32" / n, n) for n in GRAPH_ORDER)
    tiny = is_tiny(base)
    model_info = {"id": base_model_id or (f"lofi-tui/{base.name}" if tiny else f"ACE-Step/{base.name}"),
                  "name": base.name, "identity": identity, "tiny": tiny}
    lora_info = {"run": run_dir.name, "step": step, **{k: lora[k] for k in ("rank", "alpha", "use_rslora", "scaling")},
                 "merge_parity_rel_error": lora["parity_rel_error"]}
    card = {"license": license, "base_model_id": model_info["id"], "metrics": checkpoint_metrics(run_dir, step),
            "listening": listening}
    manifests: dict[str, dict[str, Any]] = {}
    for precision in pending:
        graphs = fp32 if precision == "fp32" else graph_stages(precision)

        def bundle(tmp: Path, p: str = precision, g: dict[str, dict[str, Any]] = graphs) -> dict[str, Any]:
            return write_bundle(tmp, p, g, facts, work / "facts", base / "tokenizer" / "tokenizer.json", model_info,
                                lora_info, fp32_bytes, card)

        manifests[precision] = stage(precision, bundle)
        if precision != "fp32":
            shutil.rmtree(work / precision, ignore_errors=True)
    return manifests


def _graph_bytes(directory: Path, name: str) -> int:
    return sum((directory / f"{name}{s}").stat().st_size for s in (".onnx", ".onnx.data"))
