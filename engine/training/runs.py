"""Runs on disk: create, start as a child process, stop gracefully, and list with their status."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from engine.errors import LofiError
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import RunMetrics, read_metrics
from engine.workspace import Workspace

STOP_FILE = "STOP"  # its presence asks a run to checkpoint and exit (the loop polls it after each step)

PID_FILE = "train.pid"
LOG_FILE = "train.log"


class RunError(LofiError):
    """A run name or state that does not allow the requested action."""


@dataclass(frozen=True)
class RunInfo:
    name: str
    status: str  # running | finished | stopped | diverged | failed | interrupted | created
    step: int
    max_steps: int
    last_loss: float | None
    checkpoints: list[int]
    path: str


def run_dir(ws: Workspace, name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
        raise RunError(f"run name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)")
    return ws.runs_dir / name


def new_run_name() -> str:
    return dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")


def create_run(ws: Workspace, config: TrainConfig) -> Path:
    config.validate()
    path = run_dir(ws, config.run)
    if (path / "config.json").exists():
        raise RunError(f"run {config.run} already exists; resume it with `lofi train --run {config.run} --resume`")
    path.mkdir(parents=True, exist_ok=True)
    config.save(path)
    return path


def running_pid(path: Path) -> int | None:
    """The pid of the training process of the run at ``path``, if one is alive.

    Decided from the process itself, not from the pid file alone: a finished child its parent has not
    reaped yet (a zombie) is not running, nor is an unrelated process that reused the pid.
    """
    try:
        pid = int((path / PID_FILE).read_text().strip())
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or str(path.resolve()) not in process.cmdline():
            return None
        return pid
    except (OSError, ValueError, psutil.Error):
        return None


WORKER_ENTRY = ["-m", "engine.training.worker"]  # tests put a worker with step hooks here


def worker_command(path: Path, processes: int = 1) -> list[str]:
    """The training worker's command line: one process, or N under torchrun (``torch.distributed.run``, which
    sets the rank variables accelerate reads: one process per GPU, or gloo workers on a CPU). No shell."""
    worker = [*WORKER_ENTRY, str(Path(path).resolve())]  # absolute: it runs in the run folder
    if processes == 1:
        return [sys.executable, *worker]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *worker]


def start_run(path: Path, from_checkpoint: int | None = None, detach: bool = True) -> subprocess.Popen[bytes]:
    """Start the training process; with ``detach`` it survives the caller (the dashboard closing)."""
    if running_pid(path):
        raise RunError(f"run {path.name} is already training (pid {running_pid(path)})")
    args = worker_command(path, TrainConfig.load(path).processes)
    if from_checkpoint is not None:
        args += ["--from-checkpoint", str(from_checkpoint)]
    log = open(path / LOG_FILE, "ab")
    # The run's own folder as working directory: an installed package needs no source tree.
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=detach, cwd=path)
    log.close()
    (path / PID_FILE).write_text(str(proc.pid))
    return proc


def request_stop(path: Path) -> bool:
    """Ask a run to finish its step, checkpoint and exit; True if a live process was signalled."""
    (path / STOP_FILE).touch()
    pid = running_pid(path)
    if pid:
        os.kill(pid, signal.SIGTERM)
    return pid is not None


def run_status(path: Path, metrics: RunMetrics) -> str:
    """What a run is doing: from its process when one is alive, else from the last event it wrote."""
    if running_pid(path):
        return "running"
    if not metrics.events:
        return "created"
    last = metrics.events[-1]
    if last["event"] in ("finished", "failed"):
        return str(last["event"])
    if last["event"] == "stopped":
        return "diverged" if last.get("reason") == "diverged" else "stopped"
    return "interrupted"  # killed: resume with --resume


def run_info(path: Path) -> RunInfo:
    config = TrainConfig.load(path)
    metrics = read_metrics(path / "metrics.jsonl")
    step = max(metrics.steps, default=0)
    last = metrics.steps[step]["loss"] if step else None
    return RunInfo(path.name, run_status(path, metrics), step, config.max_steps, last, ckpt.list_checkpoints(path),
                   str(path))


def list_runs(ws: Workspace) -> list[RunInfo]:
    if not ws.runs_dir.exists():
        return []
    return [run_info(p) for p in sorted(ws.runs_dir.iterdir()) if (p / "config.json").exists()]
