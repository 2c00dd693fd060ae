"""Customers: add, read, change, delete and list, each checked, versioned and recorded."""

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import peewee

from crmtui.config import phone_region
from crmtui.i18n import _
from crmtui.store import audit, custom_fields, records, scope, search, vocabulary
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store.db import current_database, write_transaction
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import CUSTOMER_READ, CUSTOMER_WRITE, authorize
from crmtui.store.types import Actor, Customer, CustomerQuery, CustomFieldDef, Page
from crmtui.store.users import user_names
from crmtui.store.validation import clean_text

# The most text one spreadsheet cell holds (Excel's limit): the notes of any sheet import,
# and export back into one.
SPREADSHEET_CELL = 32_767

FIELDS: dict[str, f.FieldSpec] = {
    "name": f.text("name", required=True),
    "company": f.text("company"),
    "title": f.text("title"),
    "phone": f.phone("phone"),
    "alt_phone": f.phone("alt_phone"),
    "email": f.email("email"),
    "address": f.text("address", 500),
    "city": f.text("city", 100),
    "region": f.text("region", 100),
    "country": f.text("country", 2),
    "source": f.text("source", 100),
    "utm_source": f.text("utm_source", 100),
    "utm_medium": f.text("utm_medium", 100),
    "utm_campaign": f.text("utm_campaign", 100),
    "stage": f.choice("stage", vocabulary.STAGES),
    "owner": f.user("owner"),
    "key_account": f.boolean("key_account"),
    "needs": f.text("needs", 4000, multiline=True),
    "preferences": f.text("preferences", 4000, multiline=True),
    "preferred_channel": f.choice("preferred_channel", vocabulary.CHANNELS, allow_empty=True),
    "notes": f.text("notes", SPREADSHEET_CELL, multiline=True),
    "marketing_consent": f.boolean("marketing_consent"),
    "consent_date": f.date("consent_date"),
    "consent_source": f.text("consent_source", 100),
    "consent_withdrawn_on": f.date("consent_withdrawn_on"),
    "external_id": f.text("external_id", 100),
}
SORTABLE = (
    "name",
    "company",
    "phone",
    "email",
    "stage",  # in lifecycle order (vocabulary.STAGES), not alphabetically
    "owner",  # by the owner's name
    "key_account",
    "last_contact_at",
    "created_at",
    "id",
)
MAX_TAG_LENGTH = 64
EVERYONE = CustomerQuery()  # no filter, sorted by name


# A customer row as read for a list: its columns by field name, as peewee's `.dicts()` gives
# them (and as a model row holds them in `__data__`). Lists read these rather than model rows:
# making a peewee model object of each row took about a third of the time to read a page.
Row = dict[str, Any]
# View fields not read straight off the row; reading `row.owner` would fetch the User row
# (one query per customer in a list).
_DERIVED = frozenset({"owner", "owner_id", "custom", "tags"})
# The view fields that are the row's columns under the same name.
_COLUMNS = tuple(
    name
    for name in Customer.__dataclass_fields__
    if name not in _DERIVED and name in m.Customer._meta.fields
)


def _view(row: m.Customer, tags: Sequence[str] = (), owner: str = "") -> Customer:
    return _row_view(row.__data__, tags, owner)


def _row_view(row: Row, tags: Sequence[str] = (), owner: str = "") -> Customer:
    return Customer(
        **{name: row.get(name) for name in _COLUMNS},
        owner_id=row.get("owner"),
        owner=owner,
        custom=json.loads(row.get("custom") or "{}"),
        tags=tuple(tags),
    )


ENTITY = records.Entity("customer", m.Customer, _view)


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for tag in tags:
        for part in str(tag).replace("，", ",").split(","):
            try:
                text = clean_text(part, max_length=MAX_TAG_LENGTH)
            except ValueError as exc:
                raise ValidationError.single("tags", f"{part!r}: {exc}") from None
            if text and text not in cleaned:
                cleaned.append(text)
    return tuple(sorted(cleaned))


