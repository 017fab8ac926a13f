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
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, cast

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from engine.atomic import atomic_path
from engine.catalog.query import term_matches
from engine.catalog.track import Track
from engine.errors import TrackNotFound, WorkspaceError

TABLE = "tracks"

Document = dict[str, Any]
Tables = dict[str, MutableMapping[str, Document]]  # table name -> document id -> document


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _line(doc_id: str, doc: Mapping[str, Any]) -> bytes:
    return _dumps(doc_id) + b": " + _dumps(doc)


def _broken(path: Path, exc: json.JSONDecodeError) -> WorkspaceError:
    return WorkspaceError(
        f"catalog {path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
        "it was edited by hand or by another tool: restore it from a backup"
    )


class _Documents(MutableMapping[str, Document]):
    """One table's documents, each kept as its stored JSON line until it is read or replaced.

    A read parses only the documents it touches and a write re-serialises only those, so an edit
    in a catalog of 10,000 tracks costs one file write, not a parse and a dump of every track.
    """

    def __init__(self, lines: dict[str, bytes], path: Path) -> None:
        self._lines = lines  # document id -> b'"id": {...}'; a copy, so changes never reach the cache
        self._docs: dict[str, Document] = {}  # documents read or replaced since: these win over lines
        self._path = path

    def __getitem__(self, key: str) -> Document:
        if key not in self._docs:
            line = self._lines[key]
            try:
                self._docs[key] = json.loads(line[_key_end(line) + 2 :])
            except json.JSONDecodeError as exc:
                raise _broken(self._path, exc) from exc
        return self._docs[key]

    def __setitem__(self, key: str, value: Document) -> None:
        self._lines.setdefault(key, b"")
        self._docs[key] = value

    def __delitem__(self, key: str) -> None:
        del self._lines[key]
        self._docs.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self) -> dict[str, bytes]:
        """Every document as a line; a document that was read is re-serialised (it may have been edited)."""
        return {k: _line(k, self._docs[k]) if k in self._docs else v for k, v in self._lines.items()}


class AtomicJSONStorage(Storage):
    """TinyDB storage: one document per line, rewritten with rename-over, parsed lazily.

    The file stays plain JSON that TinyDB (or any tool) reads::

        {
        "tracks": {
        "id1": {...},
        "id2": {...}
        }
        }

    The lines of the last version read or written are cached and reused while the file's identity
    (device, inode, size, mtime) is unchanged; every write replaces the inode, so another process's
    write is always seen. A file in any other JSON layout (hand-edited, or written before this
    layout) is parsed whole once and written back in this layout on the next change.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cached: tuple[tuple[int, ...], dict[str, dict[str, bytes]]] | None = None

    # TinyDB's Table only reads and writes a table through the mapping protocol, so a lazy mapping stands in
    # for the dict its Storage.read declares.
    def read(self) -> Tables | None:  # type: ignore[override]
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return None
        with fh:
            identity = _identity(os.fstat(fh.fileno()))
            if self._cached is None or self._cached[0] != identity:
                tables = _parse(fh.read(), self.path)
                if tables is None:
                    return None
                self._cached = (identity, tables)
        return {name: _Documents(dict(lines), self.path) for name, lines in self._cached[1].items()}

    def write(self, data: Mapping[str, Mapping[str, Document]]) -> None:
        tables = {name: docs.lines() if isinstance(docs, _Documents) else {k: _line(k, v) for k, v in docs.items()}
                  for name, docs in data.items()}
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                fh.writelines(_layout(tables))
            identity = _identity(os.stat(tmp))  # rename keeps inode, size and mtime
        self._cached = (identity, tables)

    def close(self) -> None:
        pass


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _layout(tables: dict[str, dict[str, bytes]]) -> list[bytes]:
    """The file in a few pieces, written one after another: at 10,000 tracks a copy of every line is most of a
    write's CPU, so the lines are joined once and never joined again into one buffer."""
    pieces = [b"{"]
    for n, (name, lines) in enumerate(tables.items()):
        pieces.append((b",\n" if n else b"\n") + _dumps(name) + b": {")
        if lines:
            pieces += [b"\n", b",\n".join(lines.values())]
        pieces.append(b"\n}")
    pieces.append(b"\n}\n")
    return pieces


def _parse(raw: bytes, path: Path) -> dict[str, dict[str, bytes]] | None:
    """Tables of document lines; None for an empty file."""
    if not raw.strip():
        return None
    tables = _split_lines(raw)
    if tables is not None:
        return tables
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _broken(path, exc) from exc
    return {name: {k: _line(k, v) for k, v in docs.items()} for name, docs in data.items()}


