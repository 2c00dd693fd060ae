"""A virtual customer table: only the rows on screen are fetched from the store.

The table is a Line API widget (a `ScrollView`): its virtual height is the number of customers
the store reports, and each painted line asks for one row. Rows come from the store a page at a
time and only a few pages are kept (least recently used out first), so the table opens, scrolls
and holds memory alike on a million customers and on a hundred.

Line 0 of the widget is the column header and never scrolls; virtual line `n + 1` is row `n`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crmtui.formatting import fit, local_time
from crmtui.i18n import _
from crmtui.store import customers as customer_store
from crmtui.store.types import Actor, Customer, CustomerQuery
from crmtui.store.validation import format_phone

STAGE_LABELS: dict[str, str] = {
    "new": _("new"),
    "prospect": _("prospect"),
    "active": _("active"),
    "dormant": _("dormant"),
    "churned": _("churned"),
}


@dataclass(frozen=True)
class Column:
    """One column of the table.

    `key` is the `CustomerQuery.sort` key of the column, so sorting by a column needs no
    second name for it. A column with a `width` has that many cells; the others share the room
    left in proportion to their `weight`.
    """

    key: str
    label: str
    value: Callable[[Customer], str]
    width: int = 0
    weight: int = 1


COLUMNS: tuple[Column, ...] = (
    Column("name", _("Name"), lambda c: c.name, weight=3),
    Column("company", _("Company"), lambda c: c.company, weight=3),
    # "+86 138 1234 5678", the international layout of a mainland mobile, is 17 cells.
    Column("phone", _("Phone"), lambda c: format_phone(c.phone), width=17),
    Column(
        "stage",
        _("Stage"),
        lambda c: STAGE_LABELS.get(c.stage, c.stage),
        width=max(cell_len(label) for label in (_("Stage"), *STAGE_LABELS.values())),
    ),
    Column("owner", _("Owner"), lambda c: c.owner, weight=2),
    # Date and minute, "2025-03-05 14:30".
    Column("last_contact_at", _("Last contact"), lambda c: local_time(c.last_contact_at), width=16),
)


@lru_cache(maxsize=8)
def column_widths(total_width: int) -> tuple[int, ...]:
    """The width of each of COLUMNS when the table is `total_width` cells wide.

    Every column is preceded by one blank cell.
    """
    fixed = sum(column.width for column in COLUMNS)
    room = max(0, total_width - len(COLUMNS) - fixed)
    weights = sum(column.weight for column in COLUMNS if not column.width)
    shares = [room * column.weight // weights for column in COLUMNS if not column.width]
    # Integer division leaves a few cells over; the first flexible column (the name) gets them.
    shares[0] += room - sum(shares)
    flexible = iter(shares)
    return tuple(column.width or next(flexible) for column in COLUMNS)


class CustomerTable(ScrollView, can_focus=True):
    """The customers matching a query, one per line, with a cursor row."""

    DEFAULT_CSS = """
    CustomerTable {
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .customer-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .customer-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .customer-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"customer-table--header", "customer-table--cursor"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", _("Down"), show=False, id="customer_table.cursor_down"),
        Binding("k,up", "cursor_up", _("Up"), show=False, id="customer_table.cursor_up"),
        Binding("g,home", "cursor_top", _("Top"), key_display="g", id="customer_table.top"),
        Binding("G,end", "cursor_bottom", _("Bottom"), key_display="G", id="customer_table.bottom"),
        Binding("pageup", "page_up", _("Page up"), show=False, id="customer_table.page_up"),
        Binding("pagedown", "page_down", _("Page down"), show=False, id="customer_table.page_down"),
        Binding("enter", "select", _("Open"), show=False, id="customer_table.select"),
    ]

    cursor_row: reactive[int] = reactive(0, init=False)
    """The index of the row under the cursor, among all rows of the query."""

    class Highlighted(Message):
        """The cursor moved to another customer."""

        def __init__(self, table: CustomerTable, index: int, customer: Customer) -> None:
            self.table = table
            self.index = index
            self.customer = customer
            super().__init__()

        @property
        def control(self) -> CustomerTable:
            return self.table

    class Selected(Message):
        """The user chose the customer under the cursor (enter)."""

        def __init__(self, table: CustomerTable, index: int, customer: Customer) -> None:
            self.table = table
            self.index = index
            self.customer = customer
            super().__init__()

        @property
        def control(self) -> CustomerTable:
            return self.table

    class TotalChanged(Message):
        """The number of matching customers is known for the first time, or has changed."""

        def __init__(self, table: CustomerTable, total: int) -> None:
            self.table = table
            self.total = total
            super().__init__()

        @property
        def control(self) -> CustomerTable:
            return self.table

    def __init__(
        self,
        actor: Actor,
        query: CustomerQuery | None = None,
        *,
        page_size: int = 100,
        max_pages: int = 8,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.actor = actor
        self.query = query or CustomerQuery()
        self.page_size = page_size
        self.max_pages = max_pages
        # Page number -> its rows, least recently used first.
        self._pages: OrderedDict[int, tuple[Customer, ...]] = OrderedDict()
        self._total: int | None = None  # None until the first page has been fetched

    @property
    def total(self) -> int:
        """How many customers match the query (as of the last page fetched)."""
        return self._total or 0

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Forget the fetched rows and fetch afresh, e.g. after customers were added elsewhere.

        The cursor keeps its row number (or moves to the last row if there are fewer now).
        """
        self._pages.clear()
        self._fetch(self.cursor_row // self.page_size)
        self.refresh()
        self._post_highlighted()

    def customer_at(self, index: int) -> Customer | None:
        """The customer on row `index`, fetching its page if needed; None past the end."""
        if not 0 <= index < self.total:
            return None
        number, within = divmod(index, self.page_size)
        rows = self._pages.get(number)
        if rows is None:
            rows = self._fetch(number)
        else:
            self._pages.move_to_end(number)
        return rows[within] if within < len(rows) else None

    def _fetch(self, number: int) -> tuple[Customer, ...]:
        # One small indexed query (a page and a count): quick enough to run while painting.
        page = customer_store.list_customers(
            self.actor, self.query, offset=number * self.page_size, limit=self.page_size
        )
        if page.total != self._total:
            # The list changed since the other pages were fetched: their rows may have moved.
            self._pages.clear()
            self._total = page.total
            # This may run while painting, so the resize waits until the paint is done.
            self.call_later(self._apply_total)
        self._pages[number] = page.rows
        # Never fewer pages than one screen of rows can touch, or painting would evict the
        # pages it is painting from.
        keep = max(self.max_pages, -(-self._body_height // self.page_size) + 1)
        while len(self._pages) > keep:
            self._pages.popitem(last=False)
        return page.rows

    def _apply_total(self) -> None:
        self.virtual_size = Size(0, self.total + 1)  # one more line for the column header
        self.cursor_row = self.cursor_row  # validation moves it back onto a row if need be
        self.post_message(self.TotalChanged(self, self.total))

    @property
    def _body_height(self) -> int:
        """How many rows fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self.total - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self._post_highlighted()

    def _post_highlighted(self) -> None:
        customer = self.customer_at(self.cursor_row)
        if customer is not None:
            self.post_message(self.Highlighted(self, self.cursor_row, customer))

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
        self.cursor_row = self.total - 1

    def action_page_down(self) -> None:
        # Turn the view by a page and keep the cursor on the same line of the screen.
        self.scroll_to(y=self.scroll_offset.y + self._body_height, animate=False)
        self.cursor_row += self._body_height

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_offset.y - self._body_height, animate=False)
        self.cursor_row -= self._body_height

    def action_select(self) -> None:
        customer = self.customer_at(self.cursor_row)
        if customer is not None:
            self.post_message(self.Selected(self, self.cursor_row, customer))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        widths = column_widths(width)
        if y == 0:
            header_style = self.get_component_rich_style("customer-table--header")
            return _line([column.label for column in COLUMNS], widths, width, header_style)
        index = self.scroll_offset.y + y - 1
        customer = self.customer_at(index)
        if customer is None:
            return Strip.blank(width, self.rich_style)
        style = (
            self.get_component_rich_style("customer-table--cursor")
            if index == self.cursor_row
            else self.rich_style
        )
        return _line([column.value(customer) for column in COLUMNS], widths, width, style)


def _line(cells: list[str], widths: tuple[int, ...], width: int, style: Style) -> Strip:
    text = "".join(" " + fit(cell, size) for cell, size in zip(cells, widths, strict=True))
    return Strip([Segment(text, style)]).adjust_cell_length(width, style)
