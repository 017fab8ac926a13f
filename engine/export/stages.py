"""Resumable export stages: each stage fills a temporary directory that is renamed into place, with a
``stage.json`` recording its files' checksums and results. A stage whose directory holds a matching
``stage.json`` is done and skipped, so an interrupted or failed export resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json, fsync_dir
from engine.errors import LofiError
from engine.hashing import file_sha256

STAGE_FILE = "stage.json"


class ExportError(LofiError):
    """An export step failed (bad checkpoint, failed parity, unsupported precision...)."""


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and p.name != STAGE_FILE)


def checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): file_sha256(p) for p in files_of(root)}


def load_stage(path: Path) -> dict[str, Any] | None:
    """The stage's recorded results when every file is present and intact, else None."""
    try:
        record: dict[str, Any] = json.loads((Path(path) / STAGE_FILE).read_text(encoding="utf-8"))
        if checksums(path) == record["checksums"]:
            return record
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def run_stage(path: Path, build: Callable[[Path], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """``build(tmp_dir) -> results`` unless ``path`` already holds a valid stage; returns (record, ran).
    Several exports may build the same stage at once (the graph cache is shared): each builds in its own
    temporary directory, and the first to finish is the one kept."""
    path = Path(path)
    done = load_stage(path)
    if done is not None:
        return done, False
    for stale in path.parent.glob(f".{path.name}.tmp-*"):  # left by a killed export, not one still at work
        pid = re.match(r"\d+", stale.name.removeprefix(f".{path.name}.tmp-"))
        if pid is None or not process_alive(int(pid.group())):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        results = build(tmp)
        record = {"results": results, "checksums": checksums(tmp)}
        for file in files_of(tmp):
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        atomic_write_json(tmp / STAGE_FILE, record)
        if path.exists():
            if (theirs := load_stage(path)) is not None:  # another export finished it meanwhile
                return theirs, True
            shutil.rmtree(path)  # an invalid leftover of an earlier attempt
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return record, True


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
