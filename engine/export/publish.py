"""``lofi publish``: upload a verified bundle to the Hugging Face Hub with huggingface_hub.

The Hub client is a parameter (``huggingface_hub.HfApi`` by default) so the dashboard and tests
choose it; nothing here touches the network before the offline and token checks pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.errors import Cancelled
from engine.export.stages import STAGE_FILE, ExportError
from engine.inference.bundle import read_manifest, verify_checksums
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress


class PublishError(ExportError):
    """The bundle could not be uploaded (offline, no token, hub refused)."""


class HubClient(Protocol):
    """The part of ``huggingface_hub.HfApi`` an upload uses."""

    def create_repo(self, repo_id: str, *, repo_type: str, private: bool, exist_ok: bool) -> Any: ...

    def preupload_lfs_files(self, repo_id: str, additions: list[Any], *, repo_type: str) -> None: ...

    def create_commit(self, repo_id: str, operations: list[Any], *, commit_message: str, repo_type: str) -> Any: ...


@dataclass(frozen=True)
class PublishPlan:
    bundle: Path
    files: list[tuple[str, int]]  # what would be uploaded: name, bytes
    total_bytes: int
    token_source: str | None  # "HF_TOKEN" or "saved login"; None without a token
    problem: str | None  # the one line saying why nothing can be uploaded here, or None


def bundle_files(bundle: Path) -> list[Path]:
    return sorted(p for p in Path(bundle).iterdir() if p.is_file() and p.name != STAGE_FILE)


def _token() -> tuple[str | None, str | None]:
    import huggingface_hub

    token = huggingface_hub.get_token()
    if not token:
        return None, None
    return token, "HF_TOKEN" if os.environ.get("HF_TOKEN") else "saved login"


def _problem(has_token: bool) -> str | None:
    from huggingface_hub import is_offline_mode

    if is_offline_mode():
        return ("the Hugging Face Hub is switched off here (HF_HUB_OFFLINE is set): unset it on a machine with "
                "network access and publish again. Nothing was uploaded")
    if not has_token:
        return "no Hugging Face token: run `hf auth login` or set HF_TOKEN, then publish again. Nothing was uploaded"
    return None


def publish_plan(bundle: Path) -> PublishPlan:
    """The files and sizes an upload would send and whether it can happen here; reads no file contents."""
    read_manifest(bundle)
    files = [(p.name, p.stat().st_size) for p in bundle_files(bundle)]
    _, source = _token()
    return PublishPlan(Path(bundle), files, sum(s for _, s in files), source, _problem(source is not None))


def publish_bundle(bundle: Path, repo_id: str, private: bool = False, token: str | None = None,
                   api: HubClient | None = None, progress: ProgressCallback = no_progress,
                   cancel: CancelToken | None = None) -> str:
    """Check the bundle, create the model repo if needed, upload file by file (progress per file), then
    commit once; returns the repo URL. Offline or without a token: PublishError, nothing sent."""
    from huggingface_hub import CommitOperationAdd, HfApi

    bundle = Path(bundle)
    if token is None:
        token, _ = _token()
    problem = _problem(token is not None)
    if problem:
        raise PublishError(problem)
    verify_checksums(bundle, read_manifest(bundle))  # never publish a partial or corrupt bundle
    api = api or HfApi(token=token)
    files = bundle_files(bundle)
    total = sum(p.stat().st_size for p in files)
    operations, sent = [], 0
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        for path in files:
            if cancel is not None:
                cancel.raise_if_cancelled()
            progress(Progress(sent, total, path.name))
            op = CommitOperationAdd(path_in_repo=path.name, path_or_fileobj=str(path))
            api.preupload_lfs_files(repo_id, additions=[op], repo_type="model")
            operations.append(op)
            sent += path.stat().st_size
        progress(Progress(sent, total, "commit"))
        api.create_commit(repo_id, operations, commit_message="Upload lofi ONNX bundle", repo_type="model")
    except (ExportError, Cancelled):
        raise
    except Exception as exc:  # network and hub errors come in many types; none is ours to handle finer
        raise PublishError(f"could not upload {bundle} to {repo_id}: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}. Check the network, the token's write "
                           "access and the repo id (owner/name)") from None
    return f"https://huggingface.co/{repo_id}"
