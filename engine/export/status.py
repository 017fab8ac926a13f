"""Where an export stands, read from its folder alone: which stages are done, which one failed and why,
and what was asked for, so the dashboard (or a second `lofi export`) shows it and continues from there.

``export_checkpoint`` records the request and the outcome in ``OUT/.work/status.json`` as it goes; each
stage is judged by its own ``stage.json`` checksums (engine.export.stages), never by that record.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_json
from engine.export.stages import load_stage, process_alive
from engine.inference.bundle import GRAPHS
from engine.workspace import Workspace

STATUS_FILE = "status.json"
DONE, RUNNING, FAILED, PENDING = "done", "running", "failed", "pending"
CANCELLED, INTERRUPTED, NEW = "cancelled", "interrupted", "new"  # whole-export states besides done/running/failed
VERIFY_DIR, TRY_DIR = "verify", "try"  # what the wizard keeps beside the bundles


@dataclass(frozen=True)
class ExportRequest:
    run: str
    step: int
    precisions: list[str]
    license: str = "other"
    base_model_id: str | None = None


@dataclass(frozen=True)
class Stage:
    label: str  # "merged", "facts", "<precision>/<graph>", or a precision (its bundle)
    path: Path


@dataclass
class StageState:
    label: str
    state: str  # done | running | failed | pending
    message: str = ""


@dataclass
class ExportStatus:
    out: Path
    request: ExportRequest | None
    state: str  # new | running | done | failed | cancelled | interrupted (killed while running)
    stages: list[StageState] = field(default_factory=list)
    error: str | None = None
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # finished bundles' manifests, by precision

    @property
    def unfinished(self) -> bool:
        return self.request is not None and self.state in (FAILED, CANCELLED, INTERRUPTED)


def default_out(ws: Workspace, run: str, step: int) -> Path:
    return ws.exports_dir / f"{run}-step-{step}"


def plan(out: Path, precisions: list[str]) -> list[Stage]:
    """Every stage in the order it runs: merge, model facts, the fp32 graphs (the source of every other
    precision), each other precision's graphs, then one bundle per precision."""
    out = Path(out)
    work = out / ".work"
    graphs = [f"{p}/{g}" for p in ["fp32", *[q for q in precisions if q != "fp32"]] for g in GRAPHS]
    return [Stage("merged", out / "merged"), Stage("facts", work / "facts"),
            *[Stage(label, work / label) for label in graphs], *[Stage(p, out / p) for p in precisions]]


def record(out: Path, request: ExportRequest, state: str, stage: str | None = None, error: str | None = None) -> None:
    atomic_write_json(Path(out) / ".work" / STATUS_FILE, {"request": asdict(request), "state": state, "stage": stage,
                                                         "error": error, "pid": os.getpid()})


def _recorded(out: Path) -> tuple[ExportRequest | None, dict[str, Any]]:
    try:
        raw = json.loads((Path(out) / ".work" / STATUS_FILE).read_text(encoding="utf-8"))
        return ExportRequest(**raw["request"]), raw
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}


def last_stage(out: Path) -> str | None:
    """The stage recorded last as running: where a failure or a cancel happened."""
    return _recorded(out)[1].get("stage")


def _state(raw: dict[str, Any]) -> str:
    state: str = raw.get("state", NEW)
    pid = raw.get("pid")
    if state == RUNNING and pid != os.getpid() and not (isinstance(pid, int) and process_alive(pid)):
        return INTERRUPTED
    return state


def read_status(out: Path, request: ExportRequest | None = None) -> ExportStatus:
    """The export in ``out`` as it stands; ``request`` (about to be run) replaces the recorded one. Stages
    are judged by their checksums, so this reads every finished file once: call it off the UI thread."""
    out = Path(out)
    recorded, raw = _recorded(out)
    state = _state(raw) if recorded is not None else NEW
    request = request or recorded
    precisions = request.precisions if request else []
    manifests = {}
    for precision in precisions:
        done = load_stage(out / precision)
        if done is not None:
            manifests[precision] = done["results"]
    stages = []
    for stage in plan(out, precisions):
        owner = stage.label.split("/")[0]
        if stage.label in precisions:
            finished = stage.label in manifests
        else:  # a finished bundle no longer needs its graphs' work files, which are removed
            finished = (owner != "fp32" and owner in manifests) or load_stage(stage.path) is not None
        if finished:
            stages.append(StageState(stage.label, DONE))
        elif raw.get("stage") == stage.label and state == FAILED:
            stages.append(StageState(stage.label, FAILED, raw.get("error") or ""))
        elif raw.get("stage") == stage.label and state in (RUNNING, CANCELLED, INTERRUPTED):
            stages.append(StageState(stage.label, RUNNING if state == RUNNING else PENDING,
                                     "" if state == RUNNING else state))
        else:
            stages.append(StageState(stage.label, PENDING))
    return ExportStatus(out, request, state, stages, raw.get("error") if state == FAILED else None, manifests)


def unfinished_exports(ws: Workspace) -> list[ExportStatus]:
    """Exports under the workspace that failed, were cancelled or killed, newest first (status files only)."""
    found = []
    for status_file in ws.exports_dir.glob(f"*/.work/{STATUS_FILE}") if ws.exports_dir.exists() else []:
        request, raw = _recorded(status_file.parent.parent)
        state = _state(raw)
        if request is not None and state in (FAILED, CANCELLED, INTERRUPTED):
            found.append((status_file.stat().st_mtime, ExportStatus(status_file.parent.parent, request, state,
                                                                    error=raw.get("error"))))
    return [status for _, status in sorted(found, key=lambda pair: -pair[0])]
