"""2 Review: one track at a time from the queue of tracks that need a person, all keyboard.

Every change goes through the engine's labelling functions at once (files moved, prompt and lyrics
rewritten, catalog saved). Changes are written by one writer thread, in the order they were made, so a
quick ``a`` then ``u`` never interleave; ``u`` undoes the last change by restoring the track's previous
record and files.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Header, Static

from engine.catalog.query import review_queue
from engine.catalog.store import Catalog
from engine.catalog.track import USER_FLAGS, Track
from engine.errors import LofiError
from engine.labels.labelling import LabelChange, apply_label, lyrics_text, save_labelled
from engine.labels.styles import load_styles
from screens.base import LofiScreen, StatusLine
from screens.dialogs import PromptDialog, StylePicker


class QueueLoaded(Message):
    def __init__(self, tracks: list[Track]) -> None:
        super().__init__()
        self.tracks = tracks


class Applied(Message):
    """A change was saved; ``before`` is what undo restores (None for an undo itself)."""

    def __init__(self, track: Track, before: Track | None) -> None:
        super().__init__()
        self.track, self.before = track, before


class EditFailed(Message):
    def __init__(self, error: LofiError) -> None:
        super().__init__()
        self.error = error


@dataclass(frozen=True)
class Edit:
    track_id: str
    change: LabelChange | None = None  # None: restore ``snapshot``
    snapshot: Track | None = None


class ReviewScreen(LofiScreen):
    TITLE = "2 Review"
    BINDINGS = [
        # The Footer shows the review loop and fits 80 columns; the status line lists the other keys.
        Binding("space", "play", "Play", id="review.play"),
        Binding("a", "approve", "Approve", id="review.approve"),
        Binding("x", "exclude", "Exclude", id="review.exclude"),
        Binding("s", "styles", "Style", id="review.styles"),
        Binding("u", "undo", "Undo", id="review.undo"),
        Binding("S", "add_style", "Add style", show=False, id="review.add_style"),
        Binding("t", "tags", "Tags", show=False, id="review.tags"),
        Binding("i", "instrumental", "Instrumental", show=False, id="review.instrumental"),
        Binding("l", "lyrics", "Lyrics", show=False, id="review.lyrics"),
        Binding("r", "rate", "Rate", show=False, id="review.rate"),
        Binding("f", "flag", "Flag", show=False, id="review.flag"),
        Binding("n,j", "next", "Next", show=False, id="review.next"),
        Binding("p,k", "previous", "Previous", show=False, id="review.previous"),
    ]
    MORE_KEYS = " · ".join(f"{b.key.split(',')[0]} {b.description.lower()}" for b in BINDINGS if not b.show)

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[Track] = []
        self.position = 0
        self.undo: list[Track] = []
        self.taxonomy = load_styles()
        self._edits: deque[Edit] = deque()
        self._writing = False  # a writer thread is draining ``_edits``
        self._lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading the review queue...", id="review-card")
        yield StatusLine(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.load_queue()

    def on_screen_resume(self) -> None:
        self.load_queue()

    @work(thread=True, exclusive=True, group="review-load", exit_on_error=False, name="loading the review queue")
    def load_queue(self) -> None:
        self.post_message(QueueLoaded(review_queue(Catalog(self.app.workspace.catalog_path).all())))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        current = self.current_track.id if self.current_track else None
        self.queue = message.tracks
        ids = [t.id for t in self.queue]
        self.position = ids.index(current) if current in ids else min(self.position, max(0, len(ids) - 1))
        self._render_card()

    @property
    def current_track(self) -> Track | None:
        return self.queue[self.position] if 0 <= self.position < len(self.queue) else None

    def _render_card(self) -> None:
        card = self.query_one("#review-card", Static)
        t = self.current_track
        if t is None:
            card.update("Nothing needs review. New imports land here with the needs_review flag.")
            self.status("")
            return
        text = Text()
        text.append(f"{t.title}\n", style="bold")
        text.append(f"{t.id} · {t.category} · score {t.quality_score} · {t.duration_sec or 0:.0f} s\n\n")
        text.append("Flags   ", style="bold")
        text.append((" ".join(t.flags) or "none") + "\n", style="yellow" if t.flags else "green")
        if t.duplicate_of:
            text.append(f"Duplicate of {t.duplicate_of}\n", style="yellow")
        text.append("Styles  ", style="bold")
        text.append(", ".join(f"{s} {self.taxonomy.get(s).name}" for s in t.styles) + "\n")
        text.append("Tags    ", style="bold")
        edits = [f"+{tag}" for tag in t.tag_edits.add] + [f"-{tag}" for tag in t.tag_edits.remove]
        text.append((", ".join(edits) or "no edits") + "\n")
        text.append("Prompt  ", style="bold")
        text.append((t.prompt or "-") + "\n")
        text.append("Vocals  ", style="bold")
        text.append({True: "instrumental (set)", False: "with lyrics (set)"}.get(
            t.instrumental, "not set: follows the style (i marks it instrumental)") + "\n")
        text.append("Lyrics  ", style="bold")
        text.append((lyrics_text(t, self.taxonomy) or "none yet (needed: vocal style)") + "\n")
        text.append("License ", style="bold")
        text.append((t.source.license or "none recorded") + "\n")
        text.append("Rating  ", style="bold")
        text.append(" ".join(f"{r.rating}/5 ({r.by})" for r in t.ratings) or "-")
        card.update(text)
        self.status(f"track {self.position + 1} of {len(self.queue)} · {len(self.undo)} change(s) to undo · "
                    f"{self.MORE_KEYS}")

    # -- changes: one writer, in order -------------------------------------------------------

    def _change(self, change: LabelChange) -> None:
        if self.current_track is not None:
            self._write(Edit(self.current_track.id, change=change))

    def _write(self, edit: Edit) -> None:
        with self._lock:
            self._edits.append(edit)
            if self._writing:
                return  # the running writer takes it next
            self._writing = True
        self.write_edits()

    @work(thread=True, group="review-write", exit_on_error=False, name="saving a review change")
    def write_edits(self) -> None:
        """Apply queued edits one after another, in the order they were made, then end."""
        try:
            while True:
                with self._lock:
                    if not self._edits:
                        self._writing = False
                        return
                    edit = self._edits.popleft()
                self._apply(edit)
        except BaseException:
            with self._lock:  # the policy reports the error; the next edit starts a new writer
                self._writing = False
            raise

    def _apply(self, edit: Edit) -> None:
        catalog = Catalog(self.app.workspace.catalog_path)
        try:
            if edit.snapshot is not None:
                save_labelled(self.app.workspace, catalog, self.taxonomy, edit.snapshot)
                self.post_message(Applied(edit.snapshot, None))
            elif edit.change is not None:
                before = copy.deepcopy(catalog.get(edit.track_id))
                after = apply_label(self.app.workspace, catalog, self.taxonomy, edit.track_id, edit.change)
                self.post_message(Applied(after, before))
        except LofiError as exc:  # this edit is refused; the next ones still apply
            self.post_message(EditFailed(exc))

    def on_edit_failed(self, message: EditFailed) -> None:
        self.notify(str(message.error), title="Not saved", severity="error")

    def on_applied(self, message: Applied) -> None:
        if message.before is not None:
            self.undo.append(message.before)
        self.queue = [message.track if t.id == message.track.id else t for t in self.queue]
        self._render_card()

    def action_undo(self) -> None:
        if not self.undo:
            self.notify("nothing to undo")
            return
        snapshot = self.undo.pop()
        ids = [t.id for t in self.queue]
        if snapshot.id in ids:
            self.position = ids.index(snapshot.id)
        self._write(Edit(snapshot.id, snapshot=snapshot))

    def action_styles(self) -> None:
        def picked(style: str | None) -> None:
            if style and self.current_track:
                rest = [s for s in self.current_track.styles if s != style and s != "CORE-01"]
                self._change(LabelChange(styles=[style, *rest]))

        self.app.push_screen(StylePicker(self.taxonomy, "Primary style (the others stay as secondary):"), picked)

    def action_add_style(self) -> None:
        def picked(style: str | None) -> None:
            if style and self.current_track and style not in self.current_track.styles:
                self._change(LabelChange(styles=[*self.current_track.styles, style]))

        self.app.push_screen(StylePicker(self.taxonomy, "Add a secondary style:"), picked)

    def action_tags(self) -> None:
        self._ask("Tag edits, e.g. +rain sounds,-vinyl crackle", lambda v: LabelChange(tags=v))

    def action_lyrics(self) -> None:
        self._ask("Lyrics (use | for new lines, e.g. [Verse]|line one|line two)",
                  lambda v: LabelChange(lyrics=v.replace("|", "\n")))

    def action_rate(self) -> None:
        def rating(value: str) -> LabelChange | None:
            if value.strip() in {"1", "2", "3", "4", "5"}:
                return LabelChange(rating=int(value))
            self.notify("a rating is a number from 1 to 5", severity="warning")
            return None

        self._ask("Rating 1-5", rating)

    def action_flag(self) -> None:
        def toggle(value: str) -> LabelChange | None:
            flag = value.strip().lower().replace(" ", "_")
            if not flag or self.current_track is None:
                return None
            on = flag not in self.current_track.flags
            return LabelChange(flags_on=[flag] if on else [], flags_off=[] if on else [flag])

        self._ask("Flag to set or clear:", toggle, choices=USER_FLAGS)

    def _ask(self, question: str, make: Callable[[str], LabelChange | None], choices: tuple[str, ...] = ()) -> None:
        def answered(value: str | None) -> None:
            if value is not None and self.current_track is not None:
                change = make(value)
                if change is not None:
                    self._change(change)

        self.app.push_screen(PromptDialog(question, choices=choices), answered)

    def action_instrumental(self) -> None:
        if self.current_track:
            self._change(LabelChange(instrumental=not self.current_track.instrumental))

    def action_approve(self) -> None:
        self._change(LabelChange(flags_off=["needs_review", "excluded"]))
        self.action_next()

    def action_exclude(self) -> None:
        self._change(LabelChange(flags_on=["excluded"]))
        self.action_next()

    def action_next(self) -> None:
        if self.queue:
            self.position = min(self.position + 1, len(self.queue) - 1)
            self._render_card()

    def action_previous(self) -> None:
        if self.queue:
            self.position = max(self.position - 1, 0)
            self._render_card()

    def action_play(self) -> None:
        if self.current_track and self.current_track.output:
            self.app.play(self.app.workspace.resolve(self.current_track.output))
