"""``lofi publish``: upload a verified bundle to the Hugging Face Hub with huggingface_hub."""

from __future__ import annotations

from pathlib import Path

from engine.export.stages import STAGE_FILE, ExportError
from engine.inference.bundle import read_manifest, verify_checksums


class PublishError(ExportError):
    """The bundle could not be uploaded (offline, no token, hub refused)."""


def publish_bundle(bundle: Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Verify the bundle, create the model repo if needed and upload it; returns the repo URL."""
    import huggingface_hub
    from huggingface_hub import constants

    bundle = Path(bundle)
    verify_checksums(bundle, read_manifest(bundle))  # never publish a partial or corrupt bundle
    if constants.HF_HUB_OFFLINE:
        raise PublishError("the Hugging Face Hub is switched off here (HF_HUB_OFFLINE is set); unset it on a "
                           "machine with network access and run `lofi publish` again. Nothing was uploaded")
    token = token or huggingface_hub.get_token()
    if not token:
        raise PublishError("no Hugging Face token: run `hf auth login` or set HF_TOKEN, then run `lofi publish` "
                           "again. Nothing was uploaded")
    api = huggingface_hub.HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(bundle), repo_id=repo_id, repo_type="model",
                          ignore_patterns=[STAGE_FILE], commit_message="Upload lofi ONNX bundle")
    except Exception as exc:  # network and hub errors come in many types; none is ours to handle finer
        raise PublishError(f"could not upload {bundle} to {repo_id}: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}. Check the network, the token's write "
                           "access and the repo id (owner/name)") from None
    return f"https://huggingface.co/{repo_id}"
