"""Restoring a field's old value from version history (SPEC F7), on both backends: through the
record's own service, versioned, and recorded as a "restore" change."""

import datetime as dt
from decimal import Decimal

import pytest

from crmtui.store import changes, custom_fields, customers, followups, timeline
from crmtui.store.errors import NotFoundError, PermissionDeniedError, StoreError
from crmtui.store.types import Actor, Customer, HistoryEntry

from .conftest import Counts


def change_of(actor: Actor, customer_id: int, field: str) -> HistoryEntry:
    """The newest history row that changed `field`."""
    return next(e for e in changes.customer_changes(actor, customer_id) if e.field == field)


def test_a_customer_field_is_restored_and_the_restore_recorded(
    actor: Actor, customer: Customer
) -> None:
    customers.update_customer(actor, customer.id, {"email": "old@example.com"}, None)
    customers.update_customer(actor, customer.id, {"email": "new@example.com"}, None)
    before = customers.get_customer(actor, customer.id)

    written = changes.restore_change(actor, change_of(actor, customer.id, "email").id)

    after = customers.get_customer(actor, customer.id)
    assert after.email == "old@example.com"
    assert after.version == before.version + 1
    assert [(e.action, e.field, e.old_value, e.new_value) for e in written] == [
        ("restore", "email", "new@example.com", "old@example.com")
    ]
    newest = changes.customer_changes(actor, customer.id, limit=1)[0]
    assert (newest.id, newest.action, newest.user_name) == (written[0].id, "restore", actor.name)

    # A restore is a change like any other: restoring it undoes it.
    changes.restore_change(actor, written[0].id)
    assert customers.get_customer(actor, customer.id).email == "new@example.com"


def test_a_phone_is_restored_as_it_was_typed_with_its_extension(
    actor: Actor, customer: Customer
) -> None:
    """The stored number (E.164) has no room for an extension: only the typed text keeps it,
    so history keeps a phone as typed, and restoring it gives back all three forms."""
    customers.update_customer(actor, customer.id, {"phone": "010-6552 9988 转 8001"}, None)
    customers.update_customer(actor, customer.id, {"phone": "13912345678"}, None)

    written = changes.restore_change(actor, change_of(actor, customer.id, "phone").id)

    after = customers.get_customer(actor, customer.id)
    assert (after.phone, after.phone_raw, after.phone_display) == (
        "+861065529988",
        "010-6552 9988 转 8001",
        "+86 10 6552 9988",
    )
    assert [(e.field, e.old_value, e.new_value) for e in written] == [
        ("phone", "13912345678", "010-6552 9988 转 8001")
    ]


@pytest.mark.parametrize(
    ("field", "first", "second", "expected"),
    [
        ("phone", "138 1234 5678", "139 8765 4321", "+8613812345678"),
        ("stage", "prospect", "active", "prospect"),
        ("key_account", True, False, True),
        ("consent_date", "2025-03-05", "", dt.date(2025, 3, 5)),
        ("notes", "", "line one\nline two", ""),
    ],
)
def test_plain_customer_fields_of_each_kind(
    actor: Actor, customer: Customer, field: str, first: object, second: object, expected: object
) -> None:
    customers.update_customer(actor, customer.id, {field: first}, None)
    customers.update_customer(actor, customer.id, {field: second}, None)
    changes.restore_change(actor, change_of(actor, customer.id, field).id)
    assert getattr(customers.get_customer(actor, customer.id), field) == expected


def test_owner_tags_and_custom_fields(actor: Actor, customer: Customer, make_actor) -> None:
    other = make_actor("li.na", "sales")
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold", "silver"))
    customers.update_customer(
        actor,
        customer.id,
        {"owner": actor.name, "tags": ["vip", "b2b"], "custom": {"tier": "gold"}},
        None,
    )
    customers.update_customer(
        actor, customer.id, {"owner": other.name, "tags": ["lost"], "custom": {"tier": ""}}, None
    )
    for field in ("owner", "tags", "custom.tier"):
        changes.restore_change(actor, change_of(actor, customer.id, field).id)
    restored = customers.get_customer(actor, customer.id)
    # The owner is kept by id in history; restoring it must not look the id up as a name.
    assert (restored.owner_id, restored.owner) == (actor.id, actor.name)
    assert restored.tags == ("b2b", "vip")
    assert restored.custom == {"tier": "gold"}