class Prepared(NamedTuple):
    """A customer's input, cleaned: plain columns, tags and custom values (None: unchanged)."""

    columns: dict[str, object]
    tags: tuple[str, ...] | None
    custom: dict[str, str] | None


def prepare(
    values: Mapping[str, object],
    *,
    partial: bool,
    custom_defined: Mapping[str, CustomFieldDef] | None = None,
) -> Prepared:
    """Clean input into plain columns, tags (None: unchanged), custom values (None: unchanged),
    the custom values against `custom_defined` (else the definitions read now).

    Every problem is collected so the user sees all bad fields at once.
    """
    plain = {k: v for k, v in values.items() if k not in ("tags", "custom")}
    problems = []
    columns: dict[str, object] = {}
    tags = custom = None
    try:
        columns = f.clean_fields(FIELDS, plain, partial=partial)
    except ValidationError as exc:
        problems.extend(exc.problems)
    if "tags" in values:
        try:
            tags = clean_tags(values["tags"])  # type: ignore[arg-type]
        except ValidationError as exc:
            problems.extend(exc.problems)
    if "custom" in values:
        try:
            custom = custom_fields.clean_custom_values(
                values["custom"],  # type: ignore[arg-type]
                custom_defined,
            )
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return Prepared(columns, tags, custom)


