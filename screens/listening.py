"""5 Listening: blind ABX, preference and "which is real?" tests, and the session that takes one.

During a session the screen shows "trial k of n" and never the running score or which source is
which; the report (identities included) appears when the last trial is answered. ``lofi listen run``
opens the same session screen on its own (:class:`ListenApp`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, ProgressBar, Select, Static

from engine.audio.playback import Player, open_player
from engine.errors import LofiError
from engine.listening.design import KIND_NAMES, KINDS, all_tests
from engine.listening.report import report_for, report_lines
from engine.listening.session import Feedback, Session
from engine.progress import CancelToken, Progress
from lofi_tui.playback import PlaybackMixin
from lofi_tui.workers import WorkerPolicy
from screens.base import LofiScreen, StatusLine

SEEK_SEC = 2.0
KEYS = ("listen: a  b  x · space pause · ←/→ ±2 s · home restart · [ ] loop start/end · l no loop\n"
        "answer: A  B  (N no preference) then enter · escape leaves (resume any time)")


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


class AnswerSaved(Message):
    def __init__(self, feedback: Feedback | None, error: str | None = None) -> None:
        super().__init__()
        self.feedback, self.error = feedback, error


class SessionScreen(LofiScreen):
    """One trial at a time. The player is the app's; switching keeps the position and the loop."""

    TITLE = "5 Listening"
    BINDINGS = [
        Binding("a", "listen('A')", "Listen A", id="session.a"),
        Binding("b", "listen('B')", "Listen B", id="session.b"),
        Binding("x", "listen('X')", "Listen X", id="session.x"),
        Binding("space", "pause", "Pause", id="session.pause"),
        Binding("left", "seek(-1)", "Back", show=False, id="session.back"),
        Binding("right", "seek(1)", "Forward", show=False, id="session.forward"),
        Binding("home", "restart", "Restart", show=False, id="session.restart"),
        Binding("left_square_bracket", "loop_start", "Loop start", show=False, id="session.loop_start"),
        Binding("right_square_bracket", "loop_end", "Loop end", show=False, id="session.loop_end"),
        Binding("l", "clear_loop", "No loop", show=False, id="session.clear_loop"),
        Binding("A", "choose('A')", "Answer A", id="session.answer_a"),
        Binding("B", "choose('B')", "Answer B", id="session.answer_b"),
        Binding("N", "choose('none')", "No preference", show=False, id="session.answer_none"),
        Binding("enter", "confirm", "Confirm", id="session.confirm"),
        Binding("escape", "leave", "Leave", id="session.leave"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.label: str | None = None  # what is playing
        self.choice: str | None = None
        self.saving = False
        self._loop_start: float | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="session"):
            yield Static(id="session-title")
            yield Static(id="session-sources")
            yield Static(id="session-question")
            yield Static(id="session-player")
            yield Static(id="session-choice")
            yield Static(KEYS, id="session-keys")
        yield Footer()

    @property
    def player(self) -> Player:
        return self.app.player

    def on_mount(self) -> None:
        if self.session.note:
            self.notify(self.session.note, severity="warning")
        self._show_trial()
        self.set_interval(0.2, self.refresh_player)

    def _show_trial(self) -> None:
        test, view = self.session.test, self.session.current()
        self.choice = None
        if view is None:
            self._show_finished()
            return
        phase = f"practice {view.number} of {view.of} (not counted)" if view.practice else f"trial {view.number} of {view.of}"
        self.query_one("#session-title", Static).update(f"{KIND_NAMES[test.kind]} · {test.listener} · {phase}")
        sources = (f"A = {test.a['spec']}   B = {test.b['spec']}   X = A or B" if test.kind == "abx" else
                   "A and B are hidden: each trial draws their order afresh")
        self.query_one("#session-sources", Static).update(sources)
        self.query_one("#session-question", Static).update(view.question)
        self.query_one("#session-choice", Static).update("your answer: -")
        self.refresh_player()

    def _show_finished(self) -> None:
        self.player.stop()
        self.label = None
        report = report_for(self.session.test)
        self.query_one("#session-title", Static).update(f"{KIND_NAMES[self.session.test.kind]} · finished, thank you")
        self.query_one("#session-sources", Static).update("\n".join(report_lines(report)))
        for name in ("#session-question", "#session-player", "#session-choice"):
            self.query_one(name, Static).update("")
        self.query_one("#session-keys", Static).update("escape: back")

    def refresh_player(self) -> None:
        if self.session.finished:
            return
        if self.label is None:
            line = "nothing playing: press a, b" + (" or x" if self.session.test.kind == "abx" else "")
        else:
            state = "▶" if self.player.playing else "‖"
            loop = self.player.loop
            line = (f"{state} {self.label}  {_clock(self.player.position())} / {_clock(self.session.test.duration)}"
                    + (f"  loop {_clock(loop[0])}-{_clock(loop[1])}" if loop else ""))
        self.query_one("#session-player", Static).update(line)

    def action_listen(self, label: str) -> None:
        view = self.session.current()
        if view is None or label not in view.clips:
            return
        if self.label is None:
            self.app.play(view.clips[label])
        else:
            self.app.switch(view.clips[label])
        self.label = label

    def action_pause(self) -> None:
        if self.player.playing:
            self.player.pause()
        else:
            self.player.resume()

    def action_seek(self, direction: int) -> None:
        self.player.seek(self.player.position() + direction * SEEK_SEC)

    def action_restart(self) -> None:
        self.player.seek(self.player.loop[0] if self.player.loop else 0.0)

    def action_loop_start(self) -> None:
        self._loop_start = self.player.position()
        self.notify(f"loop starts at {_clock(self._loop_start)}; ] sets its end")

    def action_loop_end(self) -> None:
        start, end = self._loop_start or 0.0, self.player.position()
        try:
            self.player.set_loop(start, end)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")

    def action_clear_loop(self) -> None:
        self.player.set_loop(None)

    def action_choose(self, choice: str) -> None:
        view = self.session.current()
        if view is None or choice not in view.choices:
            return
        self.choice = choice
        text = {"abx": f"X is {choice}", "real": f"{choice} is the real track",
                "preference": "no preference" if choice == "none" else f"I prefer {choice}"}[self.session.test.kind]
        self.query_one("#session-choice", Static).update(f"your answer: {text} · enter confirms")

    def action_confirm(self) -> None:
        if self.choice is None or self.saving or self.session.finished:
            return
        self.saving = True
        self._save(self.choice)

    @work(thread=True, exclusive=True, group="answer", exit_on_error=False, name="saving the answer")
    def _save(self, choice: str) -> None:
        """Appending and fsyncing the answer is disk work: off the UI thread."""
        try:
            self.post_message(AnswerSaved(self.session.answer(choice)))
        except LofiError as exc:
            self.post_message(AnswerSaved(None, str(exc)))

    def on_answer_saved(self, message: AnswerSaved) -> None:
        self.saving = False
        if message.error:
            self.notify(message.error, severity="error")
            return
        if message.feedback is not None:
            verdict = "right" if message.feedback.correct else "wrong"
            self.notify(f"practice: {verdict}, {message.feedback.truth}")
        self.player.stop()
        self.label = None
        self._show_trial()

    def action_leave(self) -> None:
        self.player.stop()
        self.dismiss()


class NewTestDialog(ModalScreen[dict | None]):
    """The fields of ``lofi listen new``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="newtest.cancel")]

    def __init__(self, kind: str = "abx", a: str = "", b: str = "") -> None:
        super().__init__()
        self.kind, self.a, self.b = kind, a, b

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="new-test"):
            yield Label("New blind test (A is the candidate, B the reference)")
            with Grid(id="new-test-form"):
                yield Label("Kind")
                yield Select([(KIND_NAMES[k], k) for k in KINDS], value=self.kind, allow_blank=False, id="kind")
                for name, value, hint in (("a", self.a, "ckpt:RUN/STEP, base:RUN, bundle:PATH"),
                                          ("b", self.b, "... or real:validation"), ("trials", "", "default per kind"),
                                          ("seed", "", "drawn"), ("listener", "", "your login name"),
                                          ("practice", "0", ""), ("duration", "10", "seconds")):
                    yield Label(name.capitalize())
                    yield Input(value, placeholder=hint, id=f"field-{name}")
            yield Button("Create", variant="primary", id="create")

    @on(Button.Pressed, "#create")
    @on(Input.Submitted)
    def submit(self) -> None:
        values = {"kind": self.query_one("#kind", Select).value}
        for name in ("a", "b", "trials", "seed", "listener", "practice", "duration"):
            values[name] = self.query_one(f"#field-{name}", Input).value.strip()
        try:
            for name, kind in (("trials", int), ("seed", int), ("practice", int), ("duration", float)):
                values[name] = kind(values[name]) if values[name] else None
        except ValueError:
            self.notify(f"{name} must be a number", severity="error")
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PrepareProgress(Message):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class Prepared(Message):
    def __init__(self, directory: Path | None, error: str | None = None) -> None:
        super().__init__()
        self.directory, self.error = directory, error


IDLE_HINT = "n: new test · enter: take or resume · v: verify the answer log"
COLUMNS = (("id", "Test"), ("kind", "Kind"), ("a", "A"), ("b", "B"), ("listener", "Listener"), ("done", "Answered"),
           ("verdict", "Verdict"))


class ListeningScreen(LofiScreen):
    TITLE = "5 Listening"
    AUTO_FOCUS = "#tests"
    BINDINGS = [
        Binding("n", "new", "New test", id="listening.new"),
        Binding("enter", "take", "Take / resume", id="listening.take"),
        Binding("v", "verify", "Verify log", id="listening.verify"),
        Binding("r", "reload", "Reload", id="listening.reload"),
        Binding("escape", "cancel", "Cancel preparing", show=False, id="listening.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tests: list = []
        self._cancel: CancelToken | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="listening-body"):
            yield DataTable(id="tests", cursor_type="row", zebra_stripes=True)
            yield Static("", id="listening-detail")
        yield ProgressBar(id="prepare-progress", show_eta=False)
        yield StatusLine(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#tests", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.status(IDLE_HINT)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.tests = all_tests(self.app.workspace)
        table = self.query_one("#tests", DataTable)
        table.clear()
        for test in self.tests:
            report = report_for(test)
            table.add_row(test.id, test.kind, test.a["spec"], test.b["spec"], test.listener,
                          f"{report.answered}/{test.trials}", report.verdict, key=test.id)
        if not self.tests:
            self.query_one("#listening-detail", Static).update(
                "No listening tests yet. Press n, or open one from Checkpoints (4) or Export (6).")

    @on(DataTable.RowHighlighted, "#tests")
    def _show(self, event: DataTable.RowHighlighted) -> None:
        test = next((t for t in self.tests if t.id == event.row_key.value), None)
        if test is not None:
            self.query_one("#listening-detail", Static).update("\n".join(report_lines(report_for(test))))

    @on(DataTable.RowSelected, "#tests")
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_take()  # the table takes enter for itself

    def _selected(self):
        table = self.query_one("#tests", DataTable)
        return self.tests[table.cursor_row] if self.tests and 0 <= table.cursor_row < len(self.tests) else None

    def action_take(self) -> None:
        test = self._selected()
        if test is not None:
            self.app.push_screen(SessionScreen(Session(test)), lambda _=None: self.action_reload())

    def action_verify(self) -> None:
        test = self._selected()
        if test is None:
            return
        result = Session(test).log.verify()
        if result.ok:
            self.notify(f"{test.id}: answer log intact ({result.lines} answers)")
        else:
            self.notify(f"{test.id}: " + "; ".join(result.problems), severity="error", timeout=10)

    def action_new(self, kind: str = "abx", a: str = "", b: str = "") -> None:
        self.app.push_screen(NewTestDialog(kind, a, b), self._create)

    def _create(self, values: dict | None) -> None:
        if not values:
            return
        from engine.listening.prepare import ListeningRequest

        request = ListeningRequest(values["kind"], values["a"], values["b"], values["trials"], values["seed"],
                                   values["listener"] or None, values["practice"] or 0)
        if values["duration"]:
            request = replace(request, duration=values["duration"])
        self._cancel = CancelToken()
        self.query_one("#prepare-progress").add_class("busy")
        self._prepare(request)

    @work(thread=True, exclusive=True, group="prepare", exit_on_error=False, name="preparing the listening test")
    def _prepare(self, request) -> None:
        from engine.listening.prepare import create_test

        try:
            test = create_test(self.app.workspace, request, lambda p: self.post_message(PrepareProgress(p)),
                               self._cancel)
            self.post_message(Prepared(test.dir))
        except LofiError as exc:
            self.post_message(Prepared(None, str(exc)))

    def on_prepare_progress(self, message: PrepareProgress) -> None:
        bar = self.query_one("#prepare-progress", ProgressBar)
        bar.update(total=message.progress.total or None, progress=message.progress.done)
        self.status(message.progress.label)

    def on_prepared(self, message: Prepared) -> None:
        self.query_one("#prepare-progress").remove_class("busy")
        self.status(IDLE_HINT)
        if message.error:
            self.notify(message.error, severity="error", timeout=10)
            return
        self.action_reload()
        self.app.push_screen(SessionScreen(Session.at(message.directory)), lambda _=None: self.action_reload())

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()


class ListenApp(WorkerPolicy, PlaybackMixin, App[None]):
    """``lofi listen run ID``: the session screen on its own, with the dashboard's theme."""

    CSS_PATH = str(Path(__file__).parents[1] / "lofi_tui" / "lofi.tcss")
    TITLE = "lofi listen"

    def __init__(self, session: Session, player: Player | None = None) -> None:
        super().__init__()
        self.session = session
        self.player = player or open_player()

    def on_mount(self) -> None:
        self.push_screen(SessionScreen(self.session), lambda _=None: self.exit())
