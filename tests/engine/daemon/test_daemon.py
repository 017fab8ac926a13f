"""The daemon as lofi.nvim runs it: a real process, JSON lines over pipes."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import onnxruntime as ort
import pytest
import soundfile as sf

from engine.inference.bundle import bundle_version
from tests.engine.daemon.lofi_nvim import lua_line
from tests.engine.export.exported import imported_modules

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


class DaemonProcess:
    """``model`` by --model-dir, or as lofi.nvim passes it (LOFI_MODEL_PATH, LOFI_CACHE_PATH, plus ``env``).
    ``python_flags`` go to the interpreter; stderr goes to ``stderr_log`` when given."""

    def __init__(self, model: Path, cache: Path, env: dict[str, str] | None = None, python_flags: tuple[str, ...] = (),
                 stderr_log: Path | None = None) -> None:
        where = [] if env is not None else ["--model-dir", str(model), "--cache-dir", str(cache)]
        environ = None if env is None else {**os.environ, "LOFI_MODEL_PATH": str(model), "LOFI_CACHE_PATH": str(cache),
                                            **env}
        with open(stderr_log or os.devnull, "w") as err:
            self.proc = subprocess.Popen([sys.executable, *python_flags, "-m", "engine.daemon.main", "--daemon",
                                          *where], cwd=ROOT, env=environ, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        self.lines: queue.Queue[dict] = queue.Queue()
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(json.loads(line))  # stdout must be nothing but JSON lines

    def send(self, obj: dict | str) -> None:
        self.proc.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.proc.stdin.flush()

    def call(self, req_id: int, method: str, params: dict | None = None) -> dict:
        self.send({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params or {}})
        return self.wait(lambda m: m.get("id") == req_id)

    def wait(self, match, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(msg)
            if match(msg):
                return msg
        raise AssertionError("no matching message from the daemon")

    seen: list[dict] = []


@pytest.fixture
def daemon(tiny_model, tmp_path):
    d = DaemonProcess(tiny_model, tmp_path / "cache")
    d.seen = []
    yield d
    if d.proc.poll() is None:
        d.proc.kill()
    d.proc.wait()


def gen(prompt="lofi hip hop, chill", **kw):
    return {"prompt": prompt, "duration_sec": 5, "seed": 1, "inference_steps": 4, **kw}


def test_protocol_errors_and_metadata(daemon):
    start = time.monotonic()
    assert daemon.call(1, "ping")["result"]["status"] == "ok"
    assert time.monotonic() - start < 10  # answered while the model loads
    daemon.send("this is not json")
    assert daemon.wait(lambda m: "error" in m)["error"]["code"] == -32700
    daemon.send('{"id": 3, "method": 5}')
    assert daemon.wait(lambda m: m.get("id") == 3)["error"]["code"] == -32600
    assert daemon.call(4, "sing")["error"]["code"] == -32601
    backends = daemon.call(5, "get_backends")["result"]
    assert backends["default_backend"] == "ace_step"
    b = backends["backends"][0]
    assert b["type"] == "ace_step" and b["status"] in ("loading", "ready") and b["sample_rate"] == 48000
    cases = [(gen(duration_sec=1), -32005, "INVALID_DURATION"), (gen(prompt=""), -32006, "INVALID_PROMPT"),
             (gen(prompt="x" * 1001), -32006, "INVALID_PROMPT"), (gen(backend="jukebox"), -32007, "INVALID_BACKEND"),
             (gen(inference_steps=0), -32009, "INVALID_INFERENCE_STEPS"),
             (gen(guidance_scale=31), -32010, "INVALID_GUIDANCE_SCALE"), (gen(scheduler="ddim"), -32011,
                                                                           "INVALID_SCHEDULER")]
    for i, (params, code, name) in enumerate(cases):
        error = daemon.call(10 + i, "generate", params)["error"]
        assert error["code"] == code and error["data"]["error_code"] == name, params
    assert daemon.call(30, "download_backend", {"backend": "ace_step"})["error"]["data"]["error_code"] == \
        "MODEL_DOWNLOAD_FAILED"
    assert daemon.call(31, "shutdown")["result"]["status"] == "shutting_down"
    assert daemon.proc.wait(timeout=20) == 0


def test_generate_streams_progress_and_writes_a_float32_stereo_wav(daemon):
    queued = daemon.call(1, "generate", gen(seed=7))["result"]
    assert queued["status"] == "queued" and queued["position"] == 1 and queued["seed"] == 7
    done = daemon.wait(lambda m: m.get("method") in ("generation_complete", "generation_error"))
    assert done["method"] == "generation_complete", done
    params = done["params"]
    progress = [m["params"]["percent"] for m in daemon.seen if m.get("method") == "generation_progress"]
    assert progress == sorted(progress) and all(p % 5 == 0 and p <= 99 for p in progress) and progress
    expected = hashlib.sha256(f"ace_step:lofi hip hop, chill:7:5:{params['model_version']}".encode()).hexdigest()
    assert params["track_id"] == queued["track_id"] == expected
    path = Path(params["path"])
    assert path.is_absolute() and path.suffix == ".wav"
    info = sf.info(path)
    assert info.samplerate == 48000 and info.channels == 2 and info.subtype == "FLOAT"
    assert abs(info.duration - 5.0) < 0.1
    again = daemon.call(2, "generate", gen(seed=7))["result"]
    assert again["status"] == "complete"  # served from the cache
    daemon.proc.stdin.close()  # lofi.nvim quitting: EOF stops the daemon
    assert daemon.proc.wait(timeout=20) == 0


def test_queue_limit_and_priority(daemon):
    results = [daemon.call(i, "generate", gen(seed=100 + i, duration_sec=30))["result"] for i in range(10)]
    assert [r["position"] for r in results[:3]] == [1, 2, 3] or results[0]["status"] == "queued"
    high = daemon.call(50, "generate", gen(seed=999, priority="high"))
    over = daemon.call(51, "generate", gen(seed=1000))
    codes = {m.get("error", {}).get("code") for m in (high, over)}
    assert -32004 in codes  # the 11th or 12th pending job is refused
    assert daemon.call(60, "ping")["result"]["status"] == "ok"  # generation never blocks ping
    daemon.call(61, "shutdown")
    assert daemon.proc.wait(timeout=20) == 0
    assert all(line.startswith("{") for line in daemon.raw)


@pytest.mark.xdist_group("export")
def test_serves_an_onnx_bundle_named_by_lofi_model_path_without_torch(exported, tmp_path):
    """What lofi.nvim does: model_path arrives as LOFI_MODEL_PATH (with its device and threads settings), requests
    come as vim.json.encode writes them; the process never loads PyTorch."""
    bundle, log = exported.bundle("int8"), tmp_path / "stderr.log"
    d = DaemonProcess(bundle, tmp_path / "cache", env={"LOFI_DEVICE": "cuda", "LOFI_THREADS": "1"},
                      python_flags=("-X", "importtime"), stderr_log=log)
    d.seen = []
    try:
        d.send(lua_line({"jsonrpc": "2.0", "id": 1, "method": "get_backends", "params": {}}).strip())
        backend = d.wait(lambda m: m.get("id") == 1)["result"]["backends"][0]
        manifest = json.loads((bundle / "manifest.json").read_text())
        assert backend["model_version"] == bundle_version(manifest) and "int8" in backend["name"]
        queued = d.call(2, "generate", {"prompt": "lofi, rain", "duration_sec": 5, "seed": 4})["result"]
        done = d.wait(lambda m: m.get("method") in ("generation_complete", "generation_error"))
        assert done["method"] == "generation_complete", done
        assert done["params"]["track_id"] == queued["track_id"]
        path = Path(done["params"]["path"])
        assert path.parent == tmp_path / "cache"
        info = sf.info(path)
        assert info.samplerate == 48000 and info.channels == 2 and info.subtype == "FLOAT" and info.duration == 5.0
        audio, _ = sf.read(path)
        assert audio.std() > 1e-3
        assert d.call(3, "shutdown")["result"]["status"] == "shutting_down"
        assert d.proc.wait(timeout=20) == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
    cpu_notes = [line for line in log.read_text().splitlines() if line.startswith("LOFI_DEVICE=cuda:")]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert len(cpu_notes) == 1 and "CPU" in cpu_notes[0]  # one line, then generation on the CPU
    imported = imported_modules(log.read_text())
    assert "onnxruntime" in imported and not {"torch", "diffusers", "transformers"} & imported
