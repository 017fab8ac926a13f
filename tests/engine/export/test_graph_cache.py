"""The graph cache: a later export of the same base model copies the encoders' and the VAE's graphs, builds the
DiT (which holds the LoRA), and never uses a kept graph that is damaged or belongs to other weights."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.export.exporter import export_checkpoint
from engine.export.graph_cache import base_key, cache_dir, code_version
from engine.export.merge import run_base_model
from engine.export.stages import load_stage
from engine.inference.bundle import Bundle
from engine.model.tiny import build_tiny_checkpoint
from tests.engine.export.exported import RUN

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("export")]
BASE_GRAPHS = ("text_encoder", "condition_encoder", "vae_decoder")


def _checksums(bundle, name):
    sums = json.loads((bundle / "manifest.json").read_text())["checksums"]
    return {file: sum for file, sum in sums.items() if file.startswith(name + ".")}


def _kept(exported):
    base = run_base_model(exported.workspace.runs_dir / RUN)
    return cache_dir(exported.workspace) / base_key(base) / code_version()


def test_the_session_export_kept_the_base_graphs_of_every_precision_and_not_the_dit(exported):
    kept = _kept(exported)
    assert sorted(p.name for p in kept.iterdir()) == ["fp16", "fp32", "int4", "int8"]
    for precision in kept.iterdir():
        assert sorted(p.name for p in precision.iterdir() if not p.name.startswith(".")) == sorted(BASE_GRAPHS)


def test_another_export_copies_the_kept_graphs_builds_the_dit_and_rebuilds_a_damaged_graph(exported, tmp_path,
                                                                                               monkeypatch):
    mine = tmp_path / "cache"  # a copy of the session's cache: damaging it must not touch other tests
    shutil.copytree(cache_dir(exported.workspace), mine)
    monkeypatch.setenv("LOFI_GRAPH_CACHE", str(mine))
    damaged = mine / _kept(exported).relative_to(cache_dir(exported.workspace)) / "fp32" / "text_encoder"
    data = damaged / "text_encoder.onnx.data"
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))

    result = export_checkpoint(exported.workspace, RUN, ["fp32", "int8"], out=tmp_path / "again")
    assert result.reused == ["fp32/condition_encoder", "fp32/vae_decoder",
                             *(f"int8/{g}" for g in BASE_GRAPHS)], "all kept graphs but the damaged one"
    assert {"fp32/text_encoder", "fp32/transformer", "int8/transformer"} <= set(result.ran)
    assert load_stage(damaged) is not None, "the rebuilt graph is kept in place of the damaged one"
    for precision in ("fp32", "int8"):
        bundle = Bundle.open(tmp_path / "again" / precision)  # checksums and one ORT session per graph
        manifest = json.loads((bundle.root / "manifest.json").read_text())
        assert all(g["parity"]["max_rel_error"] <= g["parity"]["tolerance"] for g in manifest["graphs"].values())
        for name in BASE_GRAPHS[1:]:
            assert _checksums(bundle.root, name) == _checksums(exported.bundle(precision), name)


def test_the_key_follows_the_frozen_weights_and_ignores_the_dit(tmp_path):
    one = build_tiny_checkpoint(tmp_path / "one")
    same = build_tiny_checkpoint(tmp_path / "same", variant="base")  # built alike elsewhere, another DiT config
    other = build_tiny_checkpoint(tmp_path / "other", seed=1)  # same shapes and sizes, other weights
    assert base_key(one) == base_key(same) != base_key(other)
    for weights in (one / "transformer").glob("*.safetensors"):  # a LoRA merge changes only the DiT
        weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    assert base_key(one) == base_key(same)
