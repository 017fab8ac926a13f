"""The daemon as lofi.nvim's Lua client really drives it (tests/engine/daemon/lofi_nvim.py): lines as the
plugin writes them, replies read and ordered as the plugin reads them, in a daemon served on a pipe."""

from __future__ import annotations

import io
import json
import os
import queue
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.daemon.bundle_generator import BundleGenerator
from engine.daemon.server import Daemon
from engine.inference.bundle import Bundle, BundleError, execution_providers
from engine.inference.generator import OnnxGenerator
from tests.engine.daemon.lofi_nvim import PluginClient


class _Stdout(io.TextIOBase):
    """The daemon's stdout: every ``write`` is one whole protocol line."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []

    def write(self, text: str) -> int:
        self.all.append(text)
        self.lines.put(text)
        return len(text)


class Served:
    """A daemon serving on a pipe in this process, fed by a :class:`PluginClient`."""

    def __init__(self, load, cache: Path) -> None:
        read_fd, write_fd = os.pipe()
        self.stdin = os.fdopen(write_fd, "w")
        self.out = _Stdout()
        self.logs: list[str] = []
        self.daemon = Daemon(load, cache, "test", "v1", out=self.out, log=self.logs.append)
        self.thread = threading.Thread(target=self.daemon.serve, args=(os.fdopen(read_fd, "r"),), daemon=True)
        self.thread.start()
        self.client = PluginClient()

    def send(self, line: str) -> None:
        self.stdin.write(line)
        self.stdin.flush()

    def until(self, done, timeout: float = 120) -> None:
        """Feed every reply to the client until ``done()``."""
        while not done():
            self.client.receive(self.out.lines.get(timeout=timeout))

    def close(self) -> None:
        self.stdin.close()
        self.thread.join(timeout=30)


@pytest.fixture
def serve(tmp_path):
    """``serve(load)`` starts a daemon whose model comes from ``load()``; all are closed after the test."""
    started: list[Served] = []

    def start(load) -> Served:
        started.append(Served(load, tmp_path / "cache"))
        return started[-1]

    yield start
    for served in started:
        served.close()


def _blocked_load(gate: threading.Event, error: str):
    def load():
        gate.wait(timeout=60)
        raise BundleError(error)

    return load


def test_methods_without_parameters_take_the_empty_array_vim_json_encode_sends(serve):
    gate = threading.Event()  # the model stays "loading": every answer here comes from the protocol alone
    served = serve(_blocked_load(gate, "no model (test)"))
    client = served.client
    backends = client.request("get_backends", {}, None)
    assert '"params":[]' in backends  # what the plugin's :LofiBackends really sends
    for line in (backends, client.request("ping", {}, None), client.request("generate", {}, None),
                 '{"jsonrpc":"2.0","id":101,"method":"ping","params":null}\n',
                 '{"jsonrpc":"2.0","id":102,"method":"ping"}\n',
                 '{"jsonrpc":"2.0","id":103,"method":"ping","params":[1]}\n',
                 '{"jsonrpc":"2.0","id":104,"method":"get_backends","params":"all"}\n'):
        served.send(line)
    served.until(lambda: len(client.results) == 7)
    gate.set()
    result = client.results[1]["result"]
    assert result["default_backend"] == "ace_step"
    backend = result["backends"][0]
    assert backend["type"] == "ace_step" and backend["status"] == "loading"
    assert all(isinstance(backend[k], (int, float)) for k in ("min_duration_sec", "max_duration_sec", "sample_rate"))
    assert [client.results[i]["result"]["status"] for i in (2, 101, 102)] == ["ok"] * 3
    assert client.results[3]["error"]["code"] == -32006  # generate with no parameters: no prompt
    assert [client.results[i]["error"]["code"] for i in (103, 104)] == [-32602, -32602]  # real type errors


def test_a_failed_generation_reaches_the_plugin_with_code_and_message(serve):
    gate = threading.Event()
    served = serve(_blocked_load(gate, "the bundle is damaged (test)"))
    client = served.client
    served.send(client.generate(prompt="lofi, rain", duration_sec=5, seed=1))
    served.until(lambda: 1 in client.results)
    assert client.results[1]["result"]["status"] == "queued"  # accepted while the model loads
    gate.set()
    served.until(lambda: client.errors)
    assert client.errors[0]["code"] == -32001 and "the bundle is damaged" in client.errors[0]["message"]
    served.send(client.generate(prompt="lofi, rain", duration_sec=5, seed=2))  # after the failure: refused at once
    served.until(lambda: len(client.errors) == 2)
    assert client.errors[1]["code"] == -32001 and client.errors[1]["data"]["error_code"] == "MODEL_LOAD_FAILED"


@pytest.mark.slow
@pytest.mark.xdist_group("export")
def test_each_response_comes_before_the_notifications_about_its_request(serve, exported):
    served = serve(lambda: BundleGenerator(exported.bundle("int8")))
    client = served.client
    line = client.generate(prompt="lofi/jazz, rain", duration_sec=5, seed=3, inference_steps=2)
    assert "\\/" in line and "guidance_scale" not in line and "seed" in line
    served.send(line)
    served.until(lambda: client.completed or client.errors)
    served.send(client.generate(prompt="lofi/jazz, rain", duration_sec=5, seed=3, inference_steps=2))  # cached now
    served.until(lambda: len(client.completed) == 2 or client.errors)
    assert not client.errors
    kinds = [json.loads(m).get("method", "response") for m in served.out.all]
    progress = kinds.count("generation_progress")
    assert progress and kinds == ["response", *["generation_progress"] * progress, "generation_complete",
                                  "response", "generation_complete"]
    first, again = client.completed
    assert first["path"] == again["path"] and again["generation_time_sec"] == 0
    assert client.results[2]["result"]["status"] == "complete"


@pytest.mark.slow
@pytest.mark.xdist_group("export")
def test_steps_and_guidance_left_out_come_from_the_bundle(serve, exported):
    bundle = exported.bundle("int8")
    manifest = json.loads((bundle / "manifest.json").read_text())
    served = serve(lambda: BundleGenerator(bundle))
    served.send(served.client.generate(prompt="lofi hip hop", duration_sec=5, seed=11))
    served.until(lambda: served.client.completed or served.client.errors)
    totals = {n["params"]["total_steps"] for n in served.client.notifications if n["method"] == "generation_progress"}
    assert totals == {manifest["default_steps"]}
    got, _ = sf.read(served.client.completed[0]["path"], dtype="float32")
    scale = manifest["guidance"]["default_scale"]
    # the shared tiny model is a turbo one: 8 steps, guidance off (base/sft defaults: test_variants_e2e)
    assert (manifest["default_steps"], scale) == (8, 1.0)
    gen = OnnxGenerator(Bundle.open(bundle))
    assert np.allclose(got, gen.generate("lofi hip hop", 5, seed=11, guidance_scale=scale), atol=1e-5)


@pytest.mark.parametrize("device,available,providers,told", [
    ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"], False),
    ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"],
     False),
    ("cuda", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"],
     False),
    ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"], True),
    ("cuda", ["AzureExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"], True),
    ("metal", ["CPUExecutionProvider"], ["CPUExecutionProvider"], True),
])
def test_lofi_device_picks_an_installed_provider_or_says_why_the_cpu(device, available, providers, told):
    chosen, note = execution_providers(device, available)
    assert chosen == providers and (note is not None) == told
    if told:
        assert note.startswith(f"LOFI_DEVICE={device}:") and "CPU" in note and "\n" not in note


@pytest.mark.slow
@pytest.mark.xdist_group("export")
def test_lofi_threads_sets_onnxruntime_intra_op_threads(exported):
    logged: list[str] = []
    gen = BundleGenerator(exported.bundle("int8"), device="cpu", threads=1, log=logged.append)
    sessions = gen.generator.bundle.sessions.values()
    assert {s.get_session_options().intra_op_num_threads for s in sessions} == {1} and not logged
    assert {tuple(s.get_providers()) for s in sessions} == {("CPUExecutionProvider",)}
