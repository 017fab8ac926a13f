"""A workspace: one directory holding the catalog, processed tracks, runs, caches and exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine import settings
from engine.errors import WorkspaceError
from engine.labels.categories import CATEGORIES


def default_workspace_path() -> Path:
    """``$LOFI_WORKSPACE`` if set, else ``./lofi-workspace``."""
    return settings.current().workspace


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, root: Path | str | None = None, create: bool = True) -> Workspace:
        path = Path(root) if root is not None else default_workspace_path()
        path = path.expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"workspace {path} exists but is not a directory; choose another --workspace")
        if not path.exists():
            if not create:
                raise WorkspaceError(f"workspace {path} does not exist; run `lofi --workspace {path} ingest ...` first")
            try:
                path.mkdir(parents=True)
            except OSError as exc:
                raise WorkspaceError(f"cannot create workspace {path}: {exc.strerror}") from exc
        return cls(path)

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.json"

    @property
    def tracks_dir(self) -> Path:
        return self.root / "tracks"

    def category_dir(self, category: str) -> Path:
        if category not in CATEGORIES:
            raise WorkspaceError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        return self.tracks_dir / category

    @property
    def fingerprints_dir(self) -> Path:
        return self.root / "fingerprints"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def resolve(self, relative: str | Path) -> Path:
        """Absolute path of a path stored relative to the workspace (as the catalog stores them)."""
        return self.root / relative

    def relative(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.root))


def display_path(path: Path) -> str:
    """How a person would write ``path``: relative to the current directory when inside it, else with ``~``."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        pass
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def short_path(path: Path, limit: int = 32) -> str:
    """:func:`display_path` cut to its last components so a header line keeps room for what follows it."""
    text = display_path(path)
    if len(text) <= limit:
        return text
    parts = Path(text).parts
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 3 > limit:
            break
        tail = f"{part}/{tail}"
    return f"…/{tail}"
