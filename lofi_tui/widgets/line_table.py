"""A table drawn with Textual's line API: only the visible lines are rendered, and rendered lines are cached.

Textual's DataTable keeps a row object per row and lays out every row when rows change, which costs seconds
at 10,000 tracks. This table holds a plain list of items and a column description; it renders one line per
visible row on demand (``render_line``), so filling, filtering and sorting cost what the list operation costs.
Cells are plain text, never markup: a title like ``rain [demo]`` shows its brackets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    key: str
    label: str
    cell: Callable[[T], str]
    sort_key: Callable[[T], Any]
    width: int = 0  # cells; 0: a share (``flex``) of what the fixed columns leave
    flex: int = 1
    minimum: int = 6  # a flexible column never gets fewer cells


class LineTable(ScrollView, Generic[T], can_focus=True):
    """Rows of items under a pinned header; a cursor row; sort by any column (click its header or ``s``/``S``)."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
        Binding("s", "sort_next", "Sort", show=False, id="table.sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, id="table.reverse"),
    ]
    COMPONENT_CLASSES = {"line-table--header", "line-table--cursor", "line-table--odd"}
    DEFAULT_CSS = """
    LineTable { background: $surface; overflow-x: hidden; }  /* columns fit the width: no scrollbar line */
    LineTable > .line-table--header { text-style: bold; background: $panel; }
    LineTable > .line-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    LineTable:blur > .line-table--cursor { background: $block-cursor-blurred-background; }
    LineTable > .line-table--odd { background: $surface-lighten-1; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor row changed (or the rows under it did)."""

        def __init__(self, table: LineTable, item: Any | None) -> None:
            super().__init__()
            self.table, self.item = table, item

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(self, columns: Sequence[Column[T]], identity: Callable[[T], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.identity = identity
        self.items: list[T] = []
        self.sort_by: tuple[str, bool] | None = None
        self._lines: LRUCache[tuple, Strip] = LRUCache(2000)
        self._generation = 0
        self._layouts: dict[int, list[tuple[Column[T], int, int]]] = {}

    # -- data -------------------------------------------------------------------------------

    def set_items(self, items: Sequence[T]) -> None:
        """Show ``items`` (kept in the current sort order); the cursor stays on the same item if it is still there."""
        current = self.highlighted
        self.items = list(items)
        self._apply_sort()
        self._changed(current)

    def sort(self, key: str, reverse: bool = False) -> None:
        current = self.highlighted
        self.sort_by = (key, reverse)
        self._apply_sort()
        self._changed(current)

    def _apply_sort(self) -> None:
        if self.sort_by is not None:
            column = next(c for c in self.columns if c.key == self.sort_by[0])
            self.items.sort(key=column.sort_key, reverse=self.sort_by[1])

    def _changed(self, keep: T | None) -> None:
        self._generation += 1
        self._lines.clear()
        self.virtual_size = Size(self.virtual_size.width, len(self.items) + 1)
        ids = keep is not None and self.identity(keep)
        index = next((i for i, t in enumerate(self.items) if self.identity(t) == ids), 0) if keep is not None else 0
        self.cursor = min(index, max(0, len(self.items) - 1))  # always_update: the watch says Highlighted
        self.refresh()

    @property
    def highlighted(self) -> T | None:
        return self.items[self.cursor] if 0 <= self.cursor < len(self.items) else None

    def watch_cursor(self, cursor: int) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        if cursor < self.scroll_y:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= self.scroll_y + body:
            self.scroll_to(y=cursor - body + 1, animate=False, immediate=True)
        self._lines.clear()
        self.refresh()
        self.post_message(self.Highlighted(self, self.highlighted))

    # -- keys and mouse ---------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        if self.items:
            self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 2))

    def action_move_to(self, index: int) -> None:
        if self.items:
            self.cursor = index % len(self.items)

    def action_sort_next(self) -> None:
        keys = [c.key for c in self.columns]
        current = keys.index(self.sort_by[0]) if self.sort_by else -1
        self.sort(keys[(current + 1) % len(keys)])

    def action_sort_reverse(self) -> None:
        key = self.sort_by[0] if self.sort_by else self.columns[0].key
        self.sort(key, reverse=not (self.sort_by and self.sort_by[1]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + int(self.scroll_x)
            for column, start, width in self._layout(self.scrollable_content_region.width):
                if start <= x < start + width + 1:
                    reverse = bool(self.sort_by and self.sort_by == (column.key, False))
                    self.sort(column.key, reverse)
                    return
        elif self.items:
            self.cursor = min(len(self.items) - 1, int(self.scroll_y) + offset.y - 1)

    # -- drawing ----------------------------------------------------------------------------

    def _layout(self, width: int) -> list[tuple[Column[T], int, int]]:
        """Each column with its start and width; worked out once per table width (every drawn line asks)."""
        if (layout := self._layouts.get(width)) is None:
            layout = self._layouts[width] = self._make_layout(width)
        return layout

    def _make_layout(self, width: int) -> list[tuple[Column[T], int, int]]:
        fixed = sum(c.width + 1 for c in self.columns if c.width)
        flexible = [c for c in self.columns if not c.width]
        room = width - fixed - len(flexible)
        weights = sum(c.flex for c in flexible) or 1
        layout, x = [], 0
        for c in self.columns:
            w = c.width or max(c.minimum, room * c.flex // weights)
            layout.append((c, x, w))
            x += w + 1
        return layout

    def _cells(self, texts: list[str], width: int, style: Style) -> Strip:
        """One line as one segment (every cell has the line's style): fewer segments for Textual to style,
        crop and compose at every redraw."""
        cells = []
        for (_, _, w), text in zip(self._layout(width), texts, strict=True):
            cell = text if cell_len(text) <= w else set_cell_size(text, w - 1) + "…"
            cells.append(set_cell_size(cell, w))
        return Strip([Segment(set_cell_size(" ".join(cells) + " ", width), style)], width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.items):
            return Strip.blank(width, self._base_style)
        is_cursor = index == self.cursor
        key = (self._generation, index, width, is_cursor, self.has_focus)
        line = self._lines.get(key)
        if line is None:
            item = self.items[index]
            if is_cursor:
                style = self.get_component_rich_style("line-table--cursor")
            elif index % 2:
                style = self._base_style + self.get_component_rich_style("line-table--odd")
            else:
                style = self._base_style
            line = self._cells([c.cell(item) for c in self.columns], width, style)
            self._lines[key] = line
        return line

    @property
    def _base_style(self) -> Style:
        """The widget's style, from Textual's cached visual style (``rich_style`` walks every ancestor's CSS at
        each call: a third of the time a redraw took, as each line asked for it)."""
        return self.visual_style.rich_style

    def _header(self, width: int) -> Strip:
        labels = []
        for c in self.columns:
            arrow = ("▼" if self.sort_by[1] else "▲") if self.sort_by and self.sort_by[0] == c.key else ""
            labels.append(c.label + arrow)
        return self._cells(labels, width, self._base_style + self.get_component_rich_style("line-table--header"))

    def on_resize(self) -> None:
        self._lines.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.items) + 1)