def test_timeline_and_follow_up_fields(
    actor: Actor, customer: Customer, beijing_time: None
) -> None:
    purchase = timeline.add_record(
        actor,
        timeline.PURCHASE,
        customer.id,
        {"date": "2025-01-15", "product": "Widget", "amount": "1299"},
    )
    timeline.update_record(actor, timeline.PURCHASE, purchase.id, {"amount": "1300.50"}, None)
    call = timeline.add_record(
        actor,
        timeline.COMMUNICATION,
        customer.id,
        {"at": dt.datetime(2025, 3, 5, 22, 30), "summary": "Intro call"},
    )
    timeline.update_record(
        actor, timeline.COMMUNICATION, call.id, {"at": dt.datetime(2025, 4, 1, 8, 0)}, None
    )
    followup = followups.add_followup(
        actor, customer.id, {"title": "Call back", "due_at": dt.datetime(2025, 5, 1, 1, 0)}
    )
    followups.update_followup(actor, followup.id, {"title": "Visit"}, None)

    for field in ("amount", "at", "title"):
        changes.restore_change(actor, change_of(actor, customer.id, field).id)

    assert timeline.get_record(actor, timeline.PURCHASE, purchase.id).amount == Decimal("1299.00")
    # History keeps moments in UTC; read as typed text they would shift by the local offset.
    restored_at = dt.datetime(2025, 3, 5, 22, 30)
    assert timeline.get_record(actor, timeline.COMMUNICATION, call.id).at == restored_at
    assert customers.get_customer(actor, customer.id).last_contact_at == restored_at
    assert followups.get_followup(actor, followup.id).title == "Call back"
    entries = changes.customer_changes(actor, customer.id, limit=3)
    assert [(e.entity, e.action, e.field) for e in entries] == [
        ("follow-up", "restore", "title"),
        ("communication", "restore", "at"),
        ("purchase", "restore", "amount"),
    ]


def test_what_cannot_be_restored_is_refused_and_writes_nothing(
    actor: Actor, customer: Customer, counts: Counts
) -> None:
    purchase = timeline.add_record(
        actor, timeline.PURCHASE, customer.id, {"date": "2025-01-15", "product": "W", "amount": "1"}
    )
    timeline.update_record(actor, timeline.PURCHASE, purchase.id, {"amount": "2"}, None)
    amount_change = change_of(actor, customer.id, "amount")
    for title in ("CEO", "", "CEO"):
        customers.update_customer(actor, customer.id, {"title": title}, None)
    timeline.delete_record(actor, timeline.PURCHASE, purchase.id)
    entries = changes.customer_changes(actor, customer.id)
    created = next(e for e in entries if e.action == "create")
    deleted = next(e for e in entries if e.action == "delete")
    # "CEO" -> "": its old value is the title the customer has again now.
    emptied = next(e for e in entries if e.field == "title" and e.new_value == "")
    before = counts()

    for entry, message in [
        (created, "only a field's old value can be restored"),
        (deleted, "only a field's old value can be restored"),
        (amount_change, f"purchase {purchase.id} has been deleted"),
        (emptied, "already has this title"),
    ]:
        with pytest.raises(StoreError, match=message):
            changes.restore_change(actor, entry.id)
        assert counts() == before
    with pytest.raises(NotFoundError):
        changes.restore_change(actor, 999_999)


def test_the_restore_obeys_permissions(actor: Actor, customer: Customer, make_actor) -> None:
    customers.update_customer(actor, customer.id, {"title": "CEO"}, None)
    entry = change_of(actor, customer.id, "title")
    for role in ("marketing", "readonly"):
        with pytest.raises(PermissionDeniedError):
            changes.restore_change(make_actor(role, role), entry.id)
    assert customers.get_customer(actor, customer.id).title == "CEO"


def test_history_pages(actor: Actor, customer: Customer) -> None:
    for n in range(7):
        customers.update_customer(actor, customer.id, {"title": f"T{n}"}, None)
    everything = changes.customer_changes(actor, customer.id)
    first = changes.list_customer_changes(actor, customer.id, offset=0, limit=3)
    rest = changes.list_customer_changes(actor, customer.id, offset=3, limit=None)
    assert (first.total, rest.total, rest.offset) == (8, 8, 3)
    assert list(first.rows + rest.rows) == everything
