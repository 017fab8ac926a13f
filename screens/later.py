"""Screen 6 is built in a later issue; until then it says what exists today, on the command line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from screens.base import LofiScreen


class _Later(LofiScreen):
    NOW = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.TITLE} has no screen yet.\n\n{self.NOW}", classes="later", markup=False)
        yield Footer()


class CheckpointsScreen(_Later):
    TITLE = "4 Checkpoints"
    NOW = ("On the command line today: lofi eval --run R --checkpoint all (FAD, CLAP and style metrics per "
           "checkpoint), then lofi checkpoints --run R.")


class ExportScreen(_Later):
    TITLE = "6 Export"
    NOW = ("On the command line today: lofi export --run R (ONNX bundle, fp32/fp16/int8/int4), "
           "lofi compare-precisions --bundles ..., lofi generate --bundle B --prompt ..., lofi publish B --repo ...")
