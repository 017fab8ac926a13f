"""The TinyDB catalog of tracks, with crash-safe storage and a cross-process lock.

Every write replaces the whole JSON file atomically (see :mod:`engine.atomic`), so a process killed
at any instant leaves the previous or the new catalog, and whatever a call reported as saved has
been fsynced. Read-modify-write sequences hold an ``flock`` so the CLI and the dashboard can edit
the same workspace at once without losing each other's changes.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from engine.atomic import atomic_write_json
from engine.catalog.query import term_matches
from engine.catalog.track import Track
from engine.errors import TrackNotFound, WorkspaceError

TABLE = "tracks"


class AtomicJSONStorage(Storage):
    """TinyDB storage that reads the file on every access and writes it with rename-over."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> dict | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise WorkspaceError(
                f"catalog {self.path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                "it was edited by hand or by another tool: restore it from a backup"
            ) from exc

    def write(self, data: dict) -> None:
        # Compact JSON: the catalog is rewritten on every change and may hold 10,000 tracks.
        atomic_write_json(self.path, data, indent=None)

    def close(self) -> None:
        pass


class _TrackTable(Table):
    """Documents keyed by track id, so concurrent writers never collide on TinyDB's counters."""

    document_id_class = str


class _CatalogDB(TinyDB):
    table_class = _TrackTable


class Catalog:
    """All tracks of one workspace."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _CatalogDB(self.path, storage=AtomicJSONStorage)
        self._storage: AtomicJSONStorage = self._db.storage
        self._table = self._db.table(TABLE, cache_size=0)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    @contextmanager
    def transaction(self) -> Iterator[Catalog]:
        """Hold the cross-process lock for a read-modify-write sequence (re-entrant)."""
        with self._thread_lock:
            if self._depth == 0:
                self._lock_fd = os.open(self._lock_path, os.O_CREAT | os.O_RDWR, 0o644)
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    # -- reads -------------------------------------------------------------------------------

    def all(self) -> list[Track]:
        return [Track.from_dict(doc) for doc in self._table.all()]

    def get(self, track_id: str) -> Track | None:
        doc = self._table.get(doc_id=track_id)
        return Track.from_dict(doc) if doc else None

    def __len__(self) -> int:
        return len(self._table)

    def find(self, ref: str) -> Track:
        """Resolve a user's reference: full id, unique id prefix, source file name, title, or part of a title."""
        exact = self.get(ref)
        if exact:
            return exact
        tracks = self.all()
        matches = [t for t in tracks if t.id.startswith(ref)] if len(ref) >= 4 else []
        if not matches:
            matches = [t for t in tracks if Path(t.source_path).name == ref or t.title == ref]
        if not matches:
            needle = ref.lower()
            matches = [t for t in tracks if needle in t.title.lower()]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise TrackNotFound(f"no track matches {ref!r}; use an id (or its first 4+ characters) from `lofi tracks`")
        ids = ", ".join(t.id[:12] for t in matches[:5])
        raise TrackNotFound(f"{ref!r} matches {len(matches)} tracks ({ids}...); give more of the id")

    def select(
        self,
        status: str | None = None,
        style: str | None = None,
        flag: str | None = None,
        split: str | None = None,
        category: str | None = None,
    ) -> list[Track]:
        terms = {"status": status, "style": style, "flag": flag, "split": split, "category": category}
        return [t for t in self.all() if all(term_matches(t, k, v) for k, v in terms.items() if v)]

    # -- writes ------------------------------------------------------------------------------

    def put(self, track: Track) -> None:
        """Insert or replace one track; durable when this returns."""
        self.put_many([track])

    def put_many(self, tracks: Iterable[Track]) -> None:
        """Insert or replace several tracks in one atomic catalog write."""
        self._write(lambda table: table.update({t.id: t.to_dict() for t in tracks}))

    def update(self, track_id: str, change: Callable[[Track], None]) -> Track:
        """Apply ``change`` to the stored track under the lock and save it."""
        with self.transaction():
            track = self.get(track_id)
            if track is None:
                raise TrackNotFound(f"track {track_id} is not in the catalog")
            change(track)
            self.put(track)
            return track

    def remove(self, track_id: str) -> None:
        self._write(lambda table: table.pop(track_id, None))

    def _write(self, change: Callable[[dict], object]) -> None:
        with self.transaction():
            data = self._storage.read() or {}
            change(data.setdefault(TABLE, {}))
            self._storage.write(data)
