"""The Textual dashboard. Screens are modes switched with number keys; engine work runs in workers, under the
one worker policy of :mod:`lofi_tui.workers`.

Only what the first screen (the catalog) needs is imported at start: the other screens are imported when first
shown, the audio stack (numpy, PortAudio) when something first plays, so the first rows come sooner.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from multiprocessing import resource_tracker
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea

from engine import settings
from engine.workspace import Workspace, short_path
from lofi_tui.playback import PlaybackMixin
from lofi_tui.workers import WorkerPolicy

if TYPE_CHECKING:
    from engine.audio.playback import Player
    from screens.base import LofiScreen


@dataclass(frozen=True)
class ScreenEntry:
    key: str
    mode: str
    name: str
    path: str  # "module:Class" of the screen, imported when it is first shown
    keys: str  # the screen's keys, for the help dialog

    @property
    def screen(self) -> type[LofiScreen]:
        module, _, name = self.path.partition(":")
        return getattr(import_module(module), name)

    def make(self) -> LofiScreen:
        """A new screen (what ``App.MODES`` calls when the mode is first shown)."""
        return self.screen()


# The six screens, in one place: the number keys, the modes, the palette and the help are made from it.
SCREENS = (
    ScreenEntry("1", "catalog", "Catalog", "screens.catalog:CatalogScreen",
                "`/` goes to the filter (`status:rejected`, `-flag:duplicate`, `style:CORE-01`, words), `escape` or "
                "`enter` back to the table; `s`/`S` sort (or click a column); `space` play, `i` import (with a sources "
                "sidecar, retrying failed files), `e` source record and language, `t` split train/validation, `b` "
                "build the dataset, `delete` remove from the catalog (the source file stays), `escape` cancels an "
                "import or build, `d` style distribution and license warnings, `r` reload."),
    ScreenEntry("2", "review", "Review", "screens.review:ReviewScreen",
                "`space` play, `s` primary style, `S` add a style, `t` tags, `i` instrumental, `l` lyrics, `r` rating, "
                "`f` flag, `a` approve (and go on), `x` exclude, `u` undo, `n`/`p` next/previous."),
    ScreenEntry("3", "training", "Training", "screens.training:TrainingScreen",
                "fill the form, `ctrl+s` start, `ctrl+x` stop, `ctrl+r` resume, `escape` leaves a field, `+`/`-` "
                "smoothing."),
    ScreenEntry("4", "checkpoints", "Checkpoints", "screens.checkpoints:CheckpointsScreen",
                "arrows move in the sample matrix, `space` plays a cell, `[` `]` switch to the previous/next checkpoint "
                "at the same position, `b` to the base model, `l` loop start / end / off, `v` loudness matching, `x` "
                "stop, `g` render missing cells (`escape` cancels), `c` category, `r` next run, `s`/`S` sort the table, "
                "`m` mark best (with a note), `M` clear the mark, `a` ABX or `p` preference test between the two clips "
                "compared, `e` export the checkpoint."),
    ScreenEntry("5", "listening", "Listening", "screens.listening:ListeningScreen",
                "`n` new blind test, `enter` take or resume it, `v` verify its answer log. In a session: `a` `b` `x` "
                "listen (same position), `space` pause, `←`/`→` seek, `[` `]` loop, `l` no loop, `A` `B` (`N` no "
                "preference) then `enter` to answer, `escape` to leave and resume later."),
    ScreenEntry("6", "export", "Export", "screens.export:ExportScreen",
                "tabs 1 Choose ... 5 Ship (click, or focus the tabs and use the arrows); `ctrl+e` export or resume, "
                "`ctrl+x` cancel, `ctrl+r` compare precisions, `ctrl+g` generate and play, `ctrl+o` publish to the Hub."),
)


def help_text() -> str:
    keys = " ".join(f"`{s.key}` {s.name}" for s in SCREENS)
    lines = ["# lofi-tui", "", "| key | action |", "|---|---|", f"| {keys} | switch screens (from anywhere "
             "but a text field, where digits are typed: `escape` leaves a field first) |",
             "| `F1` ... `F6` | switch screens from anywhere, text fields too |",
             "| `ctrl+p` | command palette: every action of every screen |", "| `?` | this help |",
             "| `escape` | leave a text field; close a dialog |",
             "| `q` / `ctrl+q` | quit (training runs keep going) |", ""]
    lines += [f"**{s.key} {s.name}**: {s.keys}\n" for s in SCREENS]
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # markdown-it: loaded when help is first asked for

        with VerticalScroll(classes="dialog"):
            yield Markdown(help_text())


class LofiApp(WorkerPolicy, PlaybackMixin, App[None]):
    CSS_PATH = "lofi.tcss"
    TITLE = "lofi-tui"
    MODES = {s.mode: s.make for s in SCREENS}
    BINDINGS = [
        # Not in the Footer (it must fit 80 columns): the title names the screen's key, ? lists them all.
        *(Binding(s.key, f"switch_mode('{s.mode}')", s.name, show=False, priority=True, id=f"app.{s.mode}")
          for s in SCREENS),
        # The same from inside a text field too, where the digits are typed (F1-F6).
        *(Binding(f"f{s.key}", f"goto('{s.mode}')", s.name, show=False, priority=True, id=f"app.goto-{s.mode}")
          for s in SCREENS),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, workspace: Workspace, base_model: str | None = None, player: Player | None = None) -> None:
        super().__init__()
        # Textual swaps sys.stderr for an object without a file descriptor while it runs, and
        # multiprocessing's resource tracker (started by the first process pool, e.g. an import)
        # needs a real one: start it now, while stderr is still the terminal.
        resource_tracker.ensure_running()
        self.workspace = workspace
        self._player = player
        configured = settings.current().base_model
        self.base_model: str | None = None
        self.show_model(base_model or (str(configured) if configured else None))
        self._export_request: tuple[str, int | None] | None = None

    @property
    def player(self) -> Player:
        """The audio output, opened when first used."""
        if self._player is None:
            from engine.audio.playback import open_player

            self._player = open_player()
        return self._player

    def show_model(self, base_model: str | None) -> None:
        """The header names the workspace and the base model the next run trains on (by its folder's name, which
        names the checkpoint: the line must fit 80 columns; the training form shows the full path)."""
        self.base_model = base_model
        model = Path(base_model).name if base_model else "none (set --base-model)"
        self.sub_title = f"{short_path(self.workspace.root)}  ·  model: {model}"

    def on_mount(self) -> None:
        self.switch_mode("catalog")

    def keep_loaded(self) -> None:
        """Call after a large load (a 10,000-track catalog, a 100,000-step run): a full garbage collection is due
        then, and it would land on a key press or a chart redraw (0.2-0.4 s spent scanning what was just loaded).
        What is loaded lives as long as its view, so the collector leaves every object now alive alone from here
        on (``gc.freeze``); they are handed back to it when the app ends."""
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Screen keys are typed into a text field that has focus (a run name has digits); elsewhere they switch."""
        if action == "switch_mode" and isinstance(self.focused, (Input, TextArea)):
            return False
        if action in ("switch_mode", "goto") and isinstance(self.screen, ModalScreen):
            return False
        return True

    def action_goto(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def open_listening(self, kind: str, a: str, b: str) -> None:
        """Screen 5 with the New test dialog filled in (sources as ``lofi listen new`` takes them)."""
        self.switch_mode("listening")
        self.call_after_refresh(self.screen.action_new, kind, a, b)

    def open_export(self, run: str, step: int | None = None) -> None:
        """Screen 6 with this checkpoint chosen (``step`` None: the run's best, else its latest)."""
        self._export_request = (run, step)
        self.switch_mode("export")

    def take_export_request(self) -> tuple[str, int | None] | None:
        """What :meth:`open_export` asked for, once (the export screen takes it when it shows)."""
        request, self._export_request = self._export_request, None
        return request


    def action_help_quit(self) -> None:
        self.notify("Press q (or ctrl+q in a text field) to quit; training runs keep going.",
                    title="Do you want to quit?")

    # -- the command palette ----------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Global actions always; every screen's actions too, named by their screen (picking one goes there)."""
        yield from super().get_system_commands(screen)
        for s in SCREENS:
            yield SystemCommand(f"Go to {s.name}", f"Switch to the {s.key} {s.name} screen",
                                lambda m=s.mode: self.switch_mode(m))
        yield SystemCommand("Help", "Keys and what they do", self.action_help)
        for s in SCREENS:
            for binding in s.screen.BINDINGS:
                if isinstance(binding, Binding) and binding.description:
                    yield SystemCommand(f"{s.name}: {binding.description}", f"{s.key} {s.name} · key {binding.key}",
                                        lambda m=s.mode, a=binding.action: self._run_on(m, a))

    def _run_on(self, mode: str, action: str) -> None:
        self.switch_mode(mode)
        self.call_after_refresh(lambda: self.screen.run_action(action))
