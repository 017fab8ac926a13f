"""lofi.nvim's JSON-RPC 2.0 protocol: error codes, parameter validation and message shapes.

Everything here is pure (no I/O), so the rules are tested directly; the server only moves lines.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
APP_ERRORS = {
    "MODEL_NOT_FOUND": -32000,
    "MODEL_LOAD_FAILED": -32001,
    "MODEL_DOWNLOAD_FAILED": -32002,
    "MODEL_INFERENCE_FAILED": -32003,
    "QUEUE_FULL": -32004,
    "INVALID_DURATION": -32005,
    "INVALID_PROMPT": -32006,
    "INVALID_BACKEND": -32007,
    "BACKEND_NOT_INSTALLED": -32008,
    "INVALID_INFERENCE_STEPS": -32009,
    "INVALID_GUIDANCE_SCALE": -32010,
    "INVALID_SCHEDULER": -32011,
}
BACKEND = "ace_step"
MAX_PENDING = 10


class RpcError(Exception):
    def __init__(self, code: int, message: str, error_code: str | None = None, details: Any = None,
                 request_id: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.error_code, self.details = code, message, error_code, details
        self.request_id = request_id  # known even for an invalid request when it carried an id

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.error_code:
            error["data"] = {"error_code": self.error_code, "details": self.details}
        return error


def app_error(name: str, message: str, details: Any = None) -> RpcError:
    return RpcError(APP_ERRORS[name], message, name, details)


@dataclass(frozen=True)
class Request:
    id: Any  # None for notifications
    method: str
    params: dict[str, Any]


def parse_line(line: str) -> Request:
    try:
        msg = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RpcError(PARSE_ERROR, f"Parse error: {exc.msg} at column {exc.colno}") from None
    req_id = msg.get("id") if isinstance(msg, dict) else None
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
        raise RpcError(INVALID_REQUEST, "Invalid Request: need an object with jsonrpc \"2.0\" and a method",
                       request_id=req_id)
    params = msg.get("params")
    if params is None or params == []:  # absent, null, or an empty Lua table as vim.json.encode writes it
        params = {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "Invalid params: params must be an object of named parameters",
                       request_id=req_id)
    return Request(msg.get("id"), msg["method"], params)


@dataclass(frozen=True)
class GenerateParams:
    prompt: str
    duration_sec: float
    seed: int | None
    priority: str
    inference_steps: int | None  # None: the model's default (the bundle manifest's, per variant)
    scheduler: str
    guidance_scale: float | None  # None: the model's own (1.0 for turbo, 7.0 for base/sft)
    bpm: int | None = None  # optional caption metadata, passed as the pipeline's bpm / keyscale arguments
    keyscale: str | None = None

    @property
    def identity(self) -> str:
        """What the track id hashes besides seed, duration and model: the prompt, and the metadata when given."""
        extra = "".join(f"|{k}={v}" for k, v in (("bpm", self.bpm), ("key", self.keyscale)) if v is not None)
        return self.prompt + extra


def _given(params: dict[str, Any], key: str, default: Any) -> Any:
    """``params[key]``, or ``default`` when absent or null (lofi.nvim leaves nil fields out)."""
    value = params.get(key)
    return default if value is None else value


def _number(params: dict[str, Any], key: str, default: Any, kind: type, error: str, low: float, high: float) -> Any:
    """``params[key]`` checked against [low, high], or ``default`` when not given."""
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise app_error(error, f"{key} must be a number between {low:g} and {high:g}", {"got": value})
    if not low <= value <= high:
        raise app_error(error, f"{key} must be between {low:g} and {high:g}", {"got": value})
    return kind(value)


def validate_generate(params: dict[str, Any], min_duration: float, max_duration: float) -> GenerateParams:
    prompt = params.get("prompt")
    if not isinstance(prompt, str) or not 1 <= len(prompt.strip()) <= 1000 or len(prompt) > 1000:
        raise app_error("INVALID_PROMPT", "prompt must be 1 to 1000 characters")
    backend = _given(params, "backend", BACKEND)
    if backend not in ("musicgen", BACKEND):
        raise app_error("INVALID_BACKEND", f"unknown backend {backend!r}; use {BACKEND!r}")
    if backend != BACKEND:
        raise app_error("BACKEND_NOT_INSTALLED", f"this daemon serves only {BACKEND!r}")
    duration = _number(params, "duration_sec", 30, float, "INVALID_DURATION", min_duration, max_duration)
    steps = _number(params, "inference_steps", None, int, "INVALID_INFERENCE_STEPS", 1, 200)
    guidance = _number(params, "guidance_scale", None, float, "INVALID_GUIDANCE_SCALE", 1, 30)
    bpm = params.get("bpm")
    if bpm is not None and (isinstance(bpm, bool) or not isinstance(bpm, int) or not 30 <= bpm <= 300):
        raise RpcError(INVALID_PARAMS, "bpm must be an integer from 30 to 300, or null")
    keyscale = params.get("keyscale")
    if keyscale is not None and (not isinstance(keyscale, str) or len(keyscale) > 32):
        raise RpcError(INVALID_PARAMS, "keyscale must be a short string such as 'A minor', or null")
    scheduler = _given(params, "scheduler", "euler")
    if scheduler not in ("euler", "heun", "pingpong"):
        raise app_error("INVALID_SCHEDULER", f"scheduler must be euler, heun or pingpong, got {scheduler!r}")
    if scheduler != "euler":
        raise app_error("INVALID_SCHEDULER", f"this model is served with the euler scheduler only, not {scheduler!r}")
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise RpcError(INVALID_PARAMS, "seed must be a non-negative integer or null")
    priority = _given(params, "priority", "normal")
    if priority not in ("normal", "high"):
        raise RpcError(INVALID_PARAMS, "priority must be 'normal' or 'high'")
    return GenerateParams(prompt, duration, seed, priority, steps, scheduler, guidance, bpm, keyscale or None)


def track_id(prompt: str, seed: int, duration: float, model_version: str) -> str:
    """sha256 of backend:prompt:seed:duration:model_version, as lofi.nvim computes it."""
    return hashlib.sha256(f"{BACKEND}:{prompt}:{seed}:{duration:g}:{model_version}".encode()).hexdigest()


def response(req_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id, "result": result}


def error_response(req_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": req_id, "error": error.to_error()}


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}
