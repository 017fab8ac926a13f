"""Small modal dialogs shared by screens: a one-line prompt and a fuzzy style picker."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, OptionList
from textual.widgets.option_list import Option

from engine.labels.styles import Taxonomy


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with the text, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question, self.value, self.placeholder = question, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question)
            yield Input(self.value, placeholder=self.placeholder, id="answer")

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

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Import audio from a file or folder:")
            yield Input(placeholder="~/music/licensed", id="answer")
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


class StylePicker(ModalScreen[str | None]):
    """Type to narrow the 38 presets (fuzzy on id and name); enter picks."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, taxonomy: Taxonomy, title: str) -> None:
        super().__init__()
        self.taxonomy, self.title_text = taxonomy, title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            yield Input(placeholder="type to search, e.g. 'rain' or 'vocal-02'", id="query")
            yield OptionList(id="styles")

    def on_mount(self) -> None:
        self._refresh("")

    def _refresh(self, query: str) -> None:
        scored = []
        for sid in self.taxonomy.ids:
            p = self.taxonomy.get(sid)
            score = fuzzy_score(query, f"{p.id} {p.name}") if query else 0
            if score is not None:
                scored.append((score, sid, p.name))
        options = self.query_one("#styles", OptionList)
        options.clear_options()
        options.add_options([Option(f"{sid}  {name}", id=sid) for _, sid, name in sorted(scored)])
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refresh(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        options = self.query_one("#styles", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
