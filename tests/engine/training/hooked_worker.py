"""The training worker with test hooks, run as a script in place of ``python -m engine.training.worker``:
slowed steps (so a run can be stopped or killed mid-way), a NaN loss once at given steps (to exercise the
rollback), and per-rank logs of the tracks drawn and a hash of the LoRA weights (for the multi-process test).

``python hooked_worker.py [--step-sleep S] [--nan-at N,M] [--rank-log DIR] RUN_DIR [worker options]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

from engine.training import worker
from engine.training.loop import StepHooks, Trainer


class ProbeHooks(StepHooks):
    def __init__(self, step_sleep: float = 0.0, nan_at: set[int] | None = None, rank_log: Path | None = None) -> None:
        self.step_sleep = step_sleep
        self.nan_at = set(nan_at or ())
        self.rank_log = rank_log

    def loss(self, step: int, loss: torch.Tensor) -> torch.Tensor:
        if step in self.nan_at:
            self.nan_at.discard(step)  # once: the retry after the rollback must succeed
            return loss * float("nan")
        return loss

    def after_step(self, trainer: Trainer, step: int, tracks: list[str]) -> None:
        if self.rank_log:
            digest = hashlib.sha256()
            for p in trainer.params:
                digest.update(p.detach().float().cpu().numpy().tobytes())
            with open(self.rank_log / f"rank-{trainer.rank}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": step, "tracks": tracks, "lora": digest.hexdigest()}) + "\n")
        time.sleep(self.step_sleep)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hooked_worker")
    parser.add_argument("--step-sleep", type=float, default=0.0)
    parser.add_argument("--nan-at", default="")
    parser.add_argument("--rank-log", type=Path, default=None)
    ours, rest = parser.parse_known_args(argv)
    hooks = ProbeHooks(ours.step_sleep, {int(s) for s in ours.nan_at.split(",") if s}, ours.rank_log)
    return worker.main(rest, hooks=hooks)


if __name__ == "__main__":
    sys.exit(main())
