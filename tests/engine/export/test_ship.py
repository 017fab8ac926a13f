"""What the export wizard shows before and after an export: size estimates, where an export stands, the
lofi.nvim snippet and publishing (offline and without a token for real; the Hub itself replaced by a
recording client, the one thing a test must never reach)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import huggingface_hub
import pytest

from engine.export.nvim import setup_snippet
from engine.export.publish import PublishError, publish_bundle, publish_plan
from engine.export.sizes import estimate_bundle_bytes, parameter_counts
from engine.export.status import STATUS_FILE, read_status
from engine.model.load import load_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("export")]
ROOT = Path(__file__).resolve().parents[3]


def test_parameter_counts_come_from_the_weight_headers_without_loading_them(tiny_model):
    counts = parameter_counts(tiny_model)
    pipe = load_pipeline(tiny_model)
    real = {"text_encoder": pipe.text_encoder, "condition_encoder": pipe.condition_encoder,
            "transformer": pipe.transformer, "vae_decoder": pipe.vae.decoder}
    for name, module in real.items():
        assert getattr(counts, name) == sum(t.numel() for t in module.state_dict().values()), name
    assert counts.token_table == pipe.text_encoder.get_input_embeddings().weight.numel()


def test_size_estimates_order_the_precisions_as_the_real_bundles_do(exported, tiny_model):
    counts = parameter_counts(tiny_model)
    estimated = {p: estimate_bundle_bytes(counts, p) for p in ("fp32", "fp16", "int8", "int4")}
    actual = {p: json.loads((exported.bundle(p) / "manifest.json").read_text())["size"]["total_bytes"] +
              (exported.bundle(p) / "tokenizer.json").stat().st_size for p in estimated}
    assert estimated["fp32"] > estimated["fp16"] > estimated["int8"] > estimated["int4"]
    assert 0.5 < estimated["fp32"] / actual["fp32"] <= 1.0  # weights only: graphs add structure, never less


def test_status_of_a_finished_export_and_of_one_whose_process_died(exported, tmp_path):
    status = read_status(exported.out)
    assert status.state == "done" and status.request.precisions == ["fp32", "fp16", "int8", "int4"]
    assert {s.state for s in status.stages} == {"done"} and set(status.manifests) == set(status.request.precisions)
    labels = [s.label for s in status.stages]
    assert labels[:3] == ["merged", "facts", "fp32/text_encoder"] and labels[-4:] == ["fp32", "fp16", "int8", "int4"]
    killed = tmp_path / "killed"
    (killed / ".work").mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (killed / ".work" / STATUS_FILE).write_text(json.dumps({
        "request": {"run": "r", "step": 3, "precisions": ["int8"]}, "state": "running", "stage": "int8/transformer",
        "error": None, "pid": dead.pid}))
    status = read_status(killed)
    assert status.state == "interrupted" and status.unfinished
    assert {s.state for s in status.stages} == {"pending"}


def test_setup_snippet_points_lofi_nvim_at_the_bundle_and_this_daemon(exported):
    snippet = setup_snippet(exported.bundle("int8"))
    daemon = Path(sys.executable).parent / "lofi-daemon"
    assert snippet.splitlines()[0] == 'require("lofi").setup({' and snippet.splitlines()[-1] == "})"
    assert f'daemon_path = "{daemon}",' in snippet and daemon.exists()
    assert f'model_path = "{exported.bundle("int8").resolve()}",' in snippet


class RecordingHub:
    """Stands in for huggingface_hub.HfApi: records what an upload sends, sends nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def create_repo(self, repo_id, *, repo_type, private, exist_ok):
        self.calls.append(("create_repo", repo_id, private))

    def preupload_lfs_files(self, repo_id, additions, *, repo_type):
        self.calls.append(("preupload", [op.path_in_repo for op in additions]))

    def create_commit(self, repo_id, operations, *, commit_message, repo_type):
        self.calls.append(("commit", sorted(op.path_in_repo for op in operations)))


def test_publish_lists_the_files_then_uploads_each_with_progress_and_commits_once(exported, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    bundle = exported.bundle("int8")
    plan = publish_plan(bundle)
    names = [name for name, _ in plan.files]
    assert "stage.json" not in names and {"manifest.json", "README.md", "transformer.onnx.data"} <= set(names)
    assert plan.total_bytes == sum((bundle / n).stat().st_size for n in names)
    hub, seen = RecordingHub(), []
    url = publish_bundle(bundle, "someone/lofi-int8", token="hf_test", api=hub, progress=seen.append)
    assert url == "https://huggingface.co/someone/lofi-int8"
    assert hub.calls[0] == ("create_repo", "someone/lofi-int8", False)
    assert [c[1][0] for c in hub.calls if c[0] == "preupload"] == names
    assert hub.calls[-1] == ("commit", sorted(names))
    assert [p.done for p in seen] == sorted(p.done for p in seen) and seen[-1].done == plan.total_bytes


def test_publish_offline_or_without_a_token_says_so_in_one_line_and_sends_nothing(exported, tmp_path):
    bundle = exported.bundle("int8")
    hub = RecordingHub()
    with pytest.raises(PublishError, match="HF_HUB_OFFLINE") as offline:  # tests run offline (tests/conftest.py)
        publish_bundle(bundle, "someone/lofi-int8", token="hf_test", api=hub)
    assert "Nothing was uploaded" in str(offline.value) and "\n" not in str(offline.value) and not hub.calls
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_TOKEN": "",
           "HF_HOME": str(tmp_path / "hf-home")}  # online, but no token anywhere
    done = subprocess.run([sys.executable, "-m", "lofi_tui", "publish", str(bundle), "--repo", "someone/lofi-int8"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Hugging Face token" in lines[0] and "Nothing was uploaded" in lines[0]
