"""Playback for Textual apps: the dashboard and ``lofi listen run`` share it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

if TYPE_CHECKING:
    from engine.audio.playback import Player  # numpy: loaded when something first plays


class PlaybackMixin:
    """An app with a ``player``: decoding happens in a worker whose errors go through the app's worker policy
    (a notification, never a crash). Without audio output every press of play says so (a switch does not:
    the player still keeps position, seeks and loops, so screens behave the same)."""

    player: Player

    def play(self, path: Path, start: float = 0.0, gain_db: float = 0.0) -> None:
        """Play a file from ``start`` seconds."""
        if not self.player.available:
            self.notify(self.player.reason or "no audio output", title="Playback", severity="warning")
        self._in_background(self.player.play, path, start=start, gain_db=gain_db)

    def switch(self, path: Path, gain_db: float = 0.0) -> None:
        """Swap the playing clip for ``path`` at the same position (A/B comparisons)."""
        self._in_background(self.player.switch, path, gain_db=gain_db)

    @work(thread=True, exclusive=True, group="playback", exit_on_error=False, name="playing a track")
    def _in_background(self, action, path: Path, **options) -> None:
        """Decoding a long MP3 takes a moment: never on the UI thread."""
        action(path, **options)
