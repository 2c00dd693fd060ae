"""A list of records fetched a page at a time, with a column header and a cursor row.

The list does not know where its rows come from: it is given a `fetch(offset, limit)` that
returns a `Page`, and asks for the pages the screen shows (see `PagedList`). So a customer
with ten thousand history rows opens as fast as one with ten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from textual.strip import Strip

from crmtui.formatting import fit
from crmtui.store.errors import StoreError
from crmtui.store.types import Page
from crmtui.widgets.paged_list import PagedList, column_widths, line

Fetch = Callable[[int, int], Page]


@dataclass(frozen=True)
class Column:
    """A column: a fixed `width` in cells, or a share (`weight`) of the room left."""

    label: str
    value: Callable[[Any], str]
    width: int = 0
    weight: int = 1


class ColumnList(PagedList[Any]):
    """Rows under a header of `Column`s, the cursor row highlighted; a line of text (why, or
    that there are none) when there are no rows."""

    DEFAULT_CSS = """
    ColumnList {
        height: 1fr;
        & > .column-list--empty {
            color: $text-muted;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"column-list--empty"}

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str,
        page_size: int,
        max_pages: int,
        id: str | None = None,
    ) -> None:
        super().__init__(page_size=page_size, max_pages=max_pages, id=id)
        self.columns = tuple(columns)
        self.empty_text = empty_text

    def _empty_line(self) -> str:
        return self.empty_text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = column_widths(self.columns, width)
        if y == 0:
            style = self.get_component_rich_style("paged-list--header")
            return line(" ", [c.label for c in self.columns], widths, width, style)
        if not self._total:
            if y != 1:
                return Strip.blank(width, self.rich_style)
            style = self.get_component_rich_style("column-list--empty")
            return Strip([Segment(fit(" " + self._empty_line(), width), style)])
        index = self.scroll_offset.y + y - 1
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, self.rich_style)
        return self._row_line(index, row, widths, width)

    def _row_line(self, index: int, row: Any, widths: Sequence[int], width: int) -> Strip:
        style = (
            self.get_component_rich_style("paged-list--cursor")
            if index == self.cursor_row
            else self.rich_style
        )
        cells = [c.value(row).replace("\n", " ") for c in self.columns]
        return line(" ", cells, widths, width, style)


class RecordList(ColumnList):
    """Records, one per line, newest first as the fetch returns them."""

    def __init__(
        self,
        columns: Sequence[Column],
        fetch: Fetch,
        *,
        empty_text: str,
        page_size: int = 50,
        max_pages: int = 4,
        id: str | None = None,
    ) -> None:
        super().__init__(
            columns, empty_text=empty_text, page_size=page_size, max_pages=max_pages, id=id
        )
        self.fetch = fetch
        self._problem = ""  # why the rows cannot be shown (e.g. the role may not read them)

    @property
    def current(self) -> Any | None:
        """The record under the cursor, or None when the list is empty."""
        return self.row_at(self.cursor_row)

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Fetch afresh (after a change); the cursor keeps its row number if it still can."""
        self._pages.clear()
        self._fetch(self.cursor_row // self.page_size)
        self._set_total(self._total)

    def _read_page(self, number: int) -> tuple[Any, ...]:
        try:
            page = self.fetch(number * self.page_size, self.page_size)
        except StoreError as exc:
            self._problem, self._total = str(exc), 0
            return ()
        self._problem = ""
        if page.total != self._total:
            # Rows were added or removed elsewhere: the other pages may have shifted.
            self._pages.clear()
            self._total = page.total
            self.call_later(self._set_total, page.total)
        return page.rows

    def _empty_line(self) -> str:
        return self._problem or self.empty_text
