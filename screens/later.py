"""Screens 4 and 6 are built in a later issue; until then they say so plainly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static


class _Later(Screen):
    WHAT = ""
    CLI = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.TITLE} is not built yet: it comes in a later issue.\n\n"
                     f"Meanwhile the command line does it: {self.CLI}", classes="later")
        yield Footer()


class CheckpointsScreen(_Later):
    TITLE = "4 Checkpoints"
    CLI = "lofi eval --run R --checkpoint all; lofi checkpoints --run R"


class ExportScreen(_Later):
    TITLE = "6 Export"
    CLI = "ONNX export is not available yet"
