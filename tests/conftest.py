from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests never reach a model hub, whatever the machine allows.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from engine.catalog.split import assign_splits  # noqa: E402
from engine.catalog.store import Catalog  # noqa: E402
from engine.ingest.batch import ingest  # noqa: E402
from engine.model.tiny import build_tiny_checkpoint  # noqa: E402
from engine.workspace import Workspace  # noqa: E402
from tests.audio_files import lofi_file  # noqa: E402
from tests.engine.export.exported import exported  # noqa: E402,F401  (one tiny export per session)


@pytest.fixture(scope="session", autouse=True)
def shared_graph_cache(tmp_path_factory):
    """Every export of the session, the demo's process included, shares one graph cache, as one user's
    workspaces may: the tiny base models are built alike, so their encoders and VAE are exported once.
    Under xdist both workers' temporary directories sit in this run's one directory."""
    root = tmp_path_factory.getbasetemp()
    shared = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOFI_GRAPH_CACHE", str(shared / "graph-cache"))
        yield


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def catalog(workspace: Workspace) -> Catalog:
    return Catalog(workspace.catalog_path)


@pytest.fixture
def hooked_worker(monkeypatch):
    """Runs started by :func:`engine.training.runs.start_run` use the worker with test hooks; call the fixture's
    value with its options (``--step-sleep 0.2``...). Returns the command prefix for starting one by hand."""
    from engine.training import runs

    def use(*options: str) -> list[str]:
        entry = [str(Path(__file__).parent / "engine" / "training" / "hooked_worker.py"), *options]
        monkeypatch.setattr(runs, "WORKER_ENTRY", entry)
        return [sys.executable, *entry]

    return use


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ace-step-tiny")


@pytest.fixture(scope="session")
def train_workspace(tmp_path_factory):
    """Two short accepted tracks, both in the training split."""
    src = tmp_path_factory.mktemp("train-src")
    lofi_file(src / "one.wav", 31, seed=81)
    lofi_file(src / "two.wav", 31, seed=82)
    ws = Workspace.open(tmp_path_factory.mktemp("train-ws") / "w")
    ingest(ws, [src], jobs=1)
    assign_splits(Catalog(ws.catalog_path), ratio=0.0)
    return ws
