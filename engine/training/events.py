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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

EVENTS = ("started", "resumed", "checkpoint_saved", "sample_generated", "divergence", "rollback", "stopped",
          "finished", "failed")


class MetricsWriter:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh: IO[str] = open(self.path, "a", encoding="utf-8")

    def _write(self, record: dict) -> None:
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

    def _write(self, record: dict) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class RunMetrics:
    steps: dict[int, dict] = field(default_factory=dict)  # last line per step
    events: list[dict] = field(default_factory=list)

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
            metrics.steps[int(record["step"])] = record
        elif record.get("type") == "event":
            metrics.events.append(record)
    return metrics


def read_metrics(path: Path) -> RunMetrics:
    try:
        return parse_lines(Path(path).read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return RunMetrics()
