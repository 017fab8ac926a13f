"""The Textual dashboard. Screens are modes switched with number keys; engine work runs in workers."""

from __future__ import annotations

from collections.abc import Iterable
from multiprocessing import resource_tracker

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

from engine import settings
from engine.audio.playback import Player, open_player
from engine.workspace import Workspace, display_path
from lofi_tui.playback import PlaybackMixin
from screens.catalog import CatalogScreen
from screens.later import CheckpointsScreen, ExportScreen
from screens.listening import ListeningScreen
from screens.review import ReviewScreen
from screens.training import TrainingScreen

HELP = """\
# lofi-tui

| key | action |
|---|---|
| `1` `2` `3` | Catalog, Review, Training |
| `4` `5` `6` | Checkpoints (later), Listening, Export (later) |
| `ctrl+p` | command palette: every action |
| `?` | this help |
| `q` | quit (training runs keep going) |

**Catalog**: type in the filter (`status:rejected`, `style:CORE-01`, `flag:needs_review`, `split:train`, words),
click a column to sort, `space` play, `i` import, `d` style distribution, `r` reload.

**Review**: `space` play, `s` primary style, `S` add a style, `t` tags, `i` instrumental, `l` lyrics, `r` rating, `f` flag,
`a` approve, `x` exclude, `u` undo, `n`/`p` next/previous.

**Training**: fill the form, `ctrl+s` start, `ctrl+x` stop, `ctrl+r` resume, `+`/`-` smoothing.

**Listening**: `n` new blind test, `enter` take or resume it, `v` verify its answer log. In a session: `a` `b` `x`
listen (same position), `space` pause, `←`/`→` seek, `[` `]` loop, `l` no loop, `A` `B` (`N` no preference) then
`enter` to answer, `escape` to leave and resume later.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        yield Markdown(HELP, classes="dialog")


class LofiApp(PlaybackMixin, App[None]):
    CSS_PATH = "lofi.tcss"
    TITLE = "lofi-tui"
    BINDINGS = [
        Binding("1", "switch_mode('catalog')", "Catalog", id="app.catalog"),
        Binding("2", "switch_mode('review')", "Review", id="app.review"),
        Binding("3", "switch_mode('training')", "Training", id="app.training"),
        Binding("4", "switch_mode('checkpoints')", "Checkpoints", show=False, id="app.checkpoints"),
        Binding("5", "switch_mode('listening')", "Listening", show=False, id="app.listening"),
        Binding("6", "switch_mode('export')", "Export", show=False, id="app.export"),
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
        configured = settings.current().base_model
        self.base_model = base_model or (str(configured) if configured else None)
        self.player = player or open_player()
        self.sub_title = f"{display_path(workspace.root)}  ·  model: {self.base_model or 'none (set --base-model)'}"

    MODES = {"catalog": CatalogScreen, "review": ReviewScreen, "training": TrainingScreen,
             "checkpoints": CheckpointsScreen, "listening": ListeningScreen, "export": ExportScreen}

    def on_mount(self) -> None:
        self.switch_mode("catalog")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def open_listening(self, kind: str, a: str, b: str) -> None:
        """Screen 5 with the New test dialog filled in (sources as ``lofi listen new`` takes them)."""
        self.switch_mode("listening")
        self.call_after_refresh(self.screen.action_new, kind, a, b)

    def notify(self, message: str, **options) -> None:
        """Messages carry file names and paths ("[2019] album/..."): never read them as markup."""
        super().notify(message, **{**options, "markup": False})

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, name in (("catalog", "Catalog"), ("review", "Review"), ("training", "Training"),
                          ("checkpoints", "Checkpoints"), ("listening", "Listening"), ("export", "Export")):
            yield SystemCommand(f"Go to {name}", f"Switch to the {name} screen", lambda k=key: self.switch_mode(k))
        yield SystemCommand("Help", "Keys and what they do", self.action_help)
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(binding.description, f"{screen.TITLE}: {binding.key}",
                                    lambda a=binding.action, s=screen: s.run_action(a))
