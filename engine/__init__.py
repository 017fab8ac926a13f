"""Headless core of lofi-tui: catalog, ingest, styles, training, evaluation and export.

Nothing in this package imports Textual or Rich, or prints: callers (the CLI and the dashboard)
get typed results, progress callbacks and :class:`engine.errors.LofiError` messages.
"""

__version__ = "0.1.0"
