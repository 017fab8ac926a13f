"""Shared output helpers for CLI commands: JSON on stdout, diagnostics on stderr, Rich progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from engine.progress import Progress as EngineProgress

stderr = Console(stderr=True)
stdout = Console()


def _default(obj: Any) -> Any:
    if is_dataclass(obj):
        return asdict(obj)
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (machine-readable output of ``--json``)."""
    sys.stdout.write(json.dumps(obj, default=_default, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator:
    """A Rich progress bar on stderr; yields an engine progress callback that drives it."""
    if not enabled:
        yield lambda _p: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}", style="dim"),
        console=stderr,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None, label="")

        def update(p: EngineProgress) -> None:
            bar.update(task, completed=p.done, total=p.total, label=p.label[-50:])

        yield update
