"""``runs/<run>/metrics.jsonl``: one JSON object per line, flushed as soon as it is written.

Two kinds of line, told apart by ``type``:

- ``{"type": "step", "step", "loss", "lr", "grad_norm", "step_time", "samples_per_sec", "memory_mb", "time"}``
  once per optimizer step;
- ``{"type": "event", "event", "step", "time", ...}`` with ``event`` one of started, resumed,
  checkpoint_saved, sample_generated, divergence, rollback, stopped, finished, failed.

After a resume or a rollback, steps are written again from the checkpoint on: readers keep the
last line for each step (:func:`read_metrics` does). A viewer can tail the file as it grows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from engine.training.series import StepColumns

EVENTS = ("started", "resumed", "checkpoint_saved", "sample_generated", "divergence", "rollback", "stopped",
          "finished", "failed")


class MetricsWriter:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh: IO[str] = open(self.path, "a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()

    def step(self, **values: float | int | None) -> None:
        self._write({"type": "step", **values, "time": time.time()})

    def event(self, event: str, step: int, **details: object) -> None:
        assert event in EVENTS, event
        self._write({"type": "event", "event": event, "step": step, "time": time.time(), **details})

    def close(self) -> None:
        self._fh.close()


class NoMetrics(MetricsWriter):
    """What a training process other than the main one writes: nothing (one line per step, from rank 0)."""

    def __init__(self) -> None:
        pass

    def _write(self, record: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class RunMetrics:
    steps: dict[int, dict[str, Any]] = field(default_factory=dict)  # last line per step
    events: list[dict[str, Any]] = field(default_factory=list)
    columns: StepColumns = field(default_factory=StepColumns, repr=False, compare=False)

    def add_step(self, record: dict[str, Any]) -> None:
        step = int(record["step"])
        self.steps[step] = record
        self.columns.add(step, record)

    def column(self, key: str) -> np.ndarray:
        """``key`` of every step, in step order, as a float array (``"step"`` gives the steps themselves)."""
        return self.columns.column(key, self.steps)

    def losses(self) -> list[float]:
        return [self.steps[s]["loss"] for s in sorted(self.steps)]


def parse_lines(lines: list[str], into: RunMetrics | None = None) -> RunMetrics:
    """Fold JSON lines into metrics; a torn last line (the writer was killed mid-write) is ignored."""
    metrics = into or RunMetrics()
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("type") == "step":
            metrics.add_step(record)
        elif record.get("type") == "event":
            metrics.events.append(record)
    return metrics


def read_metrics(path: Path) -> RunMetrics:
    try:
        return parse_lines(Path(path).read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return RunMetrics()


_BOOKKEEPING = ("type", "event", "step", "time")


def format_event(event: dict[str, Any]) -> str:
    """One readable line for an event: ``step     20  checkpoint_saved  path checkpoints/step-20``."""
    details = []
    for key, value in event.items():
        if key in _BOOKKEEPING:
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "none"
        elif isinstance(value, float):
            value = f"{value:.4g}"
        details.append(f"{key.replace('_', ' ')} {value}")
    return f"step {event.get('step', '?'):>6}  {event['event']:<17} {'  '.join(details)}".rstrip()


class MetricsTail:
    """Reads the complete lines appended to ``metrics.jsonl`` since the last call (a torn last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0

    def read_new(self) -> list[str]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self._offset += len(complete)
        return complete.decode("utf-8", "replace").splitlines()


def follow_metrics(run_dir: Path, on_lines: Callable[[list[str]], None], done: Callable[[], bool]) -> None:
    """Call ``on_lines`` with new ``metrics.jsonl`` lines as the run writes them, until ``done()`` is true.

    File-system notifications (watchfiles) wake it at once; it also wakes every half second to ask
    ``done()``, and reads once more after that so the last lines are never lost.
    """
    from watchfiles import watch

    tail = MetricsTail(Path(run_dir) / "metrics.jsonl")

    def deliver() -> None:
        lines = tail.read_new()
        if lines:
            on_lines(lines)

    deliver()
    for _changes in watch(run_dir, debounce=100, step=50, rust_timeout=500, yield_on_timeout=True):
        finished = done()
        deliver()
        if finished:
            return
