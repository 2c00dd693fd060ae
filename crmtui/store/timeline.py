"""A customer's records (SPEC F2): contacts, purchases, communications, service items, feedback.

Every kind shares one set of operations (add, get, update, delete, list newest first), each
checked, versioned and recorded in history like a customer.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import peewee

from crmtui.config import current_settings
from crmtui.i18n import _
from crmtui.store import customers, records, scope, search, vocabulary
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store import types as t
from crmtui.store.db import write_transaction
from crmtui.store.errors import NotFoundError, ValidationError
from crmtui.store.permissions import CUSTOMER_READ, HISTORY_READ, HISTORY_WRITE, authorize
from crmtui.store.types import Actor, Page


def plain_view(view_type: type) -> Callable[[Any], Any]:
    """Build a frozen view from a row whose columns match the view's fields (FKs as `x_id`)."""

    def convert(row: peewee.Model) -> Any:
        data = {}
        for name in view_type.__dataclass_fields__:
            column = name.removesuffix("_id") if name.endswith("_id") else name
            data[name] = row.__data__.get(column)
        return view_type(**data)

    return convert


@dataclass(frozen=True)
class Kind:
    """One kind of customer record and how it is checked, ordered and kept consistent."""

    entity: records.Entity[Any]
    fields: Mapping[str, f.FieldSpec]
    newest_first: tuple[peewee.Field, ...]
    defaults: Callable[[Actor], dict[str, object]] = lambda actor: {}
    after_write: Callable[[int], None] = lambda customer_id: None


def touch_last_contact(customer_ids: Collection[int]) -> None:
    """Keep each customer's last-contact time equal to its newest communication: one
    statement for any number of customers (an import adds communications to thousands)."""
    if not customer_ids:
        return
    newest = m.Communication.select(peewee.fn.MAX(m.Communication.at)).where(
        m.Communication.customer == m.Customer.id
    )
    m.Customer.update(last_contact_at=newest).where(m.Customer.id.in_(list(customer_ids))).execute()


def _touch_last_contact(customer_id: int) -> None:
    touch_last_contact([customer_id])


def _money_defaults(actor: Actor) -> dict[str, object]:
    return {"currency": current_settings().default_currency}


CONTACT = Kind(
    records.Entity("contact", m.Contact, plain_view(t.Contact)),
    {
        "name": f.text("name", required=True),
        "title": f.text("title"),
        "phone": f.phone("phone"),
        "email": f.email("email"),
        "primary": f.boolean("primary"),
        "notes": f.text("notes", 4000, multiline=True),
    },
    (m.Contact.primary.desc(), m.Contact.id.desc()),
    after_write=search.index_customer,  # contact names and phones are searched
)
PURCHASE = Kind(
    records.Entity("purchase", m.Purchase, plain_view(t.Purchase)),
    {
        "date": f.date("date", required=True),
        "product": f.text("product", required=True),
        "category": f.text("category", 100),
        "quantity": f.decimal("quantity", 3, minimum=Decimal(0)),
        "amount": f.decimal("amount", 2, required=True),
        "currency": f.currency("currency"),
        "status": f.choice("status", vocabulary.DEAL_STATUSES),
        "notes": f.text("notes", 4000, multiline=True),
    },
    (m.Purchase.date.desc(), m.Purchase.id.desc()),
    defaults=_money_defaults,
)
COMMUNICATION = Kind(
    records.Entity("communication", m.Communication, plain_view(t.Communication)),
    {
        "at": f.moment("at", required=True),
        "channel": f.choice("channel", vocabulary.CHANNELS),
        "user": f.user("user"),
        "summary": f.text("summary", 4000, required=True, multiline=True),
        "outcome": f.text("outcome", 4000, multiline=True),
    },
    (m.Communication.at.desc(), m.Communication.id.desc()),
    defaults=lambda actor: {"user": actor.id},
    after_write=_touch_last_contact,
)
SERVICE = Kind(
    records.Entity("service item", m.ServiceItem, plain_view(t.ServiceItem)),
    {
        "kind": f.choice("kind", vocabulary.SERVICE_KINDS),
        "title": f.text("title", required=True),
        "opened_on": f.date("opened_on", required=True),
        "due_on": f.date("due_on"),
        "resolved_on": f.date("resolved_on"),
        "status": f.choice("status", vocabulary.SERVICE_STATUSES),
        "assignee": f.user("assignee"),
        "notes": f.text("notes", 4000, multiline=True),
    },
    (m.ServiceItem.opened_on.desc(), m.ServiceItem.id.desc()),
)
FEEDBACK = Kind(
    records.Entity("feedback", m.Feedback, plain_view(t.Feedback)),
    {
        "date": f.date("date", required=True),
        "channel": f.choice("channel", vocabulary.CHANNELS),
        "score": f.integer("score", 1, 5, required=True),
        "kind": f.choice("kind", vocabulary.FEEDBACK_KINDS),
        "comment": f.text("comment", 4000, multiline=True),
    },
    (m.Feedback.date.desc(), m.Feedback.id.desc()),
)
KINDS: dict[str, Kind] = {
    "contact": CONTACT,
    "purchase": PURCHASE,
    "communication": COMMUNICATION,
    "service": SERVICE,
    "feedback": FEEDBACK,
}


