"""Textual screens, one module each; engine work happens in their workers."""
