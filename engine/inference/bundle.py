"""Open an exported bundle: read and check ``manifest.json``, verify checksums, start ORT sessions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import LofiError
from engine.hashing import file_sha256

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MANIFEST = "manifest.json"
FORMAT = "lofi-onnx-bundle"
FORMAT_VERSION = 2  # 2: lyric embeddings come from the text encoder graph
GRAPHS = ("text_encoder", "condition_encoder", "transformer", "vae_decoder")
PRECISIONS = ("fp32", "fp16", "int8", "int4")  # a bundle's precision, from most to fewest bits
CPU = "CPUExecutionProvider"
# LOFI_DEVICE (lofi.nvim's ``device`` option) -> the onnxruntime provider that serves it
ACCELERATORS = {"auto": "CUDAExecutionProvider", "cuda": "CUDAExecutionProvider", "metal": "CoreMLExecutionProvider"}


class BundleError(LofiError):
    """An export bundle is missing, incomplete, corrupt or of an unknown format."""


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise BundleError(f"{root} is not a directory: pass a bundle folder such as exports/<name>/int8")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path} not found: {root} is not a finished export bundle (run `lofi export` "
                          "again to complete it)") from None
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); re-run `lofi export`") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: unknown bundle format {manifest.get('format')!r} version "
                          f"{manifest.get('format_version')!r}; this lofi reads {FORMAT} v{FORMAT_VERSION}")
    missing = [g for g in GRAPHS if g not in manifest.get("graphs", {})]
    if missing:
        raise BundleError(f"{path} lists no {', '.join(missing)} graph; re-run `lofi export`")
    return manifest


def verify_checksums(root: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists must be present with its recorded sha256."""
    for name, digest in manifest["checksums"].items():
        path = Path(root) / name
        if not path.exists():
            raise BundleError(f"{path} is missing from the bundle; re-run `lofi export` to rebuild it")
        if file_sha256(path) != digest:
            raise BundleError(f"{path} does not match its checksum in {MANIFEST} (corrupt or modified); "
                              "re-run `lofi export` or copy the bundle again")


def bundle_version(manifest: dict[str, Any]) -> str:
    """Changes whenever any file of the bundle changes: the daemon's track ids depend on it."""
    digest = hashlib.sha256(json.dumps(manifest["checksums"], sort_keys=True).encode()).hexdigest()[:12]
    return f"{manifest['lora']['run']}-step{manifest['lora']['step']}-{manifest['precision']}-{digest}"


def is_bundle(path: Path | str) -> bool:
    return (Path(path) / MANIFEST).is_file()


def execution_providers(device: str, available: list[str]) -> tuple[list[str], str | None]:
    """onnxruntime providers for a LOFI_DEVICE value (auto, cpu, cuda, metal), given the providers this
    onnxruntime build lists, and one line to log when the accelerator is missing (then: the CPU)."""
    wanted = ACCELERATORS.get(device)
    if wanted is None:
        return [CPU], None
    if wanted in available:
        return [wanted, CPU], None
    return [CPU], (f"LOFI_DEVICE={device}: this onnxruntime has no {wanted} (it offers {', '.join(available)}); "
                   "generating on the CPU")


@dataclass
class Bundle:
    root: Path
    manifest: dict[str, Any]
    sessions: dict[str, Any]
    tokenizer: Tokenizer
    silence_latent: np.ndarray
    null_condition: np.ndarray

    @property
    def version(self) -> str:
        return bundle_version(self.manifest)

    @classmethod
    def open(cls, root: Path | str, threads: int = 0, providers: list[str] | None = None) -> Bundle:
        """``threads``: onnxruntime intra-op threads (0: its own choice); ``providers``: default the CPU."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        root = Path(root)
        manifest = read_manifest(root)
        verify_checksums(root, manifest)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # warnings would reach stderr on every load
        sessions = {}
        for name in GRAPHS:
            path = root / manifest["graphs"][name]["file"]
            try:
                sessions[name] = ort.InferenceSession(str(path), options, providers=providers or [CPU])
            except Exception as exc:  # ORT raises its own exception types for unreadable graphs
                raise BundleError(f"onnxruntime cannot load {path}: {exc}") from None
        arrays = {key: np.load(root / name, allow_pickle=False) for key, name in manifest["arrays"].items()}
        tokenizer = Tokenizer.from_file(str(root / manifest["tokenizer"]))
        return cls(root, manifest, sessions, tokenizer, arrays["silence_latent"], arrays["null_condition"])
