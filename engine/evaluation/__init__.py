"""Checkpoint evaluation: per-style generations, FAD/FAD-inf, CLAP score, style distinctness, best checkpoint."""
