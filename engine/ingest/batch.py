"""Orchestrate an ingest batch: discover files, fan work out to processes, catalog results in order.

Results are consumed in input order, so duplicate detection ("the earlier track wins") and the
catalog are identical whether the batch ran on one worker or many. Results are written to the
catalog in batches (about once a second, see :class:`~engine.catalog.store.CatalogBatch`) and each is
reported only after the write that holds it, so a kill loses nothing reported and at most a second
of finished work, and a second run skips what the first one saved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.audio import fingerprint as fp
from engine.catalog.sources import load_sources
from engine.catalog.store import Catalog, CatalogBatch
from engine.catalog.track import (
    ACCEPTED,
    ERROR,
    FLAG_DUPLICATE,
    FLAG_LOW_QUALITY,
    FLAG_MISSING_LICENSE,
    FLAG_NEEDS_REVIEW,
    SourceRecord,
    Track,
)
from engine.hashing import file_sha256
from engine.ingest.pipeline import Job, Processed, process
from engine.labels.categories import DEFAULT_STYLE, category_for_style
from engine.labels.labelling import refresh_files
from engine.labels.styles import load_styles
from engine.progress import CancelToken, Progress, ProgressCallback, no_progress
from engine.workspace import Workspace

SKIPPED = "skipped"
# Failures that say nothing about the file itself: a re-run processes such files again.
RETRIED_REASONS = frozenset({"worker_died", "internal_error"})
_ID_CHARS = 16


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # accepted | rejected | error | skipped
    reason: str | None  # for a skipped file: the reason of its last error, if it failed before
    message: str | None
    track_id: str | None
    output: str | None  # absolute path of the processed MP3
    quality_score: float | None
    duration_sec: float | None
    duplicate_of: str | None


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)
    cancelled: bool = False

    @property
    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.results), "accepted": 0, "rejected": 0, "error": 0, "skipped": 0, "duplicates": 0}
        for r in self.results:
            counts[r.status] += 1
            counts["duplicates"] += r.duplicate_of is not None
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [r.__dict__ for r in self.results],
            "summary": {**self.summary, "cancelled": self.cancelled},
        }


def discover(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under each path (recursively for directories), sorted, hidden files left out.

    A path that does not exist is yielded as is, so it becomes an ``error`` result with a clear
    message rather than vanishing from the batch.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts):
                    yield p
        else:
            yield path


def content_id(path: Path) -> str:
    """Stable track id: the first 16 hex digits of the source file's SHA-256."""
    return file_sha256(path)[:_ID_CHARS]


def _path_id(path: Path) -> str:
    return "p" + hashlib.sha256(str(path).encode()).hexdigest()[: _ID_CHARS - 1]


