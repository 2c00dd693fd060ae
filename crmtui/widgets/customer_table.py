"""A virtual customer table: only the rows on screen are fetched from the store.

The table is a Line API widget (a `ScrollView`): its virtual height is the number of customers
the store counted for the query, and each painted line asks for one row. Rows come from the
store a page at a time and only a few pages are kept (least recently used out first), so the
table opens, scrolls and holds memory alike on a million customers and on a hundred.

A page is read by walking the sort order from a neighbouring page already held, or from either
end of the list (keyset paging: as cheap a million rows down as at the top). Only a jump far
from anything held (a scrollbar drag) reads by position. The matches are counted once per
query, not per page.

Cell 0 of a row is its mark: space marks the row under the cursor for a bulk action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import ClassVar, NamedTuple

from rich.cells import cell_len
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from crmtui.formatting import local_time
from crmtui.i18n import _
from crmtui.store import customers as customer_store
from crmtui.store.types import Actor, Customer, CustomerQuery
from crmtui.widgets import paged_list
from crmtui.widgets.paged_list import PagedList, line

STAGE_LABELS: dict[str, str] = {
    "new": _("new"),
    "prospect": _("prospect"),
    "active": _("active"),
    "dormant": _("dormant"),
    "churned": _("churned"),
}

# Glyphs of East Asian width "neutral": one cell in every terminal, CJK locales included
# (▲, ★ and • are "ambiguous" and take two cells in some).
MARK = "✔"
ASCENDING = "▴"
DESCENDING = "▾"
YES = "✓"
# A page this many pages from one held (or from either end) is reached by walking page by
# page; farther than that, one OFFSET read is cheaper than the walk.
WALK_PAGES = 3


# The same few screens of rows are painted again on every key press, so the texts are kept.
_time = lru_cache(maxsize=4096)(local_time)


class _Styles(NamedTuple):
    base: Style
    header: Style
    marked: Style
    cursor: Style


@dataclass(frozen=True)
class Column:
    """One column of the table.

    `key` is also the `CustomerQuery.sort` key of a sortable column, so sorting by a column
    needs no second name for it. A column with a `width` has that many cells; the others share
    the room left in proportion to their `weight`.
    """

    key: str
    label: str
    value: Callable[[Customer], str]
    width: int = 0
    weight: int = 1
    sortable: bool = True
    hideable: bool = True


def _labels_width(*labels: str) -> int:
    return max(cell_len(label) for label in labels)


COLUMNS: tuple[Column, ...] = (
    Column("name", _("Name"), lambda c: c.name, weight=3, hideable=False),
    Column("company", _("Company"), lambda c: c.company, weight=3),
    # "+86 138 1234 5678", the international layout of a mainland mobile, is 17 cells.
    Column("phone", _("Phone"), lambda c: c.phone_display, width=17),
    Column("email", _("Email"), lambda c: c.email, weight=3),
    Column(
        "stage",
        _("Stage"),
        lambda c: STAGE_LABELS.get(c.stage, c.stage),
        # Room for the sort arrow after the label too.
        width=max(_labels_width(*STAGE_LABELS.values()), _labels_width(_("Stage")) + 2),
    ),
    Column("owner", _("Owner"), lambda c: c.owner, weight=2),
    Column(
        "key_account",
        _("Key"),
        lambda c: YES if c.key_account else "",
        width=_labels_width(_("Key")) + 2,
    ),
    # Tags are a list, so there is no one value to sort customers by.
    Column("tags", _("Tags"), lambda c: ", ".join(c.tags), weight=2, sortable=False),
    # Date and minute, "2025-03-05 14:30".
    Column("last_contact_at", _("Last contact"), lambda c: _time(c.last_contact_at), width=16),
)
COLUMN_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
# Shown to a user who never chose: what fits at 80 columns and is most asked for.
DEFAULT_HIDDEN: frozenset[str] = frozenset({"email", "key_account", "tags"})


@lru_cache(maxsize=32)
def column_widths(total_width: int, keys: tuple[str, ...]) -> tuple[int, ...]:
    """The width of each column named in `keys` when the table is `total_width` cells wide.

    Every column is preceded by one blank cell; the first column's is the mark column.
    """
    return paged_list.column_widths([COLUMN_BY_KEY[key] for key in keys], total_width)


class _TableMessage(Message):
    """A message about the table (its `control`, for `@on` selectors)."""

    def __init__(self, table: CustomerTable) -> None:
        self.table = table
        super().__init__()

    @property
    def control(self) -> CustomerTable:
        return self.table


class _CustomerMessage(_TableMessage):
    def __init__(self, table: CustomerTable, index: int, customer: Customer) -> None:
        self.index = index
        self.customer = customer
        super().__init__(table)


class CustomerTable(PagedList[Customer]):
    """The customers matching a query, one per line, with a cursor row and marked rows."""

    DEFAULT_CSS = """
    CustomerTable > .customer-table--marked {
        color: $text-accent;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"customer-table--marked"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", _("Open"), show=False, id="customer_table.select"),
        Binding("space", "toggle_mark", _("Mark"), id="customer_table.mark"),
        Binding("u", "clear_marks", _("Unmark all"), show=False, id="customer_table.unmark_all"),
        Binding("s", "sort_next", _("Sort"), id="customer_table.sort"),
        Binding("S", "sort_reverse", _("Reverse"), show=False, id="customer_table.sort_reverse"),
    ]

    class Highlighted(_CustomerMessage):
        """The cursor moved to another customer."""

    class Selected(_CustomerMessage):
        """The user chose the customer under the cursor (enter)."""

    class TotalChanged(_TableMessage):
        """The customers matching the query were counted (the query changed, or a reload)."""

        def __init__(self, table: CustomerTable, total: int) -> None:
            self.total = total
            super().__init__(table)

    class MarksChanged(_TableMessage):
        """Rows were marked or unmarked."""

        def __init__(self, table: CustomerTable, count: int) -> None:
            self.count = count
            super().__init__(table)

    def __init__(
        self,
        actor: Actor,
        query: CustomerQuery | None = None,
        *,
        hidden: Iterable[str] = DEFAULT_HIDDEN,
        page_size: int = 100,
        max_pages: int = 8,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            page_size=page_size, max_pages=max_pages, name=name, id=id, classes=classes
        )
        self.actor = actor
        self.query = query or CustomerQuery()
        self.hidden = _hideable(hidden)
        # Marked customers by id, as they were when marked (their version guards bulk changes).
        # Marks outlive a change of query, so rows found by several searches can be marked.
        self.marked: dict[int, Customer] = {}
        self._paint_styles: _Styles | None = None
        self._counting = 0  # raised by each reload, so a count for an older query is dropped

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns shown, in their fixed order."""
        return tuple(column for column in COLUMNS if column.key not in self.hidden)

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Count the matches again and forget the rows held, e.g. after customers changed.

        The cursor keeps its row number (or moves to the last row if there are fewer now).
        With the cursor on the first page, that page is read and painted first and the count
        follows (a million customers take about 60 ms to count): the rows show that much
        sooner, at start and on each search keystroke.
        """
        self._counting += 1
        if self.cursor_row >= self.page_size:
            self._reload_deep()
            return
        self._pages.clear()
        first = customer_store.customers_after(self.actor, self.query, None, limit=self.page_size)
        self._pages[0] = first
        if len(first) < self.page_size:
            self._set_total(len(first))  # all of them: nothing to count
            return
        # Until counted, the table is one page long.
        self._total = len(first)
        self.virtual_size = Size(0, self._total + 1)
        self.refresh()
        self.call_after_refresh(self._count, self._counting)

    def _reload_deep(self) -> None:
        """Reload with the cursor far down: its page is read again from the place of its first
        row, walking as paging does, where reading it by position could take seconds deep in
        a large filtered list."""
        number = self.cursor_row // self.page_size
        held = self._pages.get(number)
        self._pages.clear()
        if held:
            actor, query = self.actor, self.query
            previous = customer_store.customers_before(actor, query, held[0], limit=1)
            start = previous[0] if previous else None
            self._pages[number] = customer_store.customers_after(
                actor, query, start, limit=self.page_size
            )
        self._set_total(customer_store.count_customers(self.actor, self.query))

    def _count(self, counting: int) -> None:
        if counting == self._counting:  # else the query changed again meanwhile
            self._set_total(customer_store.count_customers(self.actor, self.query))

    def _set_total(self, total: int) -> None:
        super()._set_total(total)
        self.post_message(self.TotalChanged(self, total))
        self._post_highlighted()

    def set_query(self, query: CustomerQuery) -> None:
        """Show the customers matching `query`, from the first."""
        if query == self.query:
            return
        self.query = query
        # Quietly: the watcher would look up row 0 among the rows of the old query.
        self.set_reactive(CustomerTable.cursor_row, 0)
        self.scroll_to(y=0, animate=False)
        self.reload()

    def set_hidden(self, hidden: Iterable[str]) -> None:
        """Hide the columns named in `hidden` (a column that may not be hidden stays)."""
        self.hidden = _hideable(hidden)
        self.refresh()

    def _read_page(self, number: int) -> tuple[Customer, ...]:
        """Read page `number` the cheapest way the store offers.

        Each read is a small indexed query: quick enough to run while painting.
        """
        size, actor, query = self.page_size, self.actor, self.query
        last = max(0, (self.total - 1) // size)
        previous, following = self._pages.get(number - 1), self._pages.get(number + 1)
        if previous:
            return customer_store.customers_after(actor, query, previous[-1], limit=size)
        if following:
            return customer_store.customers_before(actor, query, following[0], limit=size)
        if previous is not None or following is not None:
            return ()  # next to a page found empty: the rows went since they were counted
        if number == 0:
            return customer_store.customers_after(actor, query, None, limit=size)
        if number == last:
            return customer_store.customers_before(
                actor, query, None, limit=self.total - last * size
            )
        nearest = min([0, last, *self._pages], key=lambda held: abs(held - number))
        if abs(nearest - number) <= WALK_PAGES:
            self._fetch(number - 1 if nearest < number else number + 1)
            return self._read_page(number)
        return customer_store.customers_at(actor, query, offset=number * size, limit=size)

    def _moved(self) -> None:
        self._post_highlighted()

    def _post_highlighted(self) -> None:
        customer = self.row_at(self.cursor_row)
        if customer is not None:
            self.post_message(self.Highlighted(self, self.cursor_row, customer))

    def action_select(self) -> None:
        customer = self.row_at(self.cursor_row)
        if customer is not None:
            self.post_message(self.Selected(self, self.cursor_row, customer))

    def action_toggle_mark(self) -> None:
        """Mark the row under the cursor, or unmark it, and move down to the next row."""
        customer = self.row_at(self.cursor_row)
        if customer is None:
            return
        if self.marked.pop(customer.id, None) is None:
            self.marked[customer.id] = customer
        self.refresh()
        self.post_message(self.MarksChanged(self, len(self.marked)))
        self.cursor_row += 1

    def action_clear_marks(self) -> None:
        if self.marked:
            self.marked.clear()
            self.refresh()
            self.post_message(self.MarksChanged(self, 0))

    def unmark(self, customer_ids: Iterable[int]) -> None:
        """Drop these customers from the marks (e.g. once a bulk action has changed them)."""
        for customer_id in customer_ids:
            self.marked.pop(customer_id, None)
        self.refresh()
        self.post_message(self.MarksChanged(self, len(self.marked)))

    def action_sort_next(self) -> None:
        """Sort by the next column shown (after the one sorted by now), ascending."""
        keys = [column.key for column in self.columns if column.sortable]
        following = keys.index(self.query.sort) + 1 if self.query.sort in keys else 0
        self.sort_by(keys[following % len(keys)])

    def action_sort_reverse(self) -> None:
        self.set_query(replace(self.query, descending=not self.query.descending))

    def sort_by(self, key: str) -> None:
        """Sort by the column `key`: ascending, or the other way if it is sorted by already."""
        descending = not self.query.descending if key == self.query.sort else False
        self.set_query(replace(self.query, sort=key, descending=descending))

    def on_click(self, event: events.Click) -> None:
        """A click on a column's header sorts by it; a click on a row moves the cursor there."""
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None and column.sortable:
                self.sort_by(column.key)
        else:
            self.cursor_row = self.scroll_offset.y + event.y - 1

    def _column_at(self, x: int) -> Column | None:
        columns = self.columns
        widths = column_widths(self.scrollable_content_region.width, _keys(columns))
        right = 0
        for column, width in zip(columns, widths, strict=True):
            right += 1 + width
            if x < right:
                return column
        return None

    def render_lines(self, crop: Region) -> list[Strip]:
        # The styles are looked up once per paint, not per line: each lookup walks the DOM,
        # and that was a third of the time to paint a screen of rows.
        self._paint_styles = self._styles_now()
        return super().render_lines(crop)

    def _styles_now(self) -> _Styles:
        return _Styles(
            self.rich_style,
            self.get_component_rich_style("paged-list--header"),
            self.get_component_rich_style("customer-table--marked"),
            self.get_component_rich_style("paged-list--cursor"),
        )

    def render_line(self, y: int) -> Strip:
        styles = self._paint_styles or self._styles_now()
        width = self.scrollable_content_region.width
        columns = self.columns
        widths = column_widths(width, _keys(columns))
        if y == 0:
            labels = [self._label(column) for column in columns]
            return line(" ", labels, widths, width, styles.header)
        index = self.scroll_offset.y + y - 1
        customer = self.row_at(index)
        if customer is None:
            return Strip.blank(width, styles.base)
        marked = customer.id in self.marked
        style = styles.base
        if marked:
            style += styles.marked
        if index == self.cursor_row:
            style += styles.cursor
        cells = [column.value(customer) for column in columns]
        return line(MARK if marked else " ", cells, widths, width, style)

    def _label(self, column: Column) -> str:
        if column.key != self.query.sort:
            return column.label
        return f"{column.label} {DESCENDING if self.query.descending else ASCENDING}"


def _hideable(keys: Iterable[str]) -> frozenset[str]:
    """The keys naming columns that may be hidden; unknown keys (a column since removed) drop."""
    return frozenset(key for key in keys if key in COLUMN_BY_KEY and COLUMN_BY_KEY[key].hideable)


def _keys(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(column.key for column in columns)
