"""Customers: add, read, change, delete and list, each checked, versioned and recorded."""

import json
from collections.abc import Iterable, Mapping, Sequence

import peewee

from crmtui.config import current_settings
from crmtui.i18n import _
from crmtui.store import custom_fields, records, vocabulary
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store.db import write_transaction
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import CUSTOMER_READ, CUSTOMER_WRITE, authorize
from crmtui.store.types import Actor, Customer, CustomerQuery, Page
from crmtui.store.users import user_names
from crmtui.store.validation import clean_text, phone_search_key

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
    "notes": f.text("notes", 20000, multiline=True),
    "marketing_consent": f.boolean("marketing_consent"),
    "consent_date": f.date("consent_date"),
    "external_id": f.text("external_id", 100),
}
SORTABLE = ("name", "company", "phone", "stage", "owner", "last_contact_at", "created_at", "id")
MAX_TAG_LENGTH = 64
EVERYONE = CustomerQuery()  # no filter, sorted by name


# View fields not read straight off the row; reading `row.owner` would fetch the User row
# (one query per customer in a list).
_DERIVED = frozenset({"owner", "owner_id", "custom", "tags"})


def _view(row: m.Customer, tags: Sequence[str] = (), owner: str = "") -> Customer:
    data = {
        name: getattr(row, name)
        for name in Customer.__dataclass_fields__
        if name not in _DERIVED and hasattr(row, name)
    }
    data.update(
        owner_id=row.__data__.get("owner"),
        owner=owner,
        custom=json.loads(row.custom or "{}"),
        tags=tuple(tags),
    )
    return Customer(**data)


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


def _prepare(
    values: Mapping[str, object], *, partial: bool
) -> tuple[dict[str, object], tuple[str, ...] | None, dict[str, str] | None]:
    """Clean input into plain columns, tags (None: unchanged), custom values (None: unchanged).

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
            custom = custom_fields.clean_custom_values(values["custom"])  # type: ignore[arg-type]
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    return columns, tags, custom


def _tags_of(customer_ids: Sequence[int]) -> dict[int, list[str]]:
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


def _views(rows: Sequence[m.Customer]) -> list[Customer]:
    tags = _tags_of([row.id for row in rows])
    owners = user_names({row.__data__["owner"] for row in rows if row.__data__.get("owner")})
    return [_view(row, tags[row.id], owners.get(row.__data__.get("owner"), "")) for row in rows]


def _custom_json(values: Mapping[str, str]) -> str:
    return json.dumps(dict(values), ensure_ascii=False, sort_keys=True)


def _set_tags(customer_id: int, tags: tuple[str, ...]) -> tuple[str, ...]:
    """Replace a customer's tags; return the tags it had."""
    old = tuple(_tags_of([customer_id])[customer_id])
    if old != tags:
        m.CustomerTag.delete().where(m.CustomerTag.customer == customer_id).execute()
        if tags:
            m.CustomerTag.insert_many([{"customer": customer_id, "tag": t} for t in tags]).execute()
    return old


def add_customer(actor: Actor, values: Mapping[str, object]) -> Customer:
    """Create a customer from user-facing field values (see FIELDS, plus tags and custom)."""
    authorize(actor, CUSTOMER_WRITE)
    columns, tags, custom = _prepare(values, partial=False)
    if custom:
        columns["custom"] = _custom_json({k: v for k, v in custom.items() if v})
    with write_transaction():
        row = records.insert(actor, ENTITY, columns)
        if tags:
            _set_tags(row.id, tags)
    return get_customer(actor, row.id)


def get_customer(actor: Actor, customer_id: int) -> Customer:
    authorize(actor, CUSTOMER_READ)
    return _views([records.get_row(ENTITY, customer_id)])[0]


def update_customer(
    actor: Actor, customer_id: int, changes: Mapping[str, object], expected_version: int | None
) -> Customer:
    """Apply changes if the customer is still at `expected_version` (None: whatever it is now).

    A stale version raises ConflictError and saves nothing.
    """
    authorize(actor, CUSTOMER_WRITE)
    columns, tags, custom = _prepare(changes, partial=True)
    with write_transaction():
        row = records.get_row(ENTITY, customer_id, lock=True)
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
            columns["custom"] = _custom_json(new_custom)
        if tags is not None:
            old_tags = _set_tags(customer_id, tags)
            if old_tags != tags:
                extra["tags"] = (", ".join(old_tags), ", ".join(tags))
        # A tag or custom change is a new version too, even when no column differs (tags
        # live in their own table; timestamps have whole seconds, so updated_at may not move).
        records.update(actor, ENTITY, customer_id, columns, row.version, always=bool(extra))
        if extra:
            records.record_history(actor, ENTITY, customer_id, customer_id, "update", extra)
    return get_customer(actor, customer_id)


def delete_customer(actor: Actor, customer_id: int, expected_version: int | None = None) -> None:
    """Delete a customer and everything recorded about it; history keeps what it was."""
    authorize(actor, CUSTOMER_WRITE)
    with write_transaction():
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
    term = query.search.strip()
    if term:
        condition = (
            m.Customer.name.contains(term)
            | m.Customer.company.contains(term)
            | m.Customer.email.contains(term.lower())
        )
        phone_key = phone_search_key(term, region=current_settings().default_region)
        if phone_key:
            condition |= (m.Customer.phone == phone_key) | (m.Customer.alt_phone == phone_key)
        select = select.where(condition)
    return select


def _ordered(select: peewee.ModelSelect, query: CustomerQuery) -> peewee.ModelSelect:
    if query.sort not in SORTABLE:
        raise ValidationError.single(
            "sort",
            _("cannot sort by {key!r}; choose one of: {keys}").format(
                key=query.sort, keys=", ".join(SORTABLE)
            ),
        )
    if query.sort == "owner":
        select = select.join(m.User, peewee.JOIN.LEFT_OUTER, on=(m.Customer.owner == m.User.id))
        key = m.User.name
    else:
        key = getattr(m.Customer, query.sort)
    order = key.desc(nulls="LAST") if query.descending else key.asc(nulls="LAST")
    tie = m.Customer.id.desc() if query.descending else m.Customer.id.asc()
    return select.order_by(order, tie)


def count_customers(actor: Actor, query: CustomerQuery = EVERYONE) -> int:
    authorize(actor, CUSTOMER_READ)
    return _filtered(query).count()


def list_customers(
    actor: Actor, query: CustomerQuery = EVERYONE, *, offset: int = 0, limit: int | None = 50
) -> Page:
    """One page of customers matching `query`; `limit=None` returns them all."""
    authorize(actor, CUSTOMER_READ)
    if offset < 0 or (limit is not None and limit < 0):
        raise ValidationError.single("limit", _("must not be negative"))
    select = _ordered(_filtered(query), query).offset(offset)
    if limit is not None:
        select = select.limit(limit)
    rows = _views(list(select))
    # Without a limit the rows seen are the rest of the list, unless the offset ran past
    # its end.
    everything_seen = limit is None and (bool(rows) or offset == 0)
    total = offset + len(rows) if everything_seen else _filtered(query).count()
    return Page(tuple(rows), offset, total)
