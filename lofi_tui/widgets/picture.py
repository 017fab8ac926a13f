"""Render a :class:`engine.audio.picture.TrackPicture` with block characters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from engine.audio.picture import TrackPicture  # numpy: not needed to draw one

_BARS = " ▁▂▃▄▅▆▇█"
_SHADES = " ░▒▓█"


def render_picture(picture: TrackPicture) -> Text:
    text = Text()
    text.append("".join(_BARS[int(v * (len(_BARS) - 1))] for v in picture.envelope) + "\n", style="cyan")
    for row in picture.spectrogram:
        text.append("".join(_SHADES[int(v * (len(_SHADES) - 1))] for v in row) + "\n", style="magenta")
    return text
