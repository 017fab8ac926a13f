"""Every ``LOFI_*`` environment variable, read in one place (the CLI, the dashboard and the daemon share it).

Read afresh on each call of :func:`current` so a changed environment (a test, a child process) is seen;
an empty variable counts as unset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WORKSPACE = Path("lofi-workspace")


class LofiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOFI_", env_ignore_empty=True, extra="ignore")

    workspace: Path = Field(DEFAULT_WORKSPACE, description="The workspace directory (`--workspace`).")
    base_model: Path | None = Field(None, description="A local ACE-Step 1.5 diffusers checkpoint.")
    models: Path | None = Field(None, description="Embedder weights; default <workspace>/models.")
    styles: Path | None = Field(None, description="A styles.toml to use instead of the shipped one.")
    model_path: Path | None = Field(None, description="The daemon's model: an export bundle (lofi.nvim's model_path).")
    cache_path: Path | None = Field(None, description="Where the daemon writes generated WAVs.")
    graph_cache: Path | None = Field(None, description="Where export keeps the base model's graphs for later "
                                     "exports of the same base; default <workspace>/cache/graphs.")
    device: Literal["auto", "cpu", "cuda", "metal"] = Field(
        "auto", description="Where the daemon generates (lofi.nvim's device): auto and cuda use onnxruntime's CUDA "
        "provider when installed, metal its CoreML provider; otherwise the CPU.")
    threads: int | None = Field(None, ge=1, description="onnxruntime intra-op threads for the daemon (lofi.nvim).")


def current() -> LofiSettings:
    """The settings as the environment says now."""
    return LofiSettings()
