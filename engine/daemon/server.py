"""The daemon loop: read JSON lines, answer at once, generate in a worker thread, stream notifications.

stdout carries protocol lines only (a lock keeps lines whole); logs go to stderr. A malformed line
gets a -32700/-32600 error and the daemon keeps serving; `ping` is answered while generating. A
request's response is always written before any notification about it: lofi.nvim registers its
completion callback only when the response arrives, so a notification sent earlier is lost to it.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from engine.audio.io import write_audio
from engine.daemon.protocol import (
    APP_ERRORS,
    BACKEND,
    INTERNAL_ERROR,
    MAX_PENDING,
    METHOD_NOT_FOUND,
    GenerateParams,
    RpcError,
    app_error,
    error_response,
    notification,
    parse_line,
    response,
    track_id,
    validate_generate,
)

MIN_DURATION, MAX_DURATION = 5.0, 240.0
SAMPLE_RATE = 48_000


class Generator(Protocol):
    """Makes 48 kHz stereo float audio [frames, 2] for validated parameters, reporting each step; steps and
    guidance left as None take the model's own defaults."""

    def generate(self, params: GenerateParams, seed: int, on_step: Callable[[int, int], None]) -> np.ndarray: ...


@dataclass(order=True)
class _Job:
    rank: tuple[int, int]
    track_id: str = field(compare=False)
    params: GenerateParams = field(compare=False)
    seed: int = field(compare=False)


