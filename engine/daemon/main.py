"""``lofi-daemon --daemon``: the process lofi.nvim starts (``{daemon_path, "--daemon"}``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from engine import settings


def default_cache_dir() -> Path:
    configured = settings.current().cache_path
    if configured:
        return configured
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lofi-tui")) / "tracks"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    try:
        config = settings.current()  # lofi.nvim sets LOFI_MODEL_PATH, LOFI_DEVICE and LOFI_THREADS
    except ValidationError as exc:
        _log("error: " + "; ".join(f"LOFI_{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()))
        return 2
    parser = argparse.ArgumentParser(prog="lofi-daemon", description="lofi.nvim-compatible generation daemon")
    parser.add_argument("--daemon", action="store_true", help="speak JSON-RPC on stdin/stdout (what lofi.nvim runs)")
    parser.add_argument("--model-dir", type=Path, default=config.model_path,
                        help="an export bundle (OUT/<precision>) or a diffusers checkpoint [default: $LOFI_MODEL_PATH]")
    parser.add_argument("--lora", type=Path, default=None,
                        help="with a diffusers checkpoint: a LoRA checkpoint directory (runs/R/checkpoints/step-N)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="[default: $LOFI_CACHE_PATH or the user cache]")
    parser.add_argument("--device", default=settings.current().device,
                        help="with a diffusers checkpoint: cuda, cuda:N, cpu or auto (cuda when present) "
                             "[default: $LOFI_DEVICE or auto]")
    args = parser.parse_args(argv)
    if not args.daemon:
        parser.print_help(sys.stderr)
        return 2
    if args.model_dir is None:
        _log("error: no model: pass --model-dir or set LOFI_MODEL_PATH (lofi.nvim's model_path)")
        return 2

    from engine.daemon.server import Daemon
    from engine.inference.bundle import (
        BundleError,
        bundle_version,
        is_bundle,
        read_manifest,
    )

    if is_bundle(args.model_dir):  # an exported bundle: onnxruntime only, torch is never imported
        from engine.daemon.bundle_generator import BundleGenerator

        try:
            manifest = read_manifest(args.model_dir)
        except BundleError as exc:
            _log(f"error: {exc}")
            return 2
        lora = manifest["lora"]
        daemon = Daemon(lambda: BundleGenerator(args.model_dir, config.device, config.threads, _log),
                        args.cache_dir or default_cache_dir(),
                        f"{lora['run']} step {lora['step']}, {manifest['precision']}", bundle_version(manifest))
    else:  # a diffusers checkpoint (+ optional LoRA) through PyTorch
        from engine.daemon.pipeline_generator import PipelineGenerator, model_version

        daemon = Daemon(lambda: PipelineGenerator(args.model_dir, args.lora, config.device, config.threads, _log),
                        args.cache_dir or default_cache_dir(),
                        Path(args.model_dir).name, model_version(args.model_dir, args.lora))
    code = daemon.serve(sys.stdin)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # do not wait for (or crash inside) a generation still running in the worker thread


if __name__ == "__main__":
    sys.exit(main())
