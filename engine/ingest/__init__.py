"""Ingest: decode, gate, process, fingerprint and catalog a batch of audio files.

batch.py runs a batch (the catalog side); pipeline.py is what a worker process runs for one file. The package
imports neither, so a worker loads only the pipeline's modules and none of the catalog's.
"""
