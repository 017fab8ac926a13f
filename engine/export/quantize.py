"""Precisions: fp32 graphs converted to fp16, int8 (dynamic, per channel) or int4 (MatMulNBits).

Floors, whatever is asked: the lyric and timbre encoders (inside the condition encoder graph) and the
token embedding table lyrics are read from never go below INT8, and the VAE decoder never below
FP16 (its output is the audio itself). Nodes are
picked by the submodule that produced them (``pkg.torch.onnx.name_scopes`` from the dynamo exporter).
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path
from typing import cast

import numpy as np
import onnx
from onnx import helper, numpy_helper

from engine.export.graphs import (
    CONDITION_ENCODER,
    PROTECTED_SCOPES,
    TEXT_ENCODER,
    VAE_DECODER,
)
from engine.export.onnx_export import NAME_SCOPES, quiet_loggers, save_model
from engine.export.stages import ExportError
from engine.inference.bundle import PRECISIONS

RANK = {p: i for i, p in enumerate(PRECISIONS)}  # higher = fewer bits
FLOOR = {VAE_DECODER: "fp16"}
PROTECTED_FLOOR = "int8"
# weight-bearing ops run in fp16; everything else (norm statistics, rotary angles, softmax, masks)
# stays fp32 so long sequences and large activations cannot overflow or lose positions
FP16_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose"}
INT4_BLOCK = 32
EMBEDDING_MIN_ROWS = 256  # a 2-D float table this tall, read by Gather, is a token embedding


def parse_precisions(text: str) -> list[str]:
    wanted = [p.strip().lower() for p in text.split(",") if p.strip()]
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad or not wanted:
        raise ExportError(f"--precision takes a comma list of {', '.join(PRECISIONS)}; got {text!r}")
    return sorted(set(wanted), key=RANK.__getitem__)


def graph_precision(graph: str, requested: str) -> str:
    floor = FLOOR.get(graph)
    return floor if floor and RANK[requested] > RANK[floor] else requested


def precision_detail(graph: str, requested: str) -> str:
    """What the graph actually holds, e.g. ``int4 (lyric_encoder, timbre_encoder: int8)``."""
    actual = graph_precision(graph, requested)
    kept = {CONDITION_ENCODER: PROTECTED_SCOPES, TEXT_ENCODER: ("token embeddings",)}.get(graph)
    if kept and RANK[actual] > RANK[PROTECTED_FLOOR]:
        return f"{actual} ({', '.join(kept)}: {PROTECTED_FLOOR})"
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


def embedding_gathers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Gather nodes reading rows of a token embedding table (the text encoder's, shared with lyrics)."""
    tables = {i.name for i in model.graph.initializer
              if len(i.dims) == 2 and i.dims[0] >= EMBEDDING_MIN_ROWS and i.data_type == onnx.TensorProto.FLOAT}
    return [n for n in model.graph.node if n.op_type == "Gather" and n.input[0] in tables
            and all(a.i == 0 for a in n.attribute if a.name == "axis")]


def embeddings_to_int8(model: onnx.ModelProto) -> onnx.ModelProto:
    """Token tables as int8 with one symmetric scale per row: a quarter of the bytes, error at most
    half a step of each row's own range. ORT's quantizers take Gather only per tensor (dynamic) or at
    4 bits (MatMulNBits); lyrics read this table, so it must not go below 8 bits."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    for node in embedding_gathers(model):
        name, out = node.input[0], node.output[0]
        table = numpy_helper.to_array(initializers[name]).astype(np.float32)
        scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        graph.initializer.extend([numpy_helper.from_array(np.round(table / scale).astype(np.int8), f"{name}_int8"),
                                  numpy_helper.from_array(scale.astype(np.float32), f"{name}_row_scale")])
        rows, scales, as_float = f"{out}_int8", f"{out}_scale", f"{out}_float"
        index = list(graph.node).index(node)
        graph.node.remove(node)
        for k, new in enumerate([
                helper.make_node("Gather", [f"{name}_int8", node.input[1]], [rows], name=f"{node.name}_int8"),
                helper.make_node("Gather", [f"{name}_row_scale", node.input[1]], [scales], name=f"{node.name}_scale"),
                helper.make_node("Cast", [rows], [as_float], to=onnx.TensorProto.FLOAT, name=f"{node.name}_cast"),
                helper.make_node("Mul", [as_float, scales], [out], name=f"{node.name}_dequantize")]):
            graph.node.insert(index + k, new)
        if not any(name in n.input for n in graph.node):
            graph.initializer.remove(initializers[name])
    return model


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    tables = {n.name for n in embedding_gathers(model)}
    keep = [n.name for n in model.graph.node if n.op_type not in FP16_OPS and n.name not in tables]
    converted = OnnxModel(convert_float_to_float16(model, keep_io_types=True, node_block_list=keep,
                                                   disable_shape_infer=True))
    converted.topological_sort(is_deterministic=True)  # the converter appends its Casts after their users
    del converted.model.graph.value_info[:]  # the exporter's fp32 types of intermediates are stale now
    return cast(onnx.ModelProto, converted.model)


def _int8(src: Path, dst: Path, nodes: list[str] | None = None) -> None:
    """Dynamic INT8 of weight MatMuls (all of them, or only ``nodes``), saved with our file layout.

    Weights use 7 bits (``reduce_range``): onnxruntime multiplies uint8 activations by int8 weights with
    instructions that saturate on CPUs without VNNI (AVX2, AVX-512 before VNNI); with full-range weights
    the same bundle is accurate on one machine and off by tens of percent on another.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        out = Path(tmp) / "int8.onnx"
        quantize_dynamic(src, out, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True,
                         op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=nodes or [],
                         use_external_data_format=True, extra_options={"MatMulConstBOnly": True})
        save_model(onnx.load(str(out)), dst)


def _int4(model: onnx.ModelProto, exclude: list[str]) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(model, block_size=INT4_BLOCK, is_symmetric=True, nodes_to_exclude=exclude)
    quantizer.process()
    return cast(onnx.ModelProto, quantizer.model.model)


def quantize_graph(graph: str, src: Path, dst: Path, requested: str) -> None:
    """Write ``dst`` (+ ``.data``) holding graph ``src`` (fp32) at ``requested`` precision and its floors."""
    with quiet_loggers("onnxruntime"):
        _quantize(graph, src, dst, graph_precision(graph, requested))
    if not Path(dst).exists():
        raise ExportError(f"quantizing the {graph} to {requested} wrote nothing")


def _quantize(graph: str, src: Path, dst: Path, actual: str) -> None:
    model = onnx.load(str(src))  # fp32: requested precisions are fp16 or below, and floors never reach fp32
    if actual == "fp16":
        save_model(to_fp16(model), dst)
        return
    protected = protected_nodes(model) if graph == CONDITION_ENCODER else []
    model = embeddings_to_int8(model)
    if actual == "int4":
        model = _int4(model, protected)
    elif actual != "int8":
        raise ExportError(f"unknown precision {actual!r}")
    if actual == "int4" and not protected:
        save_model(model, dst)
        return
    present = {n.name for n in model.graph.node}
    with tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        mid = Path(tmp) / "mid.onnx"  # ORT's dynamic quantizer reads large models reliably only from files
        save_model(model, mid)
        _int8(mid, dst, nodes=None if actual == "int8" else [n for n in protected if n in present])
