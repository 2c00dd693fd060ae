"""A list of records fetched a page at a time, with a column header and a cursor row.

The list does not know where its rows come from: it is given a `fetch(offset, limit)` that
returns a `Page`, and asks for the pages the screen shows (a few are kept, least recently
used out first). So a customer with ten thousand history rows opens as fast as one with ten.

Line 0 of the widget is the column header and never scrolls; virtual line `n + 1` is row `n`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crmtui.formatting import fit
from crmtui.i18n import _
from crmtui.store.errors import StoreError
from crmtui.store.types import Page

Fetch = Callable[[int, int], Page]


@dataclass(frozen=True)
class Column:
    """A column: a fixed `width` in cells, or a share (`weight`) of the room left."""

    label: str
    value: Callable[[Any], str]
    width: int = 0
    weight: int = 1


def column_widths(columns: Sequence[Column], total_width: int) -> list[int]:
    """Each column's width when the list is `total_width` cells wide (a blank before each)."""
    fixed = sum(c.width for c in columns)
    room = max(0, total_width - len(columns) - fixed)
    weights = sum(c.weight for c in columns if not c.width) or 1
    shares = [room * c.weight // weights for c in columns if not c.width]
    if shares:
        shares[0] += room - sum(shares)  # what integer division left over
    flexible = iter(shares)
    return [c.width or next(flexible) for c in columns]


class RecordList(ScrollView, can_focus=True):
    """Records, one per line, newest first as the fetch returns them."""

    DEFAULT_CSS = """
    RecordList {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .record-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .record-list--empty {
            color: $text-muted;
        }
        & > .record-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .record-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-list--header",
        "record-list--cursor",
        "record-list--empty",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", _("Down"), show=False, id="record_list.down"),
        Binding("k,up", "cursor_up", _("Up"), show=False, id="record_list.up"),
        Binding("g,home", "cursor_top", _("First"), show=False, id="record_list.top"),
        Binding("G,end", "cursor_bottom", _("Last"), show=False, id="record_list.bottom"),
        Binding("pageup", "page_up", _("Page up"), show=False, id="record_list.page_up"),
        Binding("pagedown", "page_down", _("Page down"), show=False, id="record_list.page_down"),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)

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
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.fetch = fetch
        self.empty_text = empty_text
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, tuple[Any, ...]] = OrderedDict()
        self._total = 0
        self._problem = ""  # why the rows cannot be shown (e.g. the role may not read them)

    @property
    def total(self) -> int:
        return self._total

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
        self.virtual_size = Size(0, self._total + 1)  # one more line for the header
        self.cursor_row = self.cursor_row  # validation moves it back onto a row
        self.refresh()

    def row_at(self, index: int) -> Any | None:
        if not 0 <= index < self._total:
            return None
        number, within = divmod(index, self.page_size)
        rows = self._pages.get(number)
        if rows is None:
            rows = self._fetch(number)
        else:
            self._pages.move_to_end(number)
        return rows[within] if within < len(rows) else None

    def _fetch(self, number: int) -> tuple[Any, ...]:
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
            self.call_later(self._apply_total)
        self._pages[number] = page.rows
        keep = max(self.max_pages, -(-self._body_height // self.page_size) + 1)
        while len(self._pages) > keep:
            self._pages.popitem(last=False)
        return page.rows

    def _apply_total(self) -> None:
        self.virtual_size = Size(0, self._total + 1)
        self.cursor_row = self.cursor_row

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self._total - 1))

    def watch_cursor_row(self) -> None:
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + self._body_height:
            self.scroll_to(y=self.cursor_row - self._body_height + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_top(self) -> None:
        self.cursor_row = 0

    def action_cursor_bottom(self) -> None:
        self.cursor_row = self._total - 1

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_offset.y + self._body_height, animate=False)
        self.cursor_row += self._body_height

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_offset.y - self._body_height, animate=False)
        self.cursor_row -= self._body_height

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = column_widths(self.columns, width)
        if y == 0:
            style = self.get_component_rich_style("record-list--header")
            return _line([c.label for c in self.columns], widths, width, style)
        if not self._total:
            if y != 1:
                return Strip.blank(width, self.rich_style)
            style = self.get_component_rich_style("record-list--empty")
            return Strip([Segment(fit(" " + (self._problem or self.empty_text), width), style)])
        index = self.scroll_offset.y + y - 1
        record = self.row_at(index)
        if record is None:
            return Strip.blank(width, self.rich_style)
        style = (
            self.get_component_rich_style("record-list--cursor")
            if index == self.cursor_row
            else self.rich_style
        )
        return _line([c.value(record) for c in self.columns], widths, width, style)


def _line(cells: list[str], widths: list[int], width: int, style: Style) -> Strip:
    text = "".join(
        " " + fit(cell.replace("\n", " "), size) for cell, size in zip(cells, widths, strict=True)
    )
    return Strip([Segment(text, style)]).adjust_cell_length(width, style)
