from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a model hub, whatever the machine allows.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from engine.catalog import Catalog  # noqa: E402
from engine.workspace import Workspace  # noqa: E402


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def catalog(workspace: Workspace) -> Catalog:
    return Catalog(workspace.catalog_path)
