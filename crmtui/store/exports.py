"""Exports (SPEC F6): customers, or the purchases, communications or follow-ups of chosen
customers, read for `crmtui export` and for any interface that saves them to a file.

Each kind comes in two shapes, both streamed:

- `export_table`: a header and rows of cells (text, whole numbers, exact decimals) for CSV and
  XLSX. The columns are what an import needs to make the same records in an empty database:
  phones and e-mail addresses as stored and as typed, users by name, tags as "a, b", each custom
  field in a `custom:<key>` column, dates as ISO text and times in UTC with a `Z`, and on
  history records the columns that link them to their customer.
- `export_records`: one object per record with the keys and values crmtui's `--json` output
  gives it (`crmtui customer show --json` for a customer), plus those link keys for history.

The customer table's filters (stage, tag, owner, key account, search) choose the customers;
for history kinds, the customers whose records are exported. Customers are walked in id order
by keyset (`id > last`, a page at a time, never OFFSET) inside one read transaction, so an
export is one consistent snapshot however long it runs, and holds one page in memory. Asked
for the table's order (`in_table_order`), they are walked as the table walks them instead
(`customers.customers_after`), so a saved view's file lists what the screen listed. Rows are
built from the driver's tuples: a model instance and a frozen view per row would cost more than
reading and writing the row (a million customers are meant to export within 3x the time the
sqlite3 command line takes to dump the table as CSV).
"""

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import peewee

from crmtui.config import phone_region
from crmtui.i18n import _
from crmtui.store import audit, custom_fields, customers, scope, search, vocabulary
from crmtui.store import models as m
from crmtui.store import types as t
from crmtui.store.customers import EVERYONE
from crmtui.store.db import after_rollback, current_database, is_postgres
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import CUSTOMER_READ, HISTORY_READ, authorize
from crmtui.store.types import Actor, CustomerQuery

T = TypeVar("T")
Cell = str | int | Decimal  # what a table row holds; numbers stay numbers (XLSX sums them)
Record = dict[str, Any]  # JSON-ready but for dates, times and decimals (as `--json` writes them)

KINDS = ("customers", "purchases", "communications", "followups")
PAGE_SIZE = 1000  # customers read per query
CUSTOM_PREFIX = "custom:"

# The customer table's columns. Left out: `version` (a new database starts its own), the phones'
# display forms (made again from the number), `owner_id` (the owner is written by name), and
# `custom` (spread over `custom:<key>` columns after these, in key order).
CUSTOMER_COLUMNS = (
    "id", "name", "company", "title", "phone", "phone_raw", "alt_phone", "alt_phone_raw",
    "email", "email_raw", "address", "city", "region", "country", "source", "utm_source",
    "utm_medium", "utm_campaign", "stage", "owner", "tags", "key_account", "needs",
    "preferences", "preferred_channel", "notes", "marketing_consent", "consent_date",
    "consent_source", "consent_withdrawn_on", "external_id", "last_contact_at", "created_at",
    "updated_at",
)  # fmt: skip
_CONTACT_CELLS = tuple(
    i for i, column in enumerate(CUSTOMER_COLUMNS) if column in scope.CONTACT_FIELDS
)
_CONSENT_CELL = CUSTOMER_COLUMNS.index("marketing_consent")
# What a history record carries of its customer, so an import can find it: the id here, the
# keys an import matches on (external id, e-mail, phone), and the name and company, which a
# person reads and which tell two customers of one name apart.
LINK_COLUMNS = (
    "customer_id",
    "customer_external_id",
    "customer_name",
    "customer_company",
    "customer_email",
    "customer_phone",
)


@dataclass(frozen=True)
class Table:
    """One kind's records as a table, for CSV and XLSX."""

    title: str  # the kind, e.g. "customers": a worksheet's name
    columns: tuple[str, ...]
    rows: Generator[list[Cell], None, None]  # read as they are taken; close it if stopping early


@dataclass(frozen=True)
class _History:
    """A kind of customer record exported with its customer's link columns."""

    model: type[m.VersionedModel]
    view: type  # the store's frozen view of one record: its fields are the JSON keys
    columns: tuple[str, ...]  # the table's model columns after id and the links
    oldest_first: tuple[str, ...]  # order within one customer (then by id)


