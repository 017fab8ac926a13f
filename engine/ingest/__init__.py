"""Ingest: decode, gate, process, fingerprint and catalog a batch of audio files."""

from engine.ingest.batch import IngestReport, IngestResult, discover, ingest

__all__ = ["IngestReport", "IngestResult", "discover", "ingest"]
