"""Playback for Textual apps: the dashboard and ``lofi listen run`` share it."""

from __future__ import annotations

from pathlib import Path

from textual import work

from engine.audio.playback import Player


class PlaybackMixin:
    """An app with a ``player``: decoding happens in a worker, errors become notifications, and a machine
    without audio output is told so once (the player still keeps position, seeks and loops)."""

    player: Player
    _told_no_audio = False

    def play(self, path: Path, start: float = 0.0, gain_db: float = 0.0) -> None:
        """Play a file from ``start`` seconds."""
        self._tell_if_silent()
        self._in_background(self.player.play, path, start=start, gain_db=gain_db)

    def switch(self, path: Path, gain_db: float = 0.0) -> None:
        """Swap the playing clip for ``path`` at the same position (A/B comparisons)."""
        self._tell_if_silent()
        self._in_background(self.player.switch, path, gain_db=gain_db)

    def _tell_if_silent(self) -> None:
        if not self.player.available and not self._told_no_audio:
            self.notify(self.player.reason or "no audio output", title="Playback", severity="warning")
            self._told_no_audio = True

    @work(thread=True, exclusive=True, group="playback")
    def _in_background(self, action, path: Path, **options) -> None:
        """Decoding a long MP3 takes a moment: never on the UI thread."""
        try:
            action(path, **options)
        except Exception as exc:  # a bad file or a device that disappears must not take the app down
            self.call_from_thread(self.notify, f"could not play {Path(path).name}: {exc}", severity="error")