def ingest(
    workspace: Workspace,
    paths: Iterable[Path],
    jobs: int | None = None,
    sources: Path | None = None,
    retry_errors: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestReport:
    """Ingest every file under ``paths`` into the workspace; see the module docstring.

    A file already in the catalog is skipped, unless its last result was an error and
    ``retry_errors`` is set (or the error said nothing about the file, e.g. a worker that died).
    """
    cancel = cancel or CancelToken()
    taxonomy = load_styles()  # fail before any work if styles.toml is broken
    records = load_sources(sources) if sources else {}
    catalog = Catalog(workspace.catalog_path)
    files = [p.resolve() if p.exists() else p for p in discover(paths)]
    report = IngestReport()
    known = {t.id: t for t in catalog.all()}
    index = _load_index(workspace, known.values())

    planned: list[tuple[Path, str | None, str | None]] = []  # (source, id, error message)
    for src in files:
        try:
            planned.append((src, content_id(src), None))
        except OSError as exc:
            planned.append((src, None, f"{src.name}: cannot read file ({exc.strerror or exc})"))

    total = len(planned)
    progress(Progress(0, total, "starting"))
    seen_in_batch: set[str] = set()
    jobs = max(1, jobs or os.cpu_count() or 1)

    def record(result: IngestResult) -> None:
        report.results.append(result)
        progress(Progress(len(report.results), total, result.source))

    # Every result goes through the batch, in input order, so none is reported before it is saved.
    batch = CatalogBatch(catalog, lambda track: record(_result(workspace, track)))
    todo: list[Job] = []
    for src, track_id, error in planned:
        if error is not None:
            batch.put(_error_track(src, _path_id(src), error, records))
        elif track_id in seen_in_batch or (track_id in known and not _retry(known[track_id], retry_errors)):
            batch.flush()  # a skip is reported in order, after everything before it is saved
            record(_skipped(workspace, src, track_id, known.get(track_id)))
        else:
            assert track_id is not None  # a source without an error has its content id
            seen_in_batch.add(track_id)
            todo.append(Job(src, track_id,
                            workspace.category_dir(category_for_style(DEFAULT_STYLE)) / f"{track_id}.mp3",
                            workspace.fingerprints_dir / f"{track_id}.npy"))
    batch.flush()

    stale = _stale_by_source(known.values())
    try:
        for done in _run_jobs(todo, jobs, cancel):
            if done is None:
                report.cancelled = True
                break
            track = _track_from(done, workspace, records.get(done.job.source.name.lower()))
            if track.status == ACCEPTED:
                match = index.best_match(fp.load(done.job.fingerprint))
                if match is not None:
                    title = known[match.track_id].title if match.track_id in known else match.track_id
                    track.duplicate_of = match.track_id
                    track.set_flag(FLAG_DUPLICATE)
                    track.message = (
                        f"{done.job.source.name}: duplicate of {match.track_id} ({title}); "
                        f"fingerprint bit error rate {match.ber:.2f}, offset {match.offset_sec:+.1f} s"
                    )
                index.add(track.id, fp.load(done.job.fingerprint))
                refresh_files(workspace, track, taxonomy)
            batch.put(track, replaces=stale.get(str(done.job.source)))
            known[track.id] = track
    finally:
        batch.flush()
    return report


def _retry(track: Track, retry_errors: bool) -> bool:
    """Whether a file already in the catalog is processed again."""
    return track.reason in RETRIED_REASONS or (retry_errors and track.status == ERROR)


def _skipped(workspace: Workspace, src: Path, track_id: str, existing: Track | None) -> IngestResult:
    if existing is None:
        message = f"{src.name}: same content as an earlier file in this batch"
    elif existing.status == ERROR:
        last = (existing.message or existing.reason or "unknown").removeprefix(f"{Path(existing.source_path).name}: ")
        message = f"{src.name}: skipped (last error: {last}; use --retry-errors)"
    else:
        message = f"{src.name}: already in the catalog as {track_id}"
    # A skipped failure keeps its reason, so a listing shows why the file is still out.
    reason = existing.reason if existing is not None and existing.status == ERROR else None
    return IngestResult(str(src), SKIPPED, reason, message, track_id,
                        str(workspace.resolve(existing.output)) if existing and existing.output else None,
                        existing.quality_score if existing else None,
                        existing.duration_sec if existing else None,
                        existing.duplicate_of if existing else None)


def _run_jobs(todo: list[Job], jobs: int, cancel: CancelToken) -> Iterator[Processed | None]:
    """Yield processed files in input order; yields None (and stops) when cancelled.

    A worker that dies (killed, out of memory) costs only the file it was working on: that file
    becomes an error result and the rest of the batch goes on in a fresh pool.
    """
    if jobs == 1 or len(todo) <= 1:
        for job in todo:
            if cancel.cancelled:
                yield None
                return
            yield process(job)
        return
    window = jobs * 2  # bounded in-flight work: memory stays a few tracks per worker
    # A fork server is safe from a UI thread, like spawn, but starts each worker as a fork of one process that has
    # loaded the pipeline and the program's main module once ("__main__" in the preload); spawn made every worker
    # import both (~0.8 s of CPU each).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", "engine.ingest.pipeline"])
    remaining = deque(todo)
    while remaining:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            pending: deque[tuple[Job, Future[Processed]]] = deque()
            try:
                while remaining or pending:
                    while remaining and len(pending) < window:
                        job = remaining.popleft()
                        pending.append((job, pool.submit(process, job)))
                    if cancel.cancelled:
                        yield None
                        return
                    job, future = pending.popleft()
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        remaining.extendleft(reversed([j for j, _ in pending]))
                        pending.clear()
                        yield _worker_died(job)
                        break
                    yield result
            finally:
                for _, f in pending:
                    f.cancel()


def _worker_died(job: Job) -> Processed:
    return Processed(job, ERROR, "worker_died",
                     f"{job.source.name}: the worker process died while processing it (killed or out of memory); "
                     "the file was not ingested: run ingest again to retry it")


def _load_index(workspace: Workspace, tracks: Iterable[Track]) -> fp.FingerprintIndex:
    index = fp.FingerprintIndex()
    for t in tracks:
        if t.status == ACCEPTED and t.fingerprint:
            path = workspace.resolve(t.fingerprint)
            if path.exists():
                index.add(t.id, fp.load(path))
    return index


def _stale_by_source(tracks: Iterable[Track]) -> dict[str, str]:
    """Failed records by source path: a fixed file replaces its old error/rejection record."""
    return {t.source_path: t.id for t in tracks if t.status != ACCEPTED}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _title(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name


def _base_flags(track: Track) -> None:
    track.set_flag(FLAG_MISSING_LICENSE, not track.source.licensed)


def _error_track(src: Path, track_id: str, message: str, records: dict[str, SourceRecord]) -> Track:
    track = Track(id=track_id, source_path=str(src), title=_title(src), source_format=src.suffix.lstrip(".").lower(),
                  status=ERROR, reason="corrupt", message=message,
                  source=records.get(src.name.lower(), SourceRecord()), ingested_at=_now())
    _base_flags(track)
    return track


def _track_from(done: Processed, workspace: Workspace, source: SourceRecord | None) -> Track:
    job = done.job
    track = Track(
        id=job.track_id,
        source_path=str(job.source),
        title=_title(job.source),
        source_format=done.source_format or job.source.suffix.lstrip(".").lower(),
        status=done.status,
        reason=done.reason,
        message=done.message,
        duration_sec=done.duration_sec,
        source_duration_sec=done.source_duration_sec,
        sample_rate=done.sample_rate,
        channels=done.channels,
        quality_score=done.quality_score,
        quality=done.quality,
        source=source or SourceRecord(),
        ingested_at=_now(),
        trimmed=done.trimmed,
    )
    _base_flags(track)
    if done.status == ACCEPTED:
        track.output = workspace.relative(job.output)
        track.fingerprint = workspace.relative(job.fingerprint)
        track.styles = [DEFAULT_STYLE]
        track.category = category_for_style(DEFAULT_STYLE)
        track.set_flag(FLAG_NEEDS_REVIEW)
        track.set_flag(FLAG_LOW_QUALITY, done.low_quality)
        if done.musical is not None:
            track.bpm, track.key, track.time_signature = done.musical.bpm, done.musical.key, done.musical.time_signature
    return track


def _result(workspace: Workspace, track: Track) -> IngestResult:
    return IngestResult(
        source=track.source_path,
        status=track.status,
        reason=track.reason,
        message=track.message,
        track_id=track.id,
        output=str(workspace.resolve(track.output)) if track.output else None,
        quality_score=track.quality_score,
        duration_sec=track.duration_sec,
        duplicate_of=track.duplicate_of,
    )