_HISTORY = {
    "purchases": _History(
        m.Purchase,
        t.Purchase,
        (
            "date", "product", "category", "quantity", "amount", "currency", "status", "notes",
            "created_at", "updated_at",
        ),
        ("date",),
    ),
    "communications": _History(
        m.Communication,
        t.Communication,
        ("at", "channel", "user", "contact", "summary", "outcome", "created_at", "updated_at"),
        ("at",),
    ),
    "followups": _History(
        m.FollowUp,
        t.FollowUp,
        (
            "title", "due_at", "priority", "assignee", "status", "recurrence", "snoozed_until",
            "done_at", "outcome", "notes", "created_at", "updated_at",
        ),
        ("due_at",),
    ),
}  # fmt: skip


# --- What is read, and how it is written --------------------------------------------------------
#
# Names, tags and yes/no are made in the query itself, the same SQL on both backends: a primary
# key lookup or an index range per row costs less in the database than a step per value in
# Python. Dates and times come from the drivers differently: SQLite (APSW) hands back the ISO
# text crmtui stored, which the query writes as it is; psycopg hands back date and datetime
# objects, written here (PostgreSQL's own text for them depends on the session's DateStyle).

Converter = Callable[[Any], Any]
Read = tuple[peewee.Node, Converter | None]  # a column or expression, and how its value is made


# A stored (UTC) time is written `2025-01-15 02:30:00Z`: an import in any time zone reads the
# same moment back, where a time without a zone would be taken as local time.
_UTC = "Z"


