"""Taking a track out of the catalog: its record and the workspace's own copies go, the source file stays.

The catalog is written first (it is the source of truth), then the processed MP3, its prompt and lyrics files and
its fingerprint are deleted from the workspace. The file the person imported is never touched, wherever it is;
importing it again brings the track back as new (its labels and source record are not kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.catalog.store import Catalog
from engine.catalog.track import Track
from engine.workspace import Workspace


@dataclass(frozen=True)
class Removed:
    track: Track
    deleted: list[str] = field(default_factory=list)  # workspace files deleted, relative to the workspace

    def result_line(self) -> str:
        """What ``lofi remove`` prints and the dashboard shows."""
        return (f"removed {self.track.id[:8]} {self.track.title} from the catalog ({len(self.deleted)} workspace "
                f"file(s) deleted); the source file stays: {self.track.source_path}")


def workspace_files(ws: Workspace, track: Track) -> list[Path]:
    """The files the workspace made for ``track`` (only those inside the workspace, never the source)."""
    files = []
    if track.output:
        audio = ws.resolve(track.output)
        files += [audio, audio.with_name(f"{track.id}_prompt.txt"), audio.with_name(f"{track.id}_lyrics.txt")]
    if track.fingerprint:
        files.append(ws.resolve(track.fingerprint))
    root, source = ws.root.resolve(), Path(track.source_path).resolve()
    return [f for f in files if f.resolve().is_relative_to(root) and f.resolve() != source]


def remove_track(ws: Workspace, catalog: Catalog, ref: str) -> Removed:
    """Remove one track (id, id prefix, file name or title) from the catalog and delete its workspace files."""
    with catalog.transaction():
        track = catalog.find(ref)
        catalog.remove(track.id)
    deleted = []
    for path in workspace_files(ws, track):
        if path.exists():
            path.unlink()
            deleted.append(ws.relative(path))
    return Removed(track, deleted)
