import pytest

from engine.catalog import Catalog
from engine.ingest import ingest
from engine.model.tiny import build_tiny_checkpoint
from engine.split import assign_splits
from engine.workspace import Workspace
from tests.audio_files import lofi_file


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