def _check_dates(kind: Kind, columns: Mapping[str, object]) -> None:
    if kind is SERVICE:
        opened, due = columns.get("opened_on"), columns.get("due_on")
        if opened and due and due < opened:  # type: ignore[operator]
            raise ValidationError.single("due_on", _("is before the day the item was opened"))


def new_record_values(actor: Actor, kind: Kind) -> dict[str, object]:
    """The values a new record of `kind` starts with (users as ids), for a form to show:
    refused to a role that could not save it."""
    authorize(actor, HISTORY_WRITE)
    return {**records.column_defaults(kind.entity, kind.fields), **kind.defaults(actor)}


def add_record(actor: Actor, kind: Kind, customer_id: int, values: Mapping[str, object]) -> Any:
    """Add a record of `kind` to a customer; return it as a frozen view."""
    authorize(actor, HISTORY_WRITE)
    columns = f.clean_fields(kind.fields, {**kind.defaults(actor), **values}, partial=False)
    _check_dates(kind, columns)
    with write_transaction():
        owner = records.get_row(customers.ENTITY, customer_id).owner_id
        scope.check_owner(actor, customer_id, owner)
        row = records.insert(actor, kind.entity, {**columns, "customer": customer_id})
        kind.after_write(customer_id)
    return kind.entity.to_view(row)


def get_record(actor: Actor, kind: Kind, record_id: int) -> Any:
    authorize(actor, HISTORY_READ)
    row = records.get_row(kind.entity, record_id)
    _check_record(actor, kind, row)
    return kind.entity.to_view(row)


def _check_record(actor: Actor, kind: Kind, row: Any) -> None:
    """Refuse (as not found) a record of a customer `actor` may not see."""
    if scope.own_only(actor):
        try:
            scope.check_customer(actor, row.__data__["customer"])
        except NotFoundError:
            raise NotFoundError(kind.entity.name, row.id) from None


def update_record(
    actor: Actor,
    kind: Kind,
    record_id: int,
    changes: Mapping[str, object],
    expected_version: int | None,
    *,
    action: str = "update",
) -> Any:
    """Apply changes if the record is still at `expected_version`; history rows name `action`
    ("restore" when a change is undone from history)."""
    authorize(actor, HISTORY_WRITE)
    columns = f.clean_fields(kind.fields, changes, partial=True)
    with write_transaction():
        _check_record(actor, kind, records.get_row(kind.entity, record_id))
        row, _changes = records.update(
            actor, kind.entity, record_id, columns, expected_version, action=action
        )
        _check_dates(kind, row.__data__)
        kind.after_write(row.__data__["customer"])
    return kind.entity.to_view(row)


def delete_record(
    actor: Actor, kind: Kind, record_id: int, expected_version: int | None = None
) -> None:
    authorize(actor, HISTORY_WRITE)
    with write_transaction():
        row = records.get_row(kind.entity, record_id)
        _check_record(actor, kind, row)
        records.delete(actor, kind.entity, record_id, expected_version)
        kind.after_write(row.__data__["customer"])


def list_records(
    actor: Actor, kind: Kind, customer_id: int, *, offset: int = 0, limit: int | None = 100
) -> Page:
    """A customer's records of `kind`, newest first."""
    authorize(actor, HISTORY_READ)
    authorize(actor, CUSTOMER_READ)
    scope.check_customer(actor, customer_id)
    model = kind.entity.model
    select = model.select().where(model.customer == customer_id)
    page = select.order_by(*kind.newest_first).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    rows = tuple(kind.entity.to_view(row) for row in page)
    return Page(rows, offset, select.count())