def _day_cell(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _moment_cell(value: dt.datetime | None) -> str:
    return "" if value is None else value.isoformat(sep=" ") + _UTC


def _stored_text(field: peewee.Field, suffix: str = "") -> peewee.Node:
    """A date or time as SQLite holds it (the ISO text crmtui wrote), with `suffix`; '' for none."""
    text = peewee.NodeList((field, peewee.SQL(f"|| '{suffix}'"))) if suffix else field
    return peewee.fn.COALESCE(text, "")


def _day_value(value: str | dt.date | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _moment_value(value: str | dt.datetime | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _text(value: str | None) -> str:
    return "" if value is None else value


def _tag_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split(", ")) if text else ()  # a tag holds no comma (clean_tags)


def _name_of(reference: peewee.ForeignKeyField) -> peewee.Node:
    """The name of the user or contact a record refers to; empty when it refers to none."""
    target = reference.rel_model
    return peewee.fn.COALESCE(target.select(target.name).where(target.id == reference), "")


def _tag_list() -> peewee.Node:
    """A customer's tags as "a, b", in code-point order as `customers.clean_tags` sorts them:
    PostgreSQL is told to compare bytes (collation "C"), as SQLite does anyway."""
    tag = m.CustomerTag.tag
    order = tag.collate('"C"') if is_postgres() else tag
    tags = m.CustomerTag.select(peewee.fn.string_agg(tag, ", ").order_by(order))
    return peewee.fn.COALESCE(tags.where(m.CustomerTag.customer == m.Customer.id), "")


def _cell(field: peewee.Field) -> Read:
    """How a column of a table is read and made a cell: a reference as the name of what it
    refers to, a flag as yes or no, an exact decimal as a Decimal, a date or time as ISO text."""
    if isinstance(field, peewee.ForeignKeyField):
        return _name_of(field), None
    if isinstance(field, peewee.BooleanField):
        return peewee.Case(None, [(field, "yes")], "no"), None
    if isinstance(field, m.FixedDecimalField):
        return field, field.python_value  # stored as whole hundredths (or thousandths)
    if isinstance(field, peewee.DateTimeField):
        return (field, _moment_cell) if is_postgres() else (_stored_text(field, _UTC), None)
    if isinstance(field, peewee.DateField):
        return (field, _day_cell) if is_postgres() else (_stored_text(field), None)
    return field, _text if field.null else None


def _column(model: type[m.BaseModel], key: str) -> peewee.Field | None:
    """The column a view's field holds (a reference is `x_id` in a view); None for a field the
    store derives (the name of a reference, a customer's tags)."""
    fields = model._meta.fields
    referenced = fields.get(key.removesuffix("_id")) if key.endswith("_id") else None
    if isinstance(referenced, peewee.ForeignKeyField):
        return referenced
    field = fields.get(key)
    return None if isinstance(field, peewee.ForeignKeyField) else field


def _value(model: type[m.BaseModel], key: str) -> Read:
    """How a view's field is read and given the value the view holds."""
    field = _column(model, key)
    if field is None:
        reference = model._meta.fields.get(key)
        if isinstance(reference, peewee.ForeignKeyField):
            return _name_of(reference), None
        if (model, key) == (m.Customer, "tags"):
            return _tag_list(), _tag_tuple
        raise LookupError(f"{model.__name__}.{key}: no column, and not a derived field known here")
    if isinstance(field, m.FixedDecimalField):
        return field, field.python_value
    if isinstance(field, peewee.BooleanField):
        return field, bool
    if isinstance(field, peewee.DateTimeField):
        return field, _moment_value
    if isinstance(field, peewee.DateField):
        return field, _day_value
    return field, None


class _Rows:
    """Rows read through a list of `Read`s: the nodes to select, then each tuple converted."""

    def __init__(self, reads: Sequence[Read]) -> None:
        self.nodes = [node for node, _convert in reads]
        self._converters = [(i, c) for i, (_node, c) in enumerate(reads) if c is not None]

    def convert(self, raw: Sequence[Any]) -> list[Any]:
        row = list(raw)
        for i, convert in self._converters:
            row[i] = convert(row[i])
        return row


# --- Choosing and walking the customers -------------------------------------------------------


def _conditions(query: CustomerQuery) -> list[peewee.Expression]:
    """The customer table's filters (customers._filtered) as conditions on `models.Customer`.

    A tag is asked of each customer (EXISTS), not listed (IN): walking by id, the list would be
    read again for every page. The owner must exist: an export naming nobody is a mistake, where
    the table simply shows no one."""
    customer = m.Customer
    where: list[peewee.Expression] = []
    if query.stage:
        if query.stage not in vocabulary.STAGES:
            raise ValidationError.single(
                "stage",
                _("{value!r} is not one of: {choices}").format(
                    value=query.stage, choices=", ".join(vocabulary.STAGES)
                ),
            )
        where.append(customer.stage == query.stage)
    if query.key_account is not None:
        where.append(customer.key_account == query.key_account)
    if query.tag:
        tagged = m.CustomerTag.select(m.CustomerTag.id).where(
            (m.CustomerTag.customer == customer.id) & (m.CustomerTag.tag == query.tag)
        )
        where.append(peewee.fn.EXISTS(tagged))
    if query.owner:
        owner = m.User.get_or_none(m.User.name == query.owner.strip())
        if owner is None:
            raise ValidationError.single(
                "owner", _("no user named {name!r}").format(name=query.owner)
            )
        where.append(customer.owner == owner.id)
    if query.search.strip():
        found = search.Search(query.search, phone_region())
        if found:
            where.append(found.customer_condition())
    return where


@dataclass(frozen=True)
class _Chosen:
    """The customers an export reads: the filter's conditions, and, when the export follows the
    customer table's order, who reads and the query that orders them (else id order)."""

    where: list[peewee.Expression]
    table_order: tuple[Actor, CustomerQuery] | None = None
    masked: bool = False  # contacts masked unless consented (see `scope`)


def _pages(nodes: Sequence[peewee.Node], chosen: _Chosen) -> Iterator[list]:
    """The chosen customers' `nodes` (the id first) as the driver's tuples, a page at a time
    in id order, or in the table's order."""
    if chosen.table_order is not None:
        yield from _pages_in_table_order(nodes, *chosen.table_order)
        return
    database = current_database()
    customer_id = m.Customer.id
    last = 0
    while True:
        select = m.Customer.select(*nodes).where(customer_id > last, *chosen.where)
        page = list(database.execute(select.order_by(customer_id).limit(PAGE_SIZE)))
        if page:
            yield page
        if len(page) < PAGE_SIZE:
            return
        last = page[-1][0]


def _pages_in_table_order(
    nodes: Sequence[peewee.Node], actor: Actor, query: CustomerQuery
) -> Iterator[list]:
    """As `_pages`, in the order (and through the filter) of the customer table itself: a page
    of its keyset walk, then the page's `nodes` read by id. Reading each customer twice costs
    more than the id walk, and is what makes the file list the rows the screen listed."""
    database = current_database()
    after = None
    while True:
        shown = customers.customers_after(actor, query, after, limit=PAGE_SIZE)
        ids = [customer.id for customer in shown]
        if ids:
            select = m.Customer.select(*nodes).where(m.Customer.id.in_(ids))
            by_id = {raw[0]: raw for raw in database.execute(select)}
            yield [by_id[customer_id] for customer_id in ids if customer_id in by_id]
        if len(shown) < PAGE_SIZE:
            return
        after = shown[-1]


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """One read transaction: the pages of an export all see the database as it was at the first.
    DEFERRED on SQLite, so no write lock is taken; REPEATABLE READ on PostgreSQL, whose default
    gives each statement a snapshot of its own."""
    database = current_database()
    outermost = not database.in_transaction()
    try:
        with database.atomic("REPEATABLE READ" if is_postgres(database) else "DEFERRED"):
            yield
    except BaseException as exc:
        if outermost:
            after_rollback(exc)  # a refusal inside the read is recorded after it
        raise


def _in_snapshot(
    actor: Actor, kind: str, query: CustomerQuery, rows: Iterator[T]
) -> Generator[T, None, None]:
    """The rows, read in one snapshot; then the export's audit row, written after the read
    transaction (on SQLite, writing inside it would have to upgrade a snapshot others may
    have written past). An export stopped part-way is recorded as "incomplete"."""
    taken, finished = 0, False
    try:
        with _snapshot():
            for row in rows:
                taken += 1
                yield row
        finished = True
    finally:
        audit.record(
            actor,
            "export",
            target=kind,
            detail=f"rows={taken}; {_filter_text(query)}",
            result="ok" if finished else "incomplete",
        )


def _filter_text(query: CustomerQuery) -> str:
    """The filter as the audit log keeps it: a search term only by its length, since it may
    be a person's name, which an erasure must be able to remove and the log cannot give up."""
    parts = [
        f"{name}={value}"
        for name, value in (
            ("stage", query.stage),
            ("tag", query.tag),
            ("owner", query.owner),
            ("key_account", query.key_account),
        )
        if value is not None
    ]
    if query.search:
        parts.append(f"search=({len(query.search)} characters)")
    return ", ".join(parts) or "everyone"


# --- Customers --------------------------------------------------------------------------------

_CUSTOMER_KEYS = tuple(f.name for f in dataclasses.fields(t.Customer))


def _customer_rows(chosen: _Chosen, custom_keys: Sequence[str]) -> Iterator[list[Cell]]:
    fields = m.Customer._meta.fields
    reads = [(_tag_list(), None) if c == "tags" else _cell(fields[c]) for c in CUSTOMER_COLUMNS]
    rows = _Rows([*reads, (m.Customer.custom, None)])  # custom last: spread over its columns
    no_custom = [""] * len(custom_keys)
    for page in _pages(rows.nodes, chosen):
        for raw in page:
            row = rows.convert(raw)
            if chosen.masked and row[_CONSENT_CELL] != "yes":
                for index in _CONTACT_CELLS:
                    row[index] = scope.mask(CUSTOMER_COLUMNS[index], row[index])
            custom = row.pop()
            if custom == "{}":
                row += no_custom
            else:
                values = json.loads(custom)
                row += [str(values.get(key, "")) for key in custom_keys]
            yield row


def _customer_records(chosen: _Chosen) -> Iterator[Record]:
    """Customers keyed and valued as `customers.get_customer` views them."""
    rows = _Rows([_value(m.Customer, key) for key in _CUSTOMER_KEYS])
    for page in _pages(rows.nodes, chosen):
        for raw in page:
            record = dict(zip(_CUSTOMER_KEYS, rows.convert(raw), strict=True))
            if chosen.masked and not record["marketing_consent"]:
                record.update({k: scope.mask(k, record[k]) for k in scope.CONTACT_FIELDS})
            record["custom"] = json.loads(record["custom"] or "{}")
            yield record


# --- History records --------------------------------------------------------------------------

# LINK_COLUMNS as read from the customer.
_LINK_FIELDS = (
    m.Customer.id,
    m.Customer.external_id,
    m.Customer.name,
    m.Customer.company,
    m.Customer.email,
    m.Customer.phone,
)


def _history_pages(
    kind: _History, nodes: Sequence[peewee.Node], chosen: _Chosen
) -> Iterator[tuple[dict[int, tuple], Iterator[tuple]]]:
    """For each page of the chosen customers: their link values by id, and their records'
    customer id and `nodes` as the driver's tuples, customer by customer, oldest first."""
    database = current_database()
    model = kind.model
    order = [model.customer, *(getattr(model, name) for name in kind.oldest_first), model.id]
    for page in _pages(_LINK_FIELDS, chosen):
        links = {raw[0]: raw for raw in page}
        # The page's ids go into the SQL as numbers (`int` makes sure): as 1,000 parameters,
        # peewee takes longer to build the query than the database takes to run it.
        among = peewee.SQL(f"IN ({','.join(str(int(i)) for i in links)})")
        select = model.select(model.customer, *nodes).where(
            peewee.NodeList((model.customer, among))
        )
        yield links, iter(database.execute(select.order_by(*order)))


def _history_rows(kind: _History, chosen: _Chosen) -> Iterator[list[Cell]]:
    fields = kind.model._meta.fields
    rows = _Rows([(kind.model.id, None), *(_cell(fields[column]) for column in kind.columns)])
    for links, records in _history_pages(kind, rows.nodes, chosen):
        for raw in records:
            row = rows.convert(raw[1:])
            row[1:1] = links[raw[0]]  # the record's id, then LINK_COLUMNS
            yield row


def _history_keys(kind: _History) -> tuple[list[str], list[str]]:
    """A history kind's JSON keys (its view's fields, the link keys, the names of users or
    contacts the view has only by id), and those of them read from the record itself."""
    keys = [f.name for f in dataclasses.fields(kind.view)]
    keys += [key for key in LINK_COLUMNS if key not in keys]
    references = kind.model._meta.refs  # field -> model referred to
    keys += [f.name for f in references if f.name != "customer" and f.name not in keys]
    return keys, [key for key in keys if key not in LINK_COLUMNS]


def _history_records(kind: _History, chosen: _Chosen) -> Iterator[Record]:
    """Records keyed and valued as the store views them, plus the link keys and the names of
    the users (and contact) they refer to."""
    keys, read = _history_keys(kind)
    rows = _Rows([_value(kind.model, key) for key in read])
    for links, records in _history_pages(kind, rows.nodes, chosen):
        for raw in records:
            values = dict(zip(read, rows.convert(raw[1:]), strict=True))
            values.update(zip(LINK_COLUMNS, links[raw[0]], strict=True))
            yield {key: values[key] for key in keys}


# --- The services -----------------------------------------------------------------------------


def _check(actor: Actor, kind: str) -> None:
    """An export is a read: of customers, and of their history for a history kind."""
    if kind not in KINDS:
        raise ValidationError.single(
            "kind",
            _("{value!r} is not one of: {choices}").format(value=kind, choices=", ".join(KINDS)),
        )
    authorize(actor, CUSTOMER_READ)
    if kind != "customers":
        authorize(actor, HISTORY_READ)


def _choose(actor: Actor, kind: str, query: CustomerQuery, in_table_order: bool) -> _Chosen:
    _check(actor, kind)
    query = scope.visible_query(actor, query)
    where = _conditions(query)  # checks the filter, in either order
    masked = scope.masks_contacts(actor)
    return _Chosen(where, (actor, query) if in_table_order else None, masked)


def export_table(
    actor: Actor, kind: str, query: CustomerQuery = EVERYONE, *, in_table_order: bool = False
) -> Table:
    """`kind` ("customers", "purchases", …) of the customers `query` filters, as a table.

    Permissions and the filter are checked here, before a row is read, so a refused export
    fails before its file is made. The rows are read as they are taken, in one read
    transaction: take them all, or close the iterator. Customers come in id order, their
    records customer by customer, oldest first; with `in_table_order`, customers come in the
    query's sort order, as the customer table shows them.
    """
    chosen = _choose(actor, kind, query, in_table_order)
    if kind == "customers":
        custom_keys = [field.key for field in custom_fields.list_fields(actor)]
        columns = CUSTOMER_COLUMNS + tuple(CUSTOM_PREFIX + key for key in custom_keys)
        return Table(
            kind, columns, _in_snapshot(actor, kind, query, _customer_rows(chosen, custom_keys))
        )
    history = _HISTORY[kind]
    columns = ("id", *LINK_COLUMNS, *history.columns)
    return Table(kind, columns, _in_snapshot(actor, kind, query, _history_rows(history, chosen)))


def export_records(
    actor: Actor, kind: str, query: CustomerQuery = EVERYONE, *, in_table_order: bool = False
) -> Generator[Record, None, None]:
    """`kind` of the customers `query` filters, as one object per record, in the order of
    `export_table`: a customer as `customers.get_customer` views it (the keys and values of
    `crmtui customer show --json`); a history record as the store views it, plus the link keys
    and the names of the users (or contact) it refers to. Checked here; read as taken.
    """
    chosen = _choose(actor, kind, query, in_table_order)
    if kind == "customers":
        return _in_snapshot(actor, kind, query, _customer_records(chosen))
    return _in_snapshot(actor, kind, query, _history_records(_HISTORY[kind], chosen))
