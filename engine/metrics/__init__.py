"""Audio embeddings and the metrics built on them (FAD, FAD-inf, CLAP score)."""
