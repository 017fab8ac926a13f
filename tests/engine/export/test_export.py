"""Export of a trained tiny-model run: merge, four precisions, bundles, resume, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from peft import LoraConfig

from engine.export.exporter import export_checkpoint
from engine.export.merge import merge_checkpoint
from engine.export.stages import ExportError
from engine.inference.bundle import FORMAT_VERSION, Bundle, BundleError
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.runs import create_run
from lofi_tui.cli import main
from tests.engine.export.exported import PRECISIONS, RUN

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("export")]
GRAPHS = ("text_encoder", "condition_encoder", "transformer", "vae_decoder")


def _manifest(exported, precision):
    return json.loads((exported.bundle(precision) / "manifest.json").read_text())


def test_interrupted_export_resumes_where_it_stopped(exported):
    assert exported.first_ran[:3] == ["merged", "facts", "fp32/text_encoder"]
    assert exported.first_ran[-1] == "fp32/transformer"
    assert exported.result.skipped == exported.first_ran  # nothing finished was redone
    assert "fp32/vae_decoder" in exported.result.ran and "int4" in exported.result.ran


def test_every_bundle_is_complete_valid_and_loads(exported):
    for precision in PRECISIONS:
        root = exported.bundle(precision)
        m = _manifest(exported, precision)
        assert m["precision"] == precision and m["format_version"] == FORMAT_VERSION
        assert m["lora"]["run"] == RUN and m["lora"]["step"] == 3 and m["lora"]["use_rslora"]
        assert m["lora"]["scaling"] == pytest.approx(8.0 / math.sqrt(4))  # rsLoRA, not alpha / r
        assert m["audio"]["sample_rate"] == 48000 and m["audio"]["latent_rate"] == 25.0
        for name in GRAPHS:
            g = m["graphs"][name]
            onnx.checker.check_model(str(root / g["file"]), full_check=True)
            assert g["opset"] == 18 and (root / g["external_data"]).exists()
            assert g["parity"]["max_rel_error"] <= g["parity"]["tolerance"]
            assert {i["name"] for i in g["inputs"]} and all(i["dtype"] for i in g["outputs"])
        assert m["graphs"]["transformer"]["inputs"][0]["shape"][:2] == ["batch", "2*half_frames"]
        assert set(m["checksums"]) >= {"tokenizer.json", "README.md", "transformer.onnx.data", "silence_latent.npy"}
        bundle = Bundle.open(root)  # verifies checksums and starts one ORT session per graph
        assert set(bundle.sessions) == set(GRAPHS)
        card = (root / "README.md").read_text()
        assert card.startswith("---\nlicense: other\nbase_model: lofi-tui/") and "- onnx" in card
        assert "does not make music" in card


def test_precision_floors_and_sizes(exported):
    fp32 = _manifest(exported, "fp32")
    assert {g["precision"] for g in fp32["graphs"].values()} == {"fp32"}
    assert fp32["graphs"]["transformer"]["parity"]["max_rel_error"] < 1e-4
    for precision in ("int8", "int4"):
        m = _manifest(exported, precision)
        assert m["graphs"]["vae_decoder"]["precision"] == "fp16"  # never below FP16
        assert m["graphs"]["transformer"]["precision"] == precision
        assert m["size"]["total_bytes"] < fp32["size"]["total_bytes"]
        assert m["size"]["reduction_vs_fp32"] > 0.2
    assert _manifest(exported, "int4")["graphs"]["condition_encoder"]["detail"] == \
        "int4 (lyric_encoder, timbre_encoder: int8)"
    int4 = onnx.load(str(exported.bundle("int4") / "condition_encoder.onnx"), load_external_data=False)
    ops = {n.op_type for n in int4.graph.node}
    assert "MatMulNBits" in ops and "DynamicQuantizeLinear" in ops  # int4 outside, int8 in lyric/timbre
    dit = onnx.load(str(exported.bundle("int8") / "transformer.onnx"), load_external_data=False)
    assert any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in dit.graph.node)
    assert _manifest(exported, "int4")["graphs"]["text_encoder"]["detail"] == "int4 (token embeddings: int8)"


@pytest.mark.parametrize("precision, dtype", [("fp32", np.float32), ("fp16", np.float16), ("int8", np.int8),
                                              ("int4", np.int8)])
def test_the_token_table_is_stored_once_at_its_precision(exported, tiny_model, precision, dtype):
    """Lyrics and captions share one embedding table, in the text encoder graph only."""
    from transformers import Qwen3Config

    vocab = Qwen3Config.from_pretrained(Path(tiny_model) / "text_encoder").vocab_size
    tables = {}
    for graph in GRAPHS:
        model = onnx.load(str(exported.bundle(precision) / f"{graph}.onnx"))
        tables[graph] = [onnx.numpy_helper.to_array(i).dtype for i in model.graph.initializer
                         if len(i.dims) == 2 and i.dims[0] == vocab and i.dims[1] > 1]  # not row scales
    assert tables == {"text_encoder": [np.dtype(dtype)], "condition_encoder": [], "transformer": [],
                      "vae_decoder": []}


def test_a_damaged_stage_is_redone_and_the_rest_reused(exported):
    for data in (exported.out / ".work" / "fp32" / "transformer" / "transformer.onnx.data",
                 exported.bundle("int8") / "transformer.onnx.data"):
        blob = bytearray(data.read_bytes())
        blob[-1] ^= 0xFF
        data.write_bytes(bytes(blob))
    result = export_checkpoint(exported.workspace, RUN, ["int8", "int4"], out=exported.out)
    assert result.ran == ["fp32/transformer", *(f"int8/{g}" for g in GRAPHS), "int8"]
    assert result.skipped == ["int4", "merged", "facts", "fp32/text_encoder", "fp32/condition_encoder",
                              "fp32/vae_decoder"]
    Bundle.open(exported.bundle("int8"))


def test_merge_applies_rslora_scaling_and_matches_the_adapter(tiny_model, tmp_path):
    from engine.model.load import load_pipeline

    pipe = load_pipeline(tiny_model)
    config = LoraConfig(r=4, lora_alpha=8.0, use_rslora=True, target_modules=["to_q", "to_v"], init_lora_weights=False)
    torch.manual_seed(3)
    pipe.transformer.add_adapter(config)
    layer = pipe.transformer.layers[0].self_attn.to_q
    expected = (layer.base_layer.weight + (8.0 / math.sqrt(4)) * layer.lora_B["default"].weight
                @ layer.lora_A["default"].weight).detach()
    step_dir = ckpt.save_checkpoint(tmp_path / "run", 1, pipe.transformer, config, {"step": 1})
    info = merge_checkpoint(tiny_model, step_dir, tmp_path / "merged")
    assert info["scaling"] == pytest.approx(4.0) and info["parity_rel_error"] < 1e-5
    assert info["lora_effect_rel"] > 1e-3  # the LoRA changes the output, so the parity check means something
    from safetensors.torch import load_file

    merged = load_file(str(tmp_path / "merged" / "transformer" / "diffusion_pytorch_model.safetensors"))
    assert torch.allclose(merged["layers.0.self_attn.to_q.weight"], expected, atol=1e-6)


def test_bad_requests_get_clear_errors(exported, tmp_path):
    ws = exported.workspace
    with pytest.raises(ExportError, match="no run 'nope'"):
        export_checkpoint(ws, "nope", ["fp32"])
    with pytest.raises(ExportError, match="no checkpoint at step 99; it has 0, 3"):
        export_checkpoint(ws, RUN, ["fp32"], checkpoint="99")
    with pytest.raises(ExportError, match="no evaluated best checkpoint"):
        export_checkpoint(ws, RUN, ["fp32"], checkpoint="best")
    create_run(ws, TrainConfig(run="untrained", base_model=str(exported.out), workspace=str(ws.root)))
    with pytest.raises(ExportError, match="untrained has no valid checkpoint yet"):
        export_checkpoint(ws, "untrained", ["fp32"])
    with pytest.raises(BundleError, match="not a finished export bundle"):
        Bundle.open(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(main, ["-w", str(ws.root), "export", "--run", RUN, "--precision", "fp8"])
    assert bad.exit_code == 1 and "--precision takes a comma list of fp32, fp16, int8, int4" in bad.output
    offline = runner.invoke(main, ["publish", str(exported.bundle("int8")), "--repo", "someone/lofi"])
    assert offline.exit_code == 1 and "HF_HUB_OFFLINE" in offline.output and "Nothing was uploaded" in offline.output


def test_a_corrupt_bundle_file_is_refused(exported, tmp_path):
    import shutil

    copy = tmp_path / "fp16"
    shutil.copytree(exported.bundle("fp16"), copy)
    (copy / "tokenizer.json").write_text("{}")
    with pytest.raises(BundleError, match="tokenizer.json does not match its checksum"):
        Bundle.open(copy)


def test_generated_prompt_tokens_match_the_pipeline_tokenizer(exported, tiny_model):
    from transformers import AutoTokenizer

    from engine.inference.prompt import format_text, token_ids

    bundle = Bundle.open(exported.bundle("int4"))
    spec = bundle.manifest["prompt"]
    hf = AutoTokenizer.from_pretrained(Path(tiny_model) / "tokenizer")
    text = format_text(spec, "lofi hip hop, chill, vinyl crackle", 30.0)
    assert "# Caption\nlofi hip hop, chill, vinyl crackle" in text and "30 seconds" in text
    assert token_ids(bundle.tokenizer, text, 256)[0].tolist() == hf(text, truncation=True, max_length=256).input_ids
    assert np.asarray(token_ids(bundle.tokenizer, text, 5)).shape == (1, 5)


def test_default_checkpoint_is_the_best_evaluated_else_the_latest(exported):
    from engine.export.merge import resolve_step

    run_dir = exported.workspace.runs_dir / RUN
    assert resolve_step(run_dir, None) == resolve_step(run_dir, "latest") == 3
    best = run_dir / "eval" / "best.json"
    best.parent.mkdir(exist_ok=True)
    best.write_text(json.dumps({"step": 0, "combined": 0.5}))
    try:
        assert resolve_step(run_dir, None) == resolve_step(run_dir, "best") == 0
        assert resolve_step(run_dir, "latest") == 3
        with pytest.raises(ExportError, match="must be a step number, best or latest"):
            resolve_step(run_dir, "newest")
    finally:
        best.unlink()


def test_export_cli_reports_sizes_and_resumes_without_redoing_work(exported):
    args = ["-w", str(exported.workspace.root), "export", "--run", RUN, "--out", str(exported.out)]
    doc = json.loads(CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False).output)
    assert doc["ran"] == [] and set(PRECISIONS) <= set(doc["skipped"])
    sizes = {b["precision"]: b["total_bytes"] for b in doc["bundles"]}
    assert sizes["int8"] < sizes["fp16"] < sizes["fp32"]
    human = CliRunner().invoke(main, args, catch_exceptions=False)
    assert human.exit_code == 0 and "resumed:" in human.output and "vs fp32" in human.output
    assert all(p in human.output for p in PRECISIONS)
