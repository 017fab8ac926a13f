"""What every dashboard screen shares: the app's worker policy, a status bar above the Footer, and ``escape``.

``escape`` always leaves a text field (focus goes to the screen's main widget, so the number keys switch
screens again); with no field focused it does the screen's own escape action, if any.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea
from textual.worker import Worker


class StatusLine(Static):
    """One line between the screen's body and the Footer (the Footer docks; this does not, so it stays visible)."""

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)  # it shows file names and filter terms as typed


class LofiScreen(Screen):
    MAIN = ""  # the widget that gets focus when escape leaves a text field
    BINDINGS = [Binding("escape", "leave_field", "Leave field", show=False, id="screen.escape")]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual calls this for every screen class that defines the handler, base classes included: a
        # subclass adds its own handler and never calls this one (it would report each failure twice).
        self.app.worker_failed(event)  # type: ignore[attr-defined]

    def action_leave_field(self) -> None:
        if isinstance(self.focused, (Input, TextArea)):
            if self.MAIN:
                self.query_one(self.MAIN).focus()
            else:
                self.set_focus(None)
        else:
            self.escape()

    def escape(self) -> None:
        """What escape does when no text field has focus."""

    def status(self, text: str) -> None:
        self.query_one(StatusLine).update(text)