class Daemon:
    def __init__(self, load_generator: Callable[[], Generator], cache_dir: Path, model_name: str, model_version: str,
                 out: IO[str] = sys.stdout, log: Callable[[str], None] | None = None) -> None:
        self._load = load_generator
        self._generator: Generator | None = None
        self._load_error: str | None = None
        self._loaded = threading.Event()
        self.model_version = model_version
        self.cache_dir = Path(cache_dir)
        self.model_name = model_name
        self._out = out
        self._log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._busy = False

    # -- output -----------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()

    # -- model --------------------------------------------------------------------------------

    def _load_model(self) -> None:
        """Runs in the worker thread, so requests (ping above all) are answered while the model loads."""
        try:
            self._generator = self._load()
        except Exception as exc:  # reported to the client, never a crash
            self._load_error = str(exc)
            self._log(f"model load failed: {exc}")
        finally:
            self._loaded.set()

    def generator(self) -> Generator:
        self._loaded.wait()
        if self._generator is None:
            raise app_error("MODEL_LOAD_FAILED", f"could not load the model: {self._load_error}")
        return self._generator

    # -- requests -----------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Answer one line; returns False when the daemon should stop."""
        if not line.strip():
            return True
        req_id, then = None, None
        try:
            req = parse_line(line)
            req_id = req.id
            if req.method == "ping":
                result = {"status": "ok", "busy": self._busy, "queued": len(self._queue)}
            elif req.method == "get_backends":
                result = self._backends()
            elif req.method == "download_backend":
                raise app_error("MODEL_DOWNLOAD_FAILED", "this daemon never downloads models: export a bundle with "
                                "`lofi export` and point lofi.nvim's model_path (LOFI_MODEL_PATH) at it")
            elif req.method == "shutdown":
                if req_id is not None:
                    self.send(response(req_id, {"status": "shutting_down"}))
                return False
            elif req.method == "generate":
                result, then = self._generate(req.params)
            else:
                raise RpcError(METHOD_NOT_FOUND, f"Method not found: {req.method}")
        except RpcError as err:
            self.send(error_response(req_id if req_id is not None else err.request_id, err))
            return True
        except Exception as exc:  # a bug answers -32603 and the daemon keeps serving
            self._log(f"internal error: {exc!r}")
            self.send(error_response(req_id, RpcError(INTERNAL_ERROR, f"Internal error: {exc}")))
            return True
        if req_id is not None:
            self.send(response(req_id, result))
        if then is not None:  # what may lead to notifications about this request, only once it is answered
            then()
        return True

    def _backends(self) -> dict[str, Any]:
        if not self._loaded.is_set():
            status = "loading"
        else:
            status = "ready" if self._generator is not None else "error"
        return {"backends": [{"type": BACKEND, "name": f"ACE-Step 1.5 LoRA ({self.model_name})", "status": status,
                              "min_duration_sec": MIN_DURATION, "max_duration_sec": MAX_DURATION,
                              "sample_rate": SAMPLE_RATE, "model_version": self.model_version}],
                "default_backend": BACKEND}

    def _generate(self, params: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], None]]:
        """The response, and what to do once it is sent: notify a cached track, or queue the job.

        Only this (reading) thread adds jobs, so the queue can only shrink before the job joins it."""
        if self._loaded.is_set() and self._generator is None:
            raise app_error("MODEL_LOAD_FAILED", f"could not load the model: {self._load_error}")
        p = validate_generate(params, MIN_DURATION, MAX_DURATION)
        seed = p.seed if p.seed is not None else random.randrange(2**31)
        tid = track_id(p.identity, seed, p.duration_sec, self.model_version)
        cached = self.cache_dir / f"{tid}.wav"
        if cached.exists():
            complete = self._complete(tid, p, seed, cached, 0.0)
            return ({"track_id": tid, "status": "complete", "position": 0, "seed": seed, "backend": BACKEND},
                    lambda: self.send(notification("generation_complete", complete)))
        job = _Job((0 if p.priority == "high" else 1, next(self._order)), tid, p, seed)
        with self._wake:
            if len(self._queue) >= MAX_PENDING:
                raise app_error("QUEUE_FULL", f"the queue already holds {MAX_PENDING} pending jobs; try later")
            position = sum(queued < job for queued in self._queue) + 1
        return ({"track_id": tid, "status": "queued", "position": position, "seed": seed, "backend": BACKEND},
                lambda: self._enqueue(job))

    def _enqueue(self, job: _Job) -> None:
        with self._wake:
            heapq.heappush(self._queue, job)
            self._wake.notify()

    def _complete(self, tid: str, p: GenerateParams, seed: int, path: Path, seconds: float) -> dict[str, Any]:
        return {"track_id": tid, "path": str(path.resolve()), "duration_sec": p.duration_sec,
                "sample_rate": SAMPLE_RATE, "prompt": p.prompt, "seed": seed,
                "generation_time_sec": round(seconds, 3), "model_version": self.model_version, "backend": BACKEND}

    # -- the worker ---------------------------------------------------------------------------

    def _work(self) -> None:
        self._load_model()
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._queue)
                self._busy = True
            try:
                self._run(job)
            finally:
                self._busy = False

    def _run(self, job: _Job) -> None:
        started = time.perf_counter()
        last = [-5]

        def on_step(step: int, total: int) -> None:
            percent = min(95, int(100 * step / total) // 5 * 5)  # 5 % steps, never 100 before completion
            if percent >= last[0] + 5:
                last[0] = percent
                elapsed = time.perf_counter() - started
                eta = elapsed / step * (total - step) if step else None
                self.send(notification("generation_progress", {
                    "track_id": job.track_id, "percent": percent, "tokens_generated": step, "tokens_estimated": total,
                    "eta_sec": round(eta, 2) if eta is not None else None, "current_step": step,
                    "total_steps": total}))

        try:
            gen = self.generator()
            audio = gen.generate(job.params, job.seed, on_step)
            path = self.cache_dir / f"{job.track_id}.wav"
            write_audio(path, audio.astype(np.float32), SAMPLE_RATE, fmt="wav")
        except RpcError as err:
            self.send(notification("generation_error", {"track_id": job.track_id, "code": err.code,
                                                        "message": err.message}))
            return
        except Exception as exc:
            self._log(f"generation failed: {exc!r}")
            self.send(notification("generation_error", {"track_id": job.track_id,
                                                        "code": APP_ERRORS["MODEL_INFERENCE_FAILED"],
                                                        "message": f"inference failed: {exc}"}))
            return
        self.send(notification("generation_complete",
                               self._complete(job.track_id, job.params, job.seed, path, time.perf_counter() - started)))

    def serve(self, stdin: IO[str]) -> int:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        worker = threading.Thread(target=self._work, name="generator", daemon=True)
        worker.start()
        for line in stdin:
            if not self.handle(line):
                break
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        return 0  # a generation still running is abandoned: the caller exits with os._exit
