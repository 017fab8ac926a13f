"""Small modal dialogs shared by screens: a one-line prompt (with optional completion) and a style picker.

Every dialog sits in a scrolling container that fits an 80x24 terminal; questions and choices are plain
text, never markup (a lyrics hint shows ``[Verse]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester, SuggestFromList
from textual.widgets import Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from engine.labels.styles import Taxonomy


class PathSuggester(Suggester):
    """Completes the last part of a file or folder path (right arrow accepts), like a shell's tab."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        typed = Path(value).expanduser()
        folder, stem = (typed, "") if value.endswith("/") else (typed.parent, typed.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                           if p.name.startswith(stem) and not p.name.startswith("."))
        except OSError:
            return None
        return value + names[0][len(stem):] if names else None


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with the text, or None on escape."""

    AUTO_FOCUS = "#answer"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "", *, complete_paths: bool = False,
                 choices: Iterable[str] = ()) -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder
        choices = list(choices)
        self.suggester: Suggester | None = (PathSuggester() if complete_paths else
                                            SuggestFromList(choices, case_sensitive=False) if choices else None)
        self.hint = ("known: " + ", ".join(choices) + " (right arrow completes)") if choices else (
            "right arrow completes the path" if complete_paths else "")

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.question, markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="answer", suggester=self.suggester)
            if self.hint:
                yield Label(self.hint, markup=False, classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class ImportRequest:
    path: str
    retry_errors: bool


class ImportDialog(ModalScreen[ImportRequest | None]):
    """Ask for a file or folder to import, with the ``lofi ingest --retry-errors`` option."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="import.cancel")]
    AUTO_FOCUS = "#answer"  # not the scrolling container: enter must submit the path

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("Import audio from a file or folder:")
            yield Input(placeholder="~/music/licensed", id="answer", suggester=PathSuggester())
            yield Label("right arrow completes the path", markup=False, classes="hint")
            yield Checkbox("Retry files whose last import failed", id="retry-errors")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(ImportRequest(event.value, self.query_one("#retry-errors", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)


def fuzzy_score(query: str, text: str) -> int | None:
    """Characters of ``query`` in order inside ``text``; lower is a tighter match; None = no match."""
    text, pos, gaps = text.lower(), -1, 0
    for ch in query.lower():
        nxt = text.find(ch, pos + 1)
        if nxt < 0:
            return None
        gaps += nxt - pos - 1
        pos = nxt
    return gaps


def match_rank(query: str, style_id: str, name: str) -> tuple[int, int] | None:
    """Whole words first ("rain" -> "Rainy Day Lofi"), then substrings, then letters in order; None = no match."""
    q, words = query.lower().strip(), f"{style_id} {name}".lower().replace("-", " ").split()
    if any(w.startswith(q) for w in words) or style_id.lower().startswith(q):
        return (0, len(name))
    if q in f"{style_id} {name}".lower():
        return (1, len(name))
    gaps = fuzzy_score(q, f"{style_id} {name}")
    return None if gaps is None else (2, gaps)


class StylePicker(ModalScreen[str | None]):
    """Type to narrow the 38 presets; up/down move in the list while typing; enter picks."""

    AUTO_FOCUS = "#query"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, taxonomy: Taxonomy, title: str) -> None:
        super().__init__()
        self.taxonomy, self.title_text = taxonomy, title

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.title_text, markup=False)
            yield Input(placeholder="type to search, e.g. 'rain' or 'vocal-02'", id="query")
            yield OptionList(id="styles")

    def on_mount(self) -> None:
        self._refresh("")

    def _refresh(self, query: str) -> None:
        scored = []
        for sid in self.taxonomy.ids:
            p = self.taxonomy.get(sid)
            rank = match_rank(query, p.id, p.name) if query.strip() else (0, 0)
            if rank is not None:
                scored.append((rank, sid, p.name))
        options = self.query_one("#styles", OptionList)
        options.clear_options()
        options.add_options([Option(f"{sid}  {name}", id=sid) for _, sid, name in sorted(scored)])
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refresh(event.value)

    def action_move(self, delta: int) -> None:
        options = self.query_one("#styles", OptionList)
        if options.option_count:
            options.highlighted = max(0, min(options.option_count - 1, (options.highlighted or 0) + delta))

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        options = self.query_one("#styles", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
