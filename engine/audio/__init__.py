"""Audio decoding, encoding, analysis and fingerprinting."""
