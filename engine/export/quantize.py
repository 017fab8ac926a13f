"""Precisions: fp32 graphs converted to fp16, int8 (dynamic, per channel) or int4 (MatMulNBits).

Floors, whatever is asked: the lyric and timbre encoders (inside the condition encoder graph) never
go below INT8, and the VAE decoder never below FP16 (its output is the audio itself). Nodes are
picked by the submodule that produced them (``pkg.torch.onnx.name_scopes`` from the dynamo exporter).
"""

from __future__ import annotations

import ast
import logging
import tempfile
from contextlib import contextmanager
from pathlib import Path

import onnx

from engine.export.graphs import CONDITION_ENCODER, PROTECTED_SCOPES, VAE_DECODER
from engine.export.onnx_export import NAME_SCOPES, save_model
from engine.export.stages import ExportError

PRECISIONS = ("fp32", "fp16", "int8", "int4")
RANK = {p: i for i, p in enumerate(PRECISIONS)}  # higher = fewer bits
FLOOR = {VAE_DECODER: "fp16"}
PROTECTED_FLOOR = "int8"
# weight-bearing ops run in fp16; everything else (norm statistics, rotary angles, softmax, masks)
# stays fp32 so long sequences and large activations cannot overflow or lose positions
FP16_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose"}
INT4_BLOCK = 32


def parse_precisions(text: str) -> list[str]:
    wanted = [p.strip().lower() for p in text.split(",") if p.strip()]
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad or not wanted:
        raise ExportError(f"--precision takes a comma list of {', '.join(PRECISIONS)}; got {text!r}")
    return sorted(set(wanted), key=RANK.get)


def graph_precision(graph: str, requested: str) -> str:
    floor = FLOOR.get(graph)
    return floor if floor and RANK[requested] > RANK[floor] else requested


def precision_detail(graph: str, requested: str) -> str:
    """What the graph actually holds, e.g. ``int4 (lyric_encoder, timbre_encoder: int8)``."""
    actual = graph_precision(graph, requested)
    if graph == CONDITION_ENCODER and RANK[actual] > RANK[PROTECTED_FLOOR]:
        return f"{actual} ({', '.join(PROTECTED_SCOPES)}: {PROTECTED_FLOOR})"
    return actual


def _scopes(node: onnx.NodeProto) -> list[str]:
    for prop in node.metadata_props:
        if prop.key == NAME_SCOPES:
            try:
                return list(ast.literal_eval(prop.value))
            except (ValueError, SyntaxError):
                return []
    return []


def protected_nodes(model: onnx.ModelProto) -> list[str]:
    return [n.name for n in model.graph.node
            if any(part in PROTECTED_SCOPES for scope in _scopes(n) for part in scope.split("."))]


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from onnxruntime.transformers.onnx_model import OnnxModel

    keep = [n.name for n in model.graph.node if n.op_type not in FP16_OPS]
    converted = OnnxModel(convert_float_to_float16(model, keep_io_types=True, node_block_list=keep,
                                                   disable_shape_infer=True))
    converted.topological_sort(is_deterministic=True)  # the converter appends its Casts after their users
    del converted.model.graph.value_info[:]  # the exporter's fp32 types of intermediates are stale now
    return converted.model


def _int8(src: Path, dst: Path, nodes: list[str] | None = None) -> None:
    """Dynamic INT8 of weight MatMuls (all of them, or only ``nodes``), saved with our file layout."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        out = Path(tmp) / "int8.onnx"
        quantize_dynamic(src, out, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=nodes or [],
                         use_external_data_format=True, extra_options={"MatMulConstBOnly": True})
        save_model(onnx.load(str(out)), dst)


@contextmanager
def _quiet():
    """onnxruntime's quantizers log every node (INFO) and advice (WARNING) through their own handlers."""
    names = ["", *(n for n in logging.root.manager.loggerDict if n.startswith("onnxruntime"))]
    levels = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


def _int4(model: onnx.ModelProto, exclude: list[str]) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(model, block_size=INT4_BLOCK, is_symmetric=True, nodes_to_exclude=exclude)
    quantizer.process()
    return quantizer.model.model


def quantize_graph(graph: str, src: Path, dst: Path, requested: str) -> None:
    """Write ``dst`` (+ ``.data``) holding graph ``src`` (fp32) at ``requested`` precision and its floors."""
    with _quiet():
        _quantize(graph, src, dst, graph_precision(graph, requested))
    if not Path(dst).exists():
        raise ExportError(f"quantizing the {graph} to {requested} wrote nothing")


def _quantize(graph: str, src: Path, dst: Path, actual: str) -> None:
    model = onnx.load(str(src))
    protected = protected_nodes(model) if graph == CONDITION_ENCODER else []
    if actual == "fp32":
        save_model(model, dst)
    elif actual == "fp16":
        save_model(to_fp16(model), dst)
    elif actual == "int8":
        _int8(src, dst)
    elif actual == "int4":
        model = _int4(model, protected)
        if not protected:
            save_model(model, dst)
            return
        with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
            mid = Path(tmp) / "int4.onnx"
            save_model(model, mid)
            _int8(mid, dst, nodes=[n for n in protected if n in {x.name for x in model.graph.node}])
    else:
        raise ExportError(f"unknown precision {actual!r}")
