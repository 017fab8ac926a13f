"""The one worker policy of every Textual app here (the dashboard and ``lofi listen run``), as Harlequin does it.

Workers run with ``exit_on_error=False`` and post typed messages with their results; when one fails, the error
becomes one notification naming what failed. Nothing a worker does can take an app down.
"""

from __future__ import annotations

import logging

from textual.worker import Worker, WorkerState

from engine.errors import LofiError

log = logging.getLogger("lofi_tui")


class WorkerPolicy:
    """Mixed into an App. Screens forward their workers' state changes here (the message does not bubble)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.worker_failed(event)

    def worker_failed(self, event: Worker.StateChanged) -> None:
        """An error becomes one notification; the app goes on."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        what = event.worker.name or "background work"
        if isinstance(error, LofiError):
            self.notify(str(error), title=f"Failed: {what}", severity="error", timeout=10)
        else:
            log.error("worker %r failed", what, exc_info=error)
            self.notify(f"{type(error).__name__}: {error}", title=f"Unexpected error while {what}",
                        severity="error", timeout=10)

    def notify(self, message: str, **options) -> None:
        """Messages carry file names and paths ("[2019] album/..."): never read them as markup."""
        super().notify(message, **{**options, "markup": False})  # type: ignore[misc]
