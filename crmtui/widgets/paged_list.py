"""What the customer table and the record lists share: rows one per line under a column header
that never scrolls, a cursor row moved with vim keys or arrows, and rows read from the store a
page at a time, only a few pages kept (least recently used out first).

So a list opens, scrolls and holds memory alike on a million rows and on a hundred: the widget
is a Line API `ScrollView` whose virtual height is the number of rows, and each painted line
asks for one row. Line 0 is the header; virtual line `n + 1` is row `n`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crmtui.formatting import fit
from crmtui.i18n import _

Row = TypeVar("Row")


class Sized(Protocol):
    """A column as far as its width goes: `width` cells, or (0) a `weight` share of the rest."""

    @property
    def width(self) -> int: ...

    @property
    def weight(self) -> int: ...


def column_widths(columns: Sequence[Sized], total_width: int) -> tuple[int, ...]:
    """Each column's width when the list is `total_width` cells wide (a blank before each)."""
    fixed = sum(column.width for column in columns)
    room = max(0, total_width - len(columns) - fixed)
    weights = sum(column.weight for column in columns if not column.width) or 1
    shares = [room * column.weight // weights for column in columns if not column.width]
    if shares:
        # Integer division leaves a few cells over; the first flexible column gets them.
        shares[0] += room - sum(shares)
    flexible = iter(shares)
    return tuple(column.width or next(flexible) for column in columns)


def line(mark: str, cells: Sequence[str], widths: Sequence[int], width: int, style: Style) -> Strip:
    """One line of the list: a one-cell mark, then each cell fitted to its column."""
    text = mark + " ".join(fit(cell, size) for cell, size in zip(cells, widths, strict=True))
    return Strip([Segment(text, style)]).adjust_cell_length(width, style)


class PagedList(ScrollView, Generic[Row], can_focus=True):
    """A cursor over `total` rows, read a page at a time by `_read_page`."""

    DEFAULT_CSS = """
    PagedList {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .paged-list--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .paged-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .paged-list--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"paged-list--header", "paged-list--cursor"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", _("Down"), show=False, id="list.cursor_down"),
        Binding("k,up", "cursor_up", _("Up"), show=False, id="list.cursor_up"),
        Binding("g,home", "cursor_top", _("Top"), show=False, id="list.top"),
        Binding("G,end", "cursor_bottom", _("Bottom"), show=False, id="list.bottom"),
        Binding("pageup", "page_up", _("Page up"), show=False, id="list.page_up"),
        Binding("pagedown", "page_down", _("Page down"), show=False, id="list.page_down"),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)
    """The index of the row under the cursor, among all rows of the list."""

    def __init__(
        self,
        *,
        page_size: int,
        max_pages: int,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.page_size = page_size
        self.max_pages = max_pages
        # Page number -> its rows, least recently used first.
        self._pages: OrderedDict[int, tuple[Row, ...]] = OrderedDict()
        self._total = 0

    @property
    def total(self) -> int:
        """How many rows the list has (as last counted)."""
        return self._total

    def _read_page(self, number: int) -> tuple[Row, ...]:
        """Read page `number` from the store (it may change `_total` when rows moved)."""
        raise NotImplementedError

    def _moved(self) -> None:
        """The cursor moved to another row (or the rows under it changed)."""

    def row_at(self, index: int) -> Row | None:
        """The row `index`, fetching its page if needed; None past the end."""
        if not 0 <= index < self._total:
            return None
        number, within = divmod(index, self.page_size)
        rows = self._pages.get(number)
        if rows is None:
            rows = self._fetch(number)
        else:
            self._pages.move_to_end(number)
        return rows[within] if within < len(rows) else None

    def _fetch(self, number: int) -> tuple[Row, ...]:
        rows = self._read_page(number)
        self._pages[number] = rows
        # Never fewer pages than one screen of rows can touch (and a page to walk from), or
        # painting would evict the pages it is painting from.
        keep = max(self.max_pages, -(-self._body_height // self.page_size) + 2)
        while len(self._pages) > keep:
            self._pages.popitem(last=False)
        return rows

    def _set_total(self, total: int) -> None:
        self._total = total
        self.virtual_size = Size(0, total + 1)  # one more line for the column header
        self.cursor_row = self.cursor_row  # validation moves it back onto a row if need be
        self.refresh()

    @property
    def _body_height(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self._total - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self._moved()

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + self._body_height:
            self.scroll_to(y=self.cursor_row - self._body_height + 1, animate=False)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_top(self) -> None:
        self.cursor_row = 0

    def action_cursor_bottom(self) -> None:
        self.cursor_row = self._total - 1

    def action_page_down(self) -> None:
        # Turn the view by a page and keep the cursor on the same line of the screen.
        self.scroll_to(y=self.scroll_offset.y + self._body_height, animate=False)
        self.cursor_row += self._body_height

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_offset.y - self._body_height, animate=False)
        self.cursor_row -= self._body_height
