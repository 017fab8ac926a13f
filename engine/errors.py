"""Exception types whose messages are written for the person at the keyboard."""


class LofiError(Exception):
    """Base of every error the engine raises on purpose; the message says what to do."""


class WorkspaceError(LofiError):
    """The workspace directory or its catalog cannot be used."""


class TrackNotFound(LofiError):
    """A track reference matched nothing (or more than one track)."""


class AudioError(LofiError):
    """An audio file could not be decoded or encoded.

    ``reason`` is the snake_case code stored on the track (``corrupt``, ``unsupported_format``).
    """

    def __init__(self, message: str, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.reason = reason


class LabelError(LofiError):
    """A labelling request (style, lyrics, flag, language, rating) that cannot be applied as given."""


class SourcesError(LofiError):
    """A --sources sidecar (CSV or JSON) is malformed."""


class Cancelled(LofiError):
    """Long work was cancelled by the user; what was finished is kept."""