def _split_lines(raw: bytes) -> dict[str, dict[str, bytes]] | None:
    """Split our one-document-per-line layout without parsing the documents; None for any other layout."""
    lines = raw.split(b"\n")
    if len(lines) < 3 or lines[0] != b"{" or lines[-2:] != [b"}", b""]:
        return None
    tables: dict[str, dict[str, bytes]] = {}
    i, end = 1, len(lines) - 2
    while i < end:
        name = _key(lines[i])
        if name is None or not lines[i].endswith(b": {"):
            return None
        docs: dict[str, bytes] = {}
        i += 1
        while i < end and lines[i] not in (b"}", b"},"):
            line, comma = lines[i].removesuffix(b","), lines[i].endswith(b",")
            doc_id = _key(line)
            if doc_id is None or not line.endswith(b"}") or comma != (lines[i + 1] not in (b"}", b"},")):
                return None
            docs[doc_id] = line
            i += 1
        if i >= end or lines[i].endswith(b",") != (i + 1 < end):
            return None
        tables[name] = docs
        i += 1
    return tables


def _key_end(line: bytes) -> int:
    """Index just past the JSON string that opens ``line``, or -1."""
    if line[:1] != b'"':
        return -1
    pos = 1
    while (pos := line.find(b'"', pos)) > 0:
        slashes = len(line[:pos]) - len(line[:pos].rstrip(b"\\"))
        if slashes % 2 == 0:
            return pos + 1
        pos += 1
    return -1


def _key(line: bytes) -> str | None:
    """The key that opens ``line`` (``"key": ...``), or None if the line does not open with one."""
    end = _key_end(line)
    if end < 0 or line[end : end + 2] != b": ":
        return None
    try:
        key = json.loads(line[:end])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return key if isinstance(key, str) else None


class _TrackTable(Table):
    """Documents keyed by track id, so concurrent writers never collide on TinyDB's counters."""

    document_id_class = str  # type: ignore[assignment]  # TinyDB types ids as int; it only needs a hashable


class _CatalogDB(TinyDB):
    table_class = _TrackTable


class Catalog:
    """All tracks of one workspace."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _CatalogDB(self.path, storage=AtomicJSONStorage)
        self._storage = cast(AtomicJSONStorage, self._db.storage)
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

    def first(self, count: int) -> list[Track]:
        """The first ``count`` tracks in catalog order, parsing only those (a screen shows them while the rest
        of a large catalog loads)."""
        return [Track.from_dict(doc) for doc in islice(self._table, count)]

    def get(self, track_id: str) -> Track | None:
        doc = self._table.get(doc_id=track_id)  # type: ignore[call-overload]  # str ids: see _TrackTable
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

    def put_many(self, tracks: Iterable[Track], remove: Iterable[str] = ()) -> None:
        """Insert or replace several tracks (and drop the ids in ``remove``) in one atomic catalog write."""

        def change(table: MutableMapping[str, Document]) -> None:
            for track_id in remove:
                table.pop(track_id, None)
            table.update({t.id: t.to_dict() for t in tracks})

        self._write(change)

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

    def _write(self, change: Callable[[MutableMapping[str, Document]], object]) -> None:
        with self.transaction():
            data = self._storage.read() or {}
            change(data.setdefault(TABLE, {}))
            self._storage.write(data)


class CatalogBatch:
    """Writes that arrive one by one (an ingest's results), saved in batches.

    Each flush is one atomic catalog write, made when ``interval`` seconds have passed since the
    last one (or when the catalog grew so large that a write takes more than a tenth of that time,
    after ten times the last write's duration) and at :meth:`flush`. ``on_saved`` hears about each
    track only after the write that holds it, so whatever was reported survives a kill -9.
    """

    def __init__(self, catalog: Catalog, on_saved: Callable[[Track], None], interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.catalog, self.on_saved, self.interval, self.clock = catalog, on_saved, interval, clock
        self._pending: list[Track] = []
        self._remove: list[str] = []
        self._wait = interval
        self._last = clock()

    def put(self, track: Track, replaces: str | None = None) -> None:
        """Queue ``track`` (and the removal of the record it ``replaces``); flush when it is time."""
        self._pending.append(track)
        if replaces is not None and replaces != track.id:
            self._remove.append(replaces)
        if self.clock() - self._last >= self._wait:
            self.flush()

    def flush(self) -> None:
        if self._pending or self._remove:
            started = self.clock()
            self.catalog.put_many(self._pending, remove=self._remove)
            saved, self._pending, self._remove = self._pending, [], []
            self._last = self.clock()
            self._wait = max(self.interval, 10 * (self._last - started))
            for track in saved:
                self.on_saved(track)
