"""Small modal dialogs shared by screens: a one-line prompt (with optional completion), a form, a confirmation,
a report, the import dialog and a style picker.

Every dialog sits in a scrolling container that fits an 80x24 terminal; questions and choices are plain
text, never markup (a lyrics hint shows ``[Verse]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester, SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
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
class Field:
    """One line of a :class:`FormDialog`: a text field, or a checkbox when ``value`` is a bool."""

    name: str
    label: str
    value: str | bool = ""
    placeholder: str = ""
    paths: bool = False  # complete file and folder names (right arrow)
    choices: tuple[str, ...] = ()  # complete from these


FormValues = dict[str, str | bool]


class FormDialog(ModalScreen[FormValues | None]):
    """A few labelled fields; enter in any field submits. ``validate`` (the engine's own checks) returns a
    message for values it refuses: the dialog shows it and stays open with what was typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel")]

    def __init__(self, title: str, fields: Iterable[Field], *, note: str = "", enter: str = "saves",
                 validate: Callable[[FormValues], str | None] | None = None) -> None:
        super().__init__()
        self.title_text, self.fields, self.note, self.validate = title, tuple(fields), note, validate
        self.enter = enter  # what enter does, for the hint: "saves", "builds", ...

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog form"):
            yield Label(self.title_text, markup=False, classes="form-title")
            yield Static("", id="form-error", markup=False)
            for f in self.fields:
                if isinstance(f.value, bool):
                    yield Checkbox(f.label, f.value, id=f"field-{f.name}", compact=True)
                    continue
                suggester = (PathSuggester() if f.paths else
                             SuggestFromList(f.choices, case_sensitive=False) if f.choices else None)
                with Horizontal(classes="form-row"):
                    yield Label(f.label, markup=False)
                    yield Input(f.value, placeholder=f.placeholder, id=f"field-{f.name}", suggester=suggester,
                                compact=True)
            hint = f"enter {self.enter} · tab next field · escape cancels"
            if any(f.paths or f.choices for f in self.fields):
                hint += " · right arrow completes"
            yield Static(f"{self.note}\n{hint}" if self.note else hint, markup=False, classes="hint")

    def on_mount(self) -> None:
        self.query(Input).first().focus()  # not the scrolling container: enter must submit

    def values(self) -> FormValues:
        return {f.name: self.query_one(f"#field-{f.name}").value for f in self.fields}  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = self.values()
        problem = self.validate(values) if self.validate else None
        if problem:
            self.query_one("#form-error", Static).update(problem)
            self.query_one("#form-error").add_class("shown")
            self.query_one(".dialog").scroll_home(animate=False)
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question that says what will happen; ``y`` (or the button) confirms, ``n``/escape keep things."""

    BINDINGS = [Binding("escape,n", "answer(False)", "Keep", id="confirm.no"),
                Binding("y", "answer(True)", "Yes", id="confirm.yes")]
    AUTO_FOCUS = "#confirm-no"  # enter on the default does nothing harmful

    def __init__(self, question: str, yes: str) -> None:
        super().__init__()
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(self.question, markup=False)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes", compact=True)
                yield Button("Keep it (n)", id="confirm-no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ReportDialog(ModalScreen[None]):
    """The summary a command prints, as plain text that scrolls (a dataset build lists every style)."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="report.close")]

    def __init__(self, title: str, lines: Iterable[str]) -> None:
        super().__init__()
        self.title_text, self.lines = title, list(lines)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label(self.title_text, markup=False, classes="form-title")
            yield Static("\n".join(self.lines), markup=False, id="report-text")
            yield Static("escape or enter closes", classes="hint")


@dataclass(frozen=True)
class ImportRequest:
    path: str
    retry_errors: bool
    sources: str = ""  # a CSV/JSON sidecar, as ``lofi ingest --sources``


class ImportDialog(ModalScreen[ImportRequest | None]):
    """Ask for a file or folder to import, with ``lofi ingest``'s ``--sources`` and ``--retry-errors``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="import.cancel")]
    AUTO_FOCUS = "#answer"  # not the scrolling container: enter must submit the path

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Label("Import audio from a file or folder:")
            yield Input(placeholder="~/music/licensed", id="answer", suggester=PathSuggester())
            yield Static("Sources sidecar (optional: CSV or JSON with provider, license, cost... per file name):",
                         markup=False)
            yield Input(placeholder="~/music/purchases.csv", id="sources", suggester=PathSuggester())
            yield Static("right arrow completes a path · tab next field · enter imports", markup=False,
                         classes="hint")
            yield Checkbox("Retry files whose last import failed", id="retry-errors")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(ImportRequest(self.query_one("#answer", Input).value,
                                   self.query_one("#retry-errors", Checkbox).value,
                                   self.query_one("#sources", Input).value.strip()))

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
