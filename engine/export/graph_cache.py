"""The base model's own graphs, kept from one export to the next.

A LoRA changes only the DiT: the text encoder, condition encoder and VAE decoder graphs of every checkpoint
trained on one base model are the same, and exporting a real one takes minutes. Each finished graph stage
(files, parity, I/O description) is kept under a key made of the base model's files outside the DiT (their
content, not their names or sizes), the export code and the versions of the libraries that shape a graph;
a later export copies it. An entry that fails its checksums is rebuilt; entries of other export code go when
the base is exported again. The directory is ``$LOFI_GRAPH_CACHE``, else ``<workspace>/cache/graphs``: deleting it
costs only time.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from engine import settings
from engine.export.graphs import TRANSFORMER
from engine.export.stages import files_of, run_stage
from engine.model.check import TINY_MARKER
from engine.workspace import Workspace

SHAPING_PACKAGES = ("torch", "onnx", "onnxscript", "onnxruntime", "diffusers", "transformers")
CHUNK = 8 << 20


def cache_dir(ws: Workspace) -> Path:
    return settings.current().graph_cache or ws.root / "cache" / "graphs"


def base_key(base: Path) -> str:
    """Every file of the base model outside ``transformer/`` (which the LoRA changes), by content; a tiny
    model's marker (which names its variant) is not model content: turbo and base share their encoders."""
    digest = hashlib.sha256()
    base = Path(base).resolve()
    for file in sorted(p for p in base.rglob("*") if p.is_file() and p.relative_to(base).parts[0] not in (
            TRANSFORMER, TINY_MARKER)):
        digest.update(str(file.relative_to(base)).encode() + b"\0")
        with open(file, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()[:24]


def code_version() -> str:
    """The export code, the model loading code and the library versions: a change in any starts new entries."""
    digest = hashlib.sha256()
    engine = Path(__file__).resolve().parents[1]
    for source in sorted([*(engine / "export").glob("*.py"), engine / "model" / "load.py"]):
        digest.update(source.read_bytes())
    for package in SHAPING_PACKAGES:
        digest.update(f"{package}=={metadata.version(package)}".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class GraphCache:
    root: Path  # <cache dir>/<base key>/<code version>

    @classmethod
    def for_base(cls, directory: Path, base: Path) -> GraphCache:
        """The graphs kept for ``base`` by this export code; those other export code made for it are deleted
        (they will not be used again, and weigh gigabytes for a real model)."""
        cache = cls(Path(directory) / base_key(base) / code_version())
        for other in cache.root.parent.glob("*"):
            if other.is_dir() and other != cache.root:
                shutil.rmtree(other, ignore_errors=True)
        return cache

    @staticmethod
    def holds(name: str) -> bool:
        return name != TRANSFORMER

    def stage(self, precision: str, name: str, build: Callable[[Path], dict[str, Any]],
              reused: Callable[[], None]) -> Callable[[Path], dict[str, Any]]:
        """``build`` as a stage build that copies the kept graph when there is one (calling ``reused``), and
        otherwise builds it into the cache first."""
        entry = self.root / precision / name

        def from_cache(tmp: Path) -> dict[str, Any]:
            record, ran = run_stage(entry, build)
            try:
                for file in files_of(entry):
                    target = tmp / file.relative_to(entry)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(file, target)
            except OSError:  # another export replaced the entry while this one copied: build it here
                shutil.rmtree(tmp)
                tmp.mkdir()
                return build(tmp)
            if not ran:
                reused()
            results: dict[str, Any] = record["results"]
            return results

        return from_cache
