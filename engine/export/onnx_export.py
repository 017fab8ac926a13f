"""Export one graph with torch's dynamo exporter at opset 18, check it and prove ORT parity.

Opset 18 because asking dynamo for 17 down-converts the DiT into an invalid model (Split). Every
graph is saved as ``<name>.onnx`` + ``<name>.onnx.data`` (external data, required above 2 GB and
used for all graphs so bundles look alike), must pass ``onnx.checker`` and must reproduce the
PyTorch module on inputs of other shapes than the export example (so the dynamic axes are tested).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from engine.export.graphs import GraphSpec
from engine.export.stages import ExportError

OPSET = 18
# max |onnx - torch| / max |torch| per output, over every parity input
PARITY_TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.15, "int4": 0.5}


def _sort_stable(self: Any, stable: bool | None = None, dim: int = -1, descending: bool = False) -> tuple[Any, Any]:
    """aten.sort.stable has no ONNX translation in torch 2.13; ONNX TopK breaks ties by the lower
    index (spec since opset 11), which is exactly a stable sort. Used by the condition encoder to
    pack valid tokens first."""
    from onnxscript import opset18 as op

    # TopK takes no bool; double holds ints and floats exactly. onnxscript types Cast's result as any tensor type.
    x: Any = op.Cast(self, to=onnx.TensorProto.DOUBLE)
    # onnxscript turns the int ``dim`` into a constant, which its stubs do not model
    k = op.Reshape(op.Gather(op.Shape(x), dim), op.Constant(value_ints=[1]))  # type: ignore[type-var, arg-type]
    values, indices = op.TopK(x, k, axis=dim, largest=1 if descending else 0, sorted=1)
    return op.CastLike(values, self), indices


@contextlib.contextmanager
def quiet_loggers(prefix: str) -> Iterator[None]:
    """Silence ``prefix``'s loggers (and the root) below ERROR: onnxruntime's quantizers log every node,
    torch.onnx warns about optional packages (torchvision) on each export. The engine never chats."""
    names = ["", prefix, *(n for n in logging.root.manager.loggerDict if n.startswith(prefix + "."))]
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


def graph_paths(directory: Path, name: str) -> tuple[Path, Path]:
    return Path(directory) / f"{name}.onnx", Path(directory) / f"{name}.onnx.data"


NAME_SCOPES = "pkg.torch.onnx.name_scopes"


def save_model(model: onnx.ModelProto, path: Path, keep_metadata: tuple[str, ...] = ()) -> None:
    """Weights to ``<path>.data`` next to the graph, referenced by a relative name. Node metadata is
    dropped except ``keep_metadata``: the exporter's stack traces hold this machine's paths."""
    for node in model.graph.node:
        kept = [(p.key, p.value) for p in node.metadata_props if p.key in keep_metadata]
        del node.metadata_props[:]
        for key, value in kept:
            node.metadata_props.add(key=key, value=value)
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=Path(path).name + ".data", size_threshold=1024)


def export_graph(spec: GraphSpec, directory: Path) -> Path:
    path, _ = graph_paths(directory, spec.name)
    spec.module.eval()
    with spec.export_context(), torch.no_grad(), warnings.catch_warnings(), quiet_loggers("torch.onnx"), \
            contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its steps; the engine never prints
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                spec.module, spec.example, dynamo=True, opset_version=OPSET, input_names=spec.input_names,
                output_names=spec.output_names, dynamic_shapes=spec.dynamic_shapes,
                custom_translation_table={torch.ops.aten.sort.stable: _sort_stable}, verbose=False)
        except Exception as exc:
            raise ExportError(f"torch.onnx could not export the {spec.name}: {str(exc).splitlines()[0]}") from exc
    assert program is not None  # dynamo=True always returns the program
    save_model(program.model_proto, path, keep_metadata=(NAME_SCOPES,))  # quantization picks nodes by scope
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path.name} fails onnx.checker: {exc}") from None
    return path


def reference_outputs(spec: GraphSpec) -> list[list[np.ndarray]]:
    """The PyTorch module's outputs (unpatched) for each parity input."""
    outs = []
    with torch.no_grad():
        for inputs in spec.parity_inputs:
            result = spec.module(*inputs)
            result = result if isinstance(result, tuple) else (result,)
            outs.append([r.detach().float().numpy() if r.is_floating_point() else r.numpy() for r in result])
    return outs


def parity(spec: GraphSpec, path: Path, references: list[list[np.ndarray]], tolerance: float) -> dict[str, Any]:
    """Worst relative error of the ONNX graph against PyTorch; raises when above ``tolerance``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for inputs, expected in zip(spec.parity_inputs, references):
        feeds = {name: t.numpy() for name, t in zip(spec.input_names, inputs)}
        got = session.run(None, feeds)
        for name, a, b in zip(spec.output_names, got, expected):
            if a.shape != b.shape:
                raise ExportError(f"{path.name}: output {name} has shape {a.shape}, PyTorch gives {b.shape}")
            if b.dtype.kind == "f":
                worst = max(worst, float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-12)))
            elif not np.array_equal(a, b):
                raise ExportError(f"{path.name}: output {name} differs from PyTorch")
    if not worst <= tolerance:
        raise ExportError(f"{path.name} differs from PyTorch by {worst:.3g} (max relative error; tolerance "
                          f"{tolerance:g}); this graph is not exported faithfully")
    return {"max_rel_error": worst, "tolerance": tolerance, "inputs": len(spec.parity_inputs)}


def describe(path: Path) -> dict[str, Any]:
    """Input/output names, symbolic shapes and dtypes as the graph declares them, for the manifest."""
    model = onnx.load(str(path), load_external_data=False)

    def io(values: Iterable[onnx.ValueInfoProto]) -> list[dict[str, Any]]:
        return [{"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                 "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]} for v in values]

    return {"opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
            "inputs": io(model.graph.input), "outputs": io(model.graph.output)}
