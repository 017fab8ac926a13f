"""Blind listening tests: ABX, blind preference and "which is real?", with fixed trials, hidden
identities, level-matched clips, hash-chained answer logs and exact binomial statistics."""
