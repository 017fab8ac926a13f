"""Labelling: the style taxonomy, categories, prompts, lyrics, label edits and the training dataset folder."""