def tags_of(customer_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each customer's tags in `clean_tags` order: sorted here, not by the database, whose
    collation (PostgreSQL's locale) may order "b2b" and "VIP" differently; the stored and the
    typed tags must compare equal when they are the same."""
    tags: dict[int, list[str]] = {cid: [] for cid in customer_ids}
    if customer_ids:
        query = (
            m.CustomerTag.select(m.CustomerTag.customer, m.CustomerTag.tag)
            .where(m.CustomerTag.customer.in_(list(customer_ids)))
            .tuples()
        )
        for customer_id, tag in query:
            tags[customer_id].append(tag)
    for names in tags.values():
        names.sort()
    return tags


def _shown(actor: Actor, rows: Sequence[Row]) -> list[Customer]:
    """The rows' views as `actor` may see them (see `scope`)."""
    views = _views(rows)
    return [scope.shown(actor, view) for view in views] if scope.masks_contacts(actor) else views


def _views(rows: Sequence[Row]) -> list[Customer]:
    tags = tags_of([row["id"] for row in rows])
    owners = user_names({row["owner"] for row in rows if row.get("owner")})
    return [_row_view(row, tags[row["id"]], owners.get(row.get("owner"), "")) for row in rows]


def custom_json(values: Mapping[str, str]) -> str:
    return json.dumps(dict(values), ensure_ascii=False, sort_keys=True)


def _set_tags(customer_id: int, tags: tuple[str, ...]) -> tuple[str, ...]:
    """Replace a customer's tags; return the tags it had."""
    old = tuple(tags_of([customer_id])[customer_id])
    if old != tags:
        m.CustomerTag.delete().where(m.CustomerTag.customer == customer_id).execute()
        if tags:
            m.CustomerTag.insert_many([{"customer": customer_id, "tag": t} for t in tags]).execute()
    return old


def record_consent(columns: dict[str, object], *, had: bool, source: str | None = None) -> None:
    """Keep the record of consent to marketing (SPEC F9) as `columns` change it: consent given
    (it was not, `had`) gets its date (today unless given) and must say where it was given
    (`source` stands in when the input names none: an import names its file); consent
    withdrawn gets the date of withdrawal, and keeps when and where it was given."""
    gives = bool(columns.get("marketing_consent", had))
    today = dt.date.today()
    if gives and not had:
        if not columns.get("consent_source"):
            if not source:
                raise ValidationError.single(
                    "consent_source",
                    _("say where the customer gave consent (a web form, a call, …)"),
                )
            columns["consent_source"] = source[:100]
        columns["consent_date"] = columns.get("consent_date") or today
        columns["consent_withdrawn_on"] = None
    elif had and not gives:
        columns["consent_withdrawn_on"] = columns.get("consent_withdrawn_on") or today


def add_customer(actor: Actor, values: Mapping[str, object]) -> Customer:
    """Create a customer from user-facing field values (see FIELDS, plus tags and custom)."""
    authorize(actor, CUSTOMER_WRITE)
    columns, tags, custom = prepare(values, partial=False)
    record_consent(columns, had=False)
    if scope.own_only(actor) and columns.get("owner") is None:
        columns["owner"] = actor.id  # a customer sales adds is its own
    scope.check_new_owner(actor, columns.get("owner"))
    if custom:
        columns["custom"] = custom_json({k: v for k, v in custom.items() if v})
    with write_transaction():
        row = records.insert(actor, ENTITY, columns)
        if tags:
            _set_tags(row.id, tags)
        search.index_customer(row.id)
    return get_customer(actor, row.id)


def get_customer(actor: Actor, customer_id: int) -> Customer:
    authorize(actor, CUSTOMER_READ)
    row = records.get_row(ENTITY, customer_id)
    scope.check_owner(actor, customer_id, row.owner_id)
    return scope.shown(actor, _views([row.__data__])[0])


def open_customer(actor: Actor, customer_id: int) -> Customer:
    """`get_customer` for a person looking at the customer (its detail screen, `customer
    show`): the view is recorded in the audit log."""
    found = get_customer(actor, customer_id)
    audit.record(actor, "customer.view", target=f"customer:{customer_id}", customer_id=customer_id)
    return found


def update_customer(
    actor: Actor,
    customer_id: int,
    changes: Mapping[str, object],
    expected_version: int | None,
    *,
    action: str = "update",
) -> Customer:
    """Apply changes if the customer is still at `expected_version` (None: whatever it is now).

    A stale version raises ConflictError and saves nothing. History rows name `action`
    ("restore" when a change is undone from history).
    """
    authorize(actor, CUSTOMER_WRITE)
    prepared = prepare(changes, partial=True)
    with write_transaction():
        apply_update(actor, customer_id, prepared, expected_version, action)
    return get_customer(actor, customer_id)


def apply_update(
    actor: Actor,
    customer_id: int,
    prepared: Prepared,
    expected_version: int | None,
    action: str = "update",
    *,
    batch: int | None = None,
    consent_source: str | None = None,
) -> None:
    """Save cleaned changes of a customer, inside the caller's write transaction: versioned,
    recorded in history (naming the import `batch`, if any) and indexed for search.
    `consent_source`: where consent the changes give came from, when they do not say."""
    columns, tags, custom = dict(prepared.columns), prepared.tags, prepared.custom
    row = records.get_row(ENTITY, customer_id, lock=True)
    scope.check_owner(actor, customer_id, row.owner_id)
    # Restoring consent from history restores it as it was given.
    given_at = row.consent_source if action == "restore" else consent_source
    record_consent(columns, had=row.marketing_consent, source=given_at)
    if "owner" in columns:
        scope.check_new_owner(actor, columns["owner"])
    records.check_version(ENTITY, row, expected_version)
    # Tags and custom values are kept outside the plain columns; their changes are
    # recorded here, one history row per tag list or custom field.
    extra: dict[str, tuple[object, object]] = {}
    if custom is not None:
        old_custom = json.loads(row.custom or "{}")
        new_custom = {k: v for k, v in {**old_custom, **custom}.items() if v}
        extra.update(
            {
                f"custom.{key}": (old_custom.get(key), new_custom.get(key))
                for key in custom
                if old_custom.get(key) != new_custom.get(key)
            }
        )
        columns["custom"] = custom_json(new_custom)
    if tags is not None:
        old_tags = _set_tags(customer_id, tags)
        if old_tags != tags:
            extra["tags"] = (", ".join(old_tags), ", ".join(tags))
    # A tag or custom change is a new version too, even when no column differs (tags
    # live in their own table; timestamps have whole seconds, so updated_at may not move).
    records.update(
        actor,
        ENTITY,
        customer_id,
        columns,
        row.version,
        action=action,
        always=bool(extra),
        batch=batch,
    )
    if search.INDEXED_COLUMNS & columns.keys():
        search.index_customer(customer_id)
    if extra:
        records.record_history(actor, ENTITY, customer_id, customer_id, action, extra, batch=batch)


def delete_customer(actor: Actor, customer_id: int, expected_version: int | None = None) -> None:
    """Delete a customer and everything recorded about it; history keeps what it was."""
    authorize(actor, CUSTOMER_WRITE)
    with write_transaction():
        scope.check_customer(actor, customer_id)
        records.delete(actor, ENTITY, customer_id, expected_version)


def _filtered(query: CustomerQuery) -> peewee.ModelSelect:
    select = m.Customer.select()
    if query.stage:
        select = select.where(m.Customer.stage == query.stage)
    if query.key_account is not None:
        select = select.where(m.Customer.key_account == query.key_account)
    if query.tag:
        tagged = m.CustomerTag.select(m.CustomerTag.customer).where(m.CustomerTag.tag == query.tag)
        select = select.where(m.Customer.id.in_(tagged))
    if query.owner:
        owner = m.User.select(m.User.id).where(m.User.name == query.owner)
        select = select.where(m.Customer.owner.in_(owner))
    if query.search.strip():
        found = _search(query)
        if found:  # through the search index: see crmtui.store.search
            select = select.where(found.customer_condition())
    return select


def _search(query: CustomerQuery) -> search.Search:
    return search.Search(query.search, phone_region())


def _search_only(query: CustomerQuery) -> search.Search | None:
    """The query's search, when the query filters by nothing else."""
    rest = replace(query, search="", sort=EVERYONE.sort, descending=EVERYONE.descending)
    if not query.search.strip() or rest != EVERYONE:
        return None
    found = _search(query)
    return found if found else None


def _count(query: CustomerQuery) -> int:
    """How many customers match. A search alone is counted in the search index, without
    reading a customer row: the table counts on every keystroke."""
    found = _search_only(query)
    return _filtered(query).count() if found is None else found.count()


def _searched(
    query: CustomerQuery,
    *,
    descending: bool,
    offset: int = 0,
    limit: int,
    after: Customer | None = None,
) -> list[Row] | None:
    """A page of a search-only query sorted by name, read from the search index in name
    order (`search.Search.page`): about a page of matches read, where the same query in SQL
    reads and sorts every match (200-800 ms for a surname among a million customers). None
    when the index cannot give the page (another filter or sort; PostgreSQL)."""
    found = _search_only(query) if query.sort == "name" else None
    if found is None:
        return None
    place = None if after is None else (after.name, after.id)
    ids = found.page(descending=descending, offset=offset, limit=limit, after=place)
    if ids is None:
        return None
    rows = {row["id"]: row for row in m.Customer.select().where(m.Customer.id.in_(ids)).dicts()}
    return [rows[cid] for cid in ids if cid in rows]


def _check_sort(query: CustomerQuery) -> None:
    if query.sort not in SORTABLE:
        raise ValidationError.single(
            "sort",
            _("cannot sort by {key!r}; choose one of: {keys}").format(
                key=query.sort, keys=", ".join(SORTABLE)
            ),
        )


def _ordered(select: peewee.ModelSelect, query: CustomerQuery) -> peewee.ModelSelect:
    _check_sort(query)
    nullable = False
    if query.sort == "owner":
        select = select.join(m.User, peewee.JOIN.LEFT_OUTER, on=(m.Customer.owner == m.User.id))
        key = m.User.name
        nullable = True  # customers nobody owns
    elif query.sort == "stage":
        key = peewee.Case(m.Customer.stage, [(s, i) for i, s in enumerate(vocabulary.STAGES)])
    else:
        key = getattr(m.Customer, query.sort)
        nullable = key.null
    # NULLS LAST only where NULLs can be: SQLite cannot walk an index for "ASC NULLS LAST".
    nulls = "LAST" if nullable else None
    order = key.desc(nulls=nulls) if query.descending else key.asc(nulls=nulls)
    tie = m.Customer.id.desc() if query.descending else m.Customer.id.asc()
    return select.order_by(order, tie)


def count_customers(actor: Actor, query: CustomerQuery = EVERYONE) -> int:
    authorize(actor, CUSTOMER_READ)
    return _count(scope.visible_query(actor, query))


def list_customers(
    actor: Actor, query: CustomerQuery = EVERYONE, *, offset: int = 0, limit: int | None = 50
) -> Page:
    """One page of customers matching `query`; `limit=None` returns them all."""
    authorize(actor, CUSTOMER_READ)
    if offset < 0 or (limit is not None and limit < 0):
        raise ValidationError.single("limit", _("must not be negative"))
    query = scope.visible_query(actor, query)
    found = None
    if limit is not None:
        found = _searched(query, descending=query.descending, offset=offset, limit=limit)
    if found is None:
        select = _ordered(_filtered(query), query).offset(offset)
        if limit is not None:
            select = select.limit(limit)
        found = list(select.dicts())
    rows = _shown(actor, found)
    # Without a limit the rows seen are the rest of the list, unless the offset ran past
    # its end.
    everything_seen = limit is None and (bool(rows) or offset == 0)
    total = offset + len(rows) if everything_seen else _count(query)
    return Page(tuple(rows), offset, total)


# --- Paging for the customer table ------------------------------------------------------------
#
# `list_customers` pages with OFFSET and counts the matches on every call: right for one page of
# a CLI listing, slow deep in a million rows (OFFSET reads every row it skips). The table walks
# the sort order instead, from a customer it already holds (keyset paging): a page a million rows
# down then costs what the first page costs. It counts once per query, with count_customers.

# Sort keys with a handful of values. Their order is a list of runs, one per value, each walked
# by id: every query is an equality on an indexed column and an id range, which an index yields
# in order on both backends, where "ORDER BY stage, id" would sort every match first.
_GROUPED = frozenset({"stage", "owner", "key_account"})
# A filter matching at least this many customers is checked on candidates read in sort order
# (`_sifted`). Below it, reading the matches through the filter's index and sorting them is
# cheaper; SQLite picks that plan even when the filter matches most rows (100,000 customers,
# stage = 'active' sorted by name: 104 ms a page that way, 3 ms sifted).
_MANY = 10_000
_MAX_CHUNK = 8_000  # candidates checked at once: well under either driver's parameter limit
# Candidates read before giving up on sifting: when the matches cluster away from where the walk
# is (tags that go with some company names and not others), sifting would read most of the
# table, and the database's own plan is cheaper.
_MAX_SIFTED = 20_000
# Whether a filter matches many customers, per database and filter. A stale answer only costs
# speed, never a wrong row.
_many_cache: dict[tuple[int, CustomerQuery], bool] = {}


@dataclass(frozen=True)
class _Run:
    """A stretch of the sort order: the customers matching `where` (all when None), ordered by
    `key` then id, or by id alone when `key` is None (they share one sort value)."""

    where: peewee.Expression | None
    key: peewee.Field | None
    holds: Callable[[Customer], bool]  # whether a customer read before lies in this stretch


def _sort_value(customer: Customer, sort: str) -> object:
    return customer.owner_id if sort == "owner" else getattr(customer, sort)


def _runs(query: CustomerQuery) -> list[_Run]:
    """The runs of the query's order, first to last; the same order as `_ordered`."""
    _check_sort(query)
    sort = query.sort
    field = getattr(m.Customer, sort)

    def has_value(value: object) -> Callable[[Customer], bool]:
        return lambda customer: _sort_value(customer, sort) == value

    if sort in _GROUPED:
        if sort == "stage":
            values: list[object] = list(vocabulary.STAGES)
        elif sort == "key_account":
            values = [False, True]
        else:  # owners by name, in the database's collation like `_ordered`
            values = [uid for (uid,) in m.User.select(m.User.id).order_by(m.User.name).tuples()]
        if query.descending:
            values.reverse()
        runs = [_Run(field == value, None, has_value(value)) for value in values]
    else:
        where = field.is_null(False) if field.null else None
        runs = [_Run(where, field, lambda customer: _sort_value(customer, sort) is not None)]
    if field.null:  # empty values come last, both ways, as in `_ordered`
        runs.append(_Run(field.is_null(), None, has_value(None)))
    return runs


def _matches_many(query: CustomerQuery) -> bool:
    """Whether the query has a filter matching at least _MANY customers.

    Kept per database and filter, so typing and paging count once: a stale answer only costs
    speed, never a wrong row.
    """
    only_filter = replace(query, sort=EVERYONE.sort, descending=EVERYONE.descending)
    if only_filter == EVERYONE:
        return False
    key = (id(current_database()), only_filter)
    if key not in _many_cache:
        if len(_many_cache) >= 64:
            del _many_cache[next(iter(_many_cache))]
        bounded = _filtered(query).select(m.Customer.id).limit(_MANY)
        _many_cache[key] = bounded.count() >= _MANY
    return _many_cache[key]


def _matching(
    query: CustomerQuery, where: list[peewee.Expression], order: list[peewee.Ordering], limit: int
) -> list[Row]:
    """Up to `limit` customers meeting `where` and the query's filter, in `order`."""
    select = _filtered(query)
    if where:
        select = select.where(*where)
    return list(select.order_by(*order).limit(limit).dicts())


def _checked(query: CustomerQuery) -> peewee.ModelSelect:
    """The query's filter, for checking candidates by id. A tag is asked of each candidate
    (EXISTS, through the (customer, tag) index): `_filtered`'s list of every tagged customer,
    right for reading a rare tag's customers, would be read whole for each check (a common tag
    among a million customers: 120,000 rows, about 100 ms a check)."""
    select = _filtered(replace(query, tag=None))
    if query.tag:
        tagged = m.CustomerTag.select(m.CustomerTag.customer).where(
            (m.CustomerTag.tag == query.tag) & (m.CustomerTag.customer == m.Customer.id)
        )
        select = select.where(peewee.fn.EXISTS(tagged))
    return select


def _sifted(
    query: CustomerQuery, where: list[peewee.Expression], order: list[peewee.Ordering], limit: int
) -> list[Row]:
    """`_matching` for a filter matching many customers: candidates are read in `order` from the
    sort column's index alone, a growing chunk at a time, and the filter is checked on each chunk
    by id. A page reads about limit × (customers / matches) index entries and sorts nothing."""
    candidates = m.Customer.select(m.Customer.id)
    if where:
        candidates = candidates.where(*where)
    candidates = candidates.order_by(*order)
    chosen: list[int] = []
    read, chunk = 0, 4 * limit
    while len(chosen) < limit:
        if read >= _MAX_SIFTED:
            return _matching(query, where, order, limit)
        ids = [cid for (cid,) in candidates.offset(read).limit(chunk).tuples()]
        if not ids:
            break
        matched = _checked(query).select(m.Customer.id).where(m.Customer.id.in_(ids)).tuples()
        keep = {cid for (cid,) in matched}
        chosen += [cid for cid in ids if cid in keep][: limit - len(chosen)]
        read += len(ids)
        chunk = min(2 * chunk, _MAX_CHUNK)
    selected = m.Customer.select().where(m.Customer.id.in_(chosen)).dicts()
    rows = {row["id"]: row for row in selected}
    return [rows[cid] for cid in chosen if cid in rows]  # one may have gone meanwhile


def _run_rows(
    query: CustomerQuery,
    run: _Run,
    after: Customer | None,
    *,
    ascending: bool,
    limit: int,
    sift: bool,
) -> list[Row]:
    """Up to `limit` customers of `run` past `after` (from the run's start when None), walking
    the sort order up (`ascending`) or down."""
    cid = m.Customer.id

    def order(field: peewee.Field) -> peewee.Ordering:
        return field.asc() if ascending else field.desc()

    def past(field: peewee.Field, value: object) -> peewee.Expression:
        return field > value if ascending else field < value

    where = [] if run.where is None else [run.where]
    if run.key is None:
        if after is not None:
            where.append(past(cid, after.id))
        return _matching(query, where, [order(cid)], limit)
    # Sifting for ties too: with "name = ? AND id > ?" and a filter on another indexed column,
    # SQLite may walk the filter's index instead of the few ties.
    page = _sifted if sift else _matching
    rows: list[Row] = []
    if after is not None:
        # Customers sharing the sort value of `after` first, then the values beyond it: two
        # range queries that each follow an index, where "(key, id) > (value, id)" may not.
        value = _sort_value(after, query.sort)
        ties = [*where, run.key == value, past(cid, after.id)]
        rows = page(query, ties, [order(cid)], limit)
        where.append(past(run.key, value))
    if len(rows) < limit:
        rows += page(query, where, [order(run.key), order(cid)], limit - len(rows))
    return rows


def _walk(query: CustomerQuery, start: Customer | None, *, forward: bool, limit: int) -> list[Row]:
    """Up to `limit` customers next to `start` in the query's order, nearest first: those after
    it (`forward`) or before it; from the first (or the last) customer when `start` is None."""
    descending = query.descending if forward else not query.descending
    searched = _searched(query, descending=descending, limit=limit, after=start)
    if searched is not None:
        return searched
    runs = _runs(query)
    if not forward:
        runs.reverse()
    ascending = forward != query.descending
    first = 0
    if start is not None:
        # A customer in no run (its owner's user row deleted since) is past the end.
        first = next((i for i, run in enumerate(runs) if run.holds(start)), len(runs))
    sift = any(run.key is not None for run in runs) and _matches_many(query)
    rows: list[Row] = []
    for i in range(first, len(runs)):
        if len(rows) >= limit:
            break
        after = start if i == first else None
        rows += _run_rows(
            query, runs[i], after, ascending=ascending, limit=limit - len(rows), sift=sift
        )
    return rows


def _check_window(offset: int, limit: int | None) -> None:
    if offset < 0 or (limit is not None and limit < 0):
        raise ValidationError.single("limit", _("must not be negative"))


def customers_after(
    actor: Actor, query: CustomerQuery = EVERYONE, after: Customer | None = None, *, limit: int = 50
) -> tuple[Customer, ...]:
    """The `limit` customers that follow `after` in the query's order; the first ones when None.

    `after` is a customer as read before: its sort value and id mark the place, so it may have
    changed or gone since. Nothing is counted.
    """
    authorize(actor, CUSTOMER_READ)
    _check_window(0, limit)
    query = scope.visible_query(actor, query)
    return tuple(_shown(actor, _walk(query, after, forward=True, limit=limit)))


def customers_before(
    actor: Actor,
    query: CustomerQuery = EVERYONE,
    before: Customer | None = None,
    *,
    limit: int = 50,
) -> tuple[Customer, ...]:
    """The `limit` customers that precede `before` in the query's order (in that order); the last
    ones when None, read by walking the order backwards rather than skipping to the end."""
    authorize(actor, CUSTOMER_READ)
    _check_window(0, limit)
    query = scope.visible_query(actor, query)
    rows = _walk(query, before, forward=False, limit=limit)
    rows.reverse()
    return tuple(_shown(actor, rows))


def customers_at(
    actor: Actor, query: CustomerQuery = EVERYONE, *, offset: int = 0, limit: int = 50
) -> tuple[Customer, ...]:
    """The customers at positions `offset`… of the query's order, without a count.

    For a jump with no row nearby to walk from (a scrollbar drag): OFFSET reads every row it
    skips, so this is slower the deeper it goes.
    """
    authorize(actor, CUSTOMER_READ)
    _check_window(offset, limit)
    query = scope.visible_query(actor, query)
    searched = _searched(query, descending=query.descending, offset=offset, limit=limit)
    if searched is not None:
        return tuple(_shown(actor, searched))
    runs = _runs(query)
    rows: list[Row] = []
    for i, run in enumerate(runs):
        if len(rows) >= limit:
            break
        select = _filtered(query) if run.where is None else _filtered(query).where(run.where)
        if offset and i < len(runs) - 1:
            size = select.count()
            if offset >= size:
                offset -= size
                continue
        keys = [m.Customer.id] if run.key is None else [run.key, m.Customer.id]
        order = [key.desc() if query.descending else key.asc() for key in keys]
        # Ids first, then their rows: a filter's matches may have to be sorted whole, and
        # sorting (key, id) pairs is much cheaper than sorting whole rows (SQLite, 450,000
        # matches of a million: 11 s with the rows).
        window = select.select(m.Customer.id).order_by(*order).offset(offset)
        ids = [cid for (cid,) in window.limit(limit - len(rows)).tuples()]
        selected = m.Customer.select().where(m.Customer.id.in_(ids)).dicts()
        found = {row["id"]: row for row in selected}
        rows.extend(found[cid] for cid in ids if cid in found)
        offset = 0
    return tuple(_shown(actor, rows))


# --- Acting on many customers at once ---------------------------------------------------------
#
# Each takes the customers as {id: version read} (None: whatever it is now) and applies one change
# to all of them in one transaction: each customer gets its version raised and its history rows,
# exactly as a single edit would. Anything stale, gone, refused or invalid raises and writes
# nothing. Each returns how many customers changed (one already in the wanted state is left be).

BULK_FIELDS = ("stage", "owner")


def _locked(actor: Actor, customer_id: int, version: int | None) -> m.Customer:
    row = records.get_row(ENTITY, customer_id, lock=True)
    scope.check_owner(actor, customer_id, row.owner_id)
    records.check_version(ENTITY, row, version)
    return row


def bulk_update(
    actor: Actor, versions: Mapping[int, int | None], changes: Mapping[str, object]
) -> int:
    """Set the same stage and/or owner (a user name; empty for nobody) on many customers."""
    authorize(actor, CUSTOMER_WRITE)
    unknown = sorted(set(changes) - set(BULK_FIELDS))
    if unknown or not changes:
        raise ValidationError.single(
            ", ".join(unknown) or "changes",
            _("only these can be changed on many customers at once: {fields}").format(
                fields=", ".join(BULK_FIELDS)
            ),
        )
    prepare(changes, partial=True)  # a bad value is refused before any row is read
    changed = 0
    with write_transaction():
        for customer_id, version in versions.items():
            row = _locked(actor, customer_id, version)
            if update_customer(actor, customer_id, changes, row.version).version != row.version:
                changed += 1
    return changed


def bulk_tag(
    actor: Actor,
    versions: Mapping[int, int | None],
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> int:
    """Add tags to and/or remove tags from many customers."""
    authorize(actor, CUSTOMER_WRITE)
    added, removed = clean_tags(add), clean_tags(remove)
    if not added and not removed:
        raise ValidationError.single("tags", _("name a tag to add or remove"))
    changed = 0
    with write_transaction():
        for customer_id, version in versions.items():
            row = _locked(actor, customer_id, version)
            old = tuple(tags_of([customer_id])[customer_id])
            new = clean_tags([*(t for t in old if t not in removed), *added])
            if new != old:
                update_customer(actor, customer_id, {"tags": new}, row.version)
                changed += 1
    return changed


def bulk_delete(actor: Actor, versions: Mapping[int, int | None]) -> int:
    """Delete many customers and everything recorded about them; history keeps what they were."""
    authorize(actor, CUSTOMER_WRITE)
    with write_transaction():
        for customer_id, version in versions.items():
            scope.check_customer(actor, customer_id)
            records.delete(actor, ENTITY, customer_id, version)
    return len(versions)
