"""A customer's records (contacts, purchases, communications, service items, feedback) on
both backends: checked, versioned, recorded, listed newest first, removed with the customer."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from peewee import fn

from crmtui import config
from crmtui.store import changes, customers, followups, timeline
from crmtui.store import models as m
from crmtui.store.errors import ConflictError, NotFoundError, ValidationError
from crmtui.store.types import Actor, Customer

from .conftest import Counts

# kind: (values to add, what the view then holds, a change, what the change gives)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "contact": (
        {
            "name": "王芳",
            "phone": "139 8765 4321",
            "email": "Wang.Fang@Example.CN",
            "primary": "是",
        },
        {"name": "王芳", "phone": "+8613987654321", "phone_raw": "139 8765 4321"}
        | {"email": "wang.fang@example.cn", "email_raw": "Wang.Fang@Example.CN", "primary": True},
        {"title": "采购经理", "primary": False},
        {"title": "采购经理", "primary": False},
    ),
    "purchase": (
        {"date": "2025/1/15", "product": "Widget", "amount": "¥1,299.00", "quantity": "2.5"},
        {"date": dt.date(2025, 1, 15), "amount": Decimal("1299.00")}
        | {"quantity": Decimal("2.500"), "currency": "CNY", "status": "won"},
        {"amount": "1300.1", "status": "lost"},
        {"amount": Decimal("1300.10"), "status": "lost"},
    ),
    "communication": (
        {"at": dt.datetime(2025, 1, 15, 2, 30), "summary": "  called about renewal  "},
        {"at": dt.datetime(2025, 1, 15, 2, 30), "summary": "called about renewal"}
        | {"channel": "call", "outcome": ""},
        {"outcome": "agreed to a demo", "channel": "WeChat"},
        {"outcome": "agreed to a demo", "channel": "wechat"},
    ),
    "service": (
        {"title": "Install", "opened_on": "2025-01-10", "due_on": "2025-01-20"},
        {"opened_on": dt.date(2025, 1, 10), "due_on": dt.date(2025, 1, 20)}
        | {"status": "open", "kind": "support", "resolved_on": None},
        {"status": "resolved", "resolved_on": "2025-01-18"},
        {"status": "resolved", "resolved_on": dt.date(2025, 1, 18)},
    ),
    "feedback": (
        {"date": "2025年1月15日", "score": 4, "comment": "快"},
        {"date": dt.date(2025, 1, 15), "score": 4, "comment": "快", "kind": "suggestion"},
        {"score": "5", "kind": "praise"},
        {"score": 5, "kind": "praise"},
    ),
}


def view_has(view: object, expected: dict[str, Any]) -> None:
    assert {k: getattr(view, k) for k in expected} == expected


def history_of(entity: str, record_id: int) -> list[tuple[str, str | None]]:
    query = (
        m.History.select()
        .where((m.History.entity == entity) & (m.History.entity_id == record_id))
        .order_by(m.History.id)
    )
    return [(row.action, row.field) for row in query]


def test_each_kind_add_get_update_delete(
    actor: Actor, customer: Customer, subtests: pytest.Subtests
) -> None:
    for name, (values, shown, change, changed) in CASES.items():
        with subtests.test(kind=name):
            kind = timeline.KINDS[name]
            entity = kind.entity.name
            added = timeline.add_record(actor, kind, customer.id, values)
            assert (added.customer_id, added.version) == (customer.id, 1)
            view_has(added, shown)
            assert timeline.get_record(actor, kind, added.id) == added

            updated = timeline.update_record(actor, kind, added.id, change, added.version)
            assert updated.version == 2
            view_has(updated, changed)
            assert timeline.get_record(actor, kind, added.id) == updated
            recorded = history_of(entity, added.id)
            assert recorded[0] == ("create", None)
            assert sorted(recorded[1:]) == sorted(
                ("update", f)
                for f in change
                if getattr(added, f) != getattr(updated, f)  # unchanged values: no row
            )
            with pytest.raises(ConflictError):
                timeline.update_record(actor, kind, added.id, change, added.version)

            timeline.delete_record(actor, kind, added.id, updated.version)
            with pytest.raises(NotFoundError, match=f"no {entity} with id {added.id}"):
                timeline.get_record(actor, kind, added.id)
            assert history_of(entity, added.id)[-1] == ("delete", None)
            for call in (
                lambda: timeline.update_record(actor, kind, added.id, change, None),  # noqa: B023
                lambda: timeline.delete_record(actor, kind, added.id),  # noqa: B023
            ):
                with pytest.raises(NotFoundError):
                    call()


# kind: three records, oldest first, as the list should show them reversed
ORDERED: dict[str, list[dict[str, Any]]] = {
    "contact": [
        {"name": "primary", "primary": True},  # the primary contact comes first of all
        {"name": "old"},
        {"name": "new"},
    ],
    "purchase": [
        {"date": "2024-12-31", "product": "a", "amount": "1"},
        {"date": "2025-01-01", "product": "b", "amount": "1"},
        {"date": "2025-01-01", "product": "c", "amount": "1"},  # same day: later entry first
    ],
    "communication": [
        {"at": dt.datetime(2025, 1, 1, 9), "summary": "a"},
        {"at": dt.datetime(2025, 1, 1, 10), "summary": "b"},
        {"at": dt.datetime(2025, 1, 2, 8), "summary": "c"},
    ],
    "service": [
        {"title": "a", "opened_on": "2025-01-01"},
        {"title": "b", "opened_on": "2025-01-05"},
        {"title": "c", "opened_on": "2025-01-05"},
    ],
    "feedback": [
        {"date": "2025-01-03", "score": 3},
        {"date": "2025-01-04", "score": 3},
        {"date": "2025-01-09", "score": 3},
    ],
}


def test_each_kind_lists_newest_first(
    actor: Actor, customer: Customer, subtests: pytest.Subtests
) -> None:
    other = customers.add_customer(actor, {"name": "Other"})
    for name, rows in ORDERED.items():
        with subtests.test(kind=name):
            kind = timeline.KINDS[name]
            ids = [timeline.add_record(actor, kind, customer.id, v).id for v in rows]
            timeline.add_record(actor, kind, other.id, rows[0])
            expected = [ids[0], ids[2], ids[1]] if name == "contact" else ids[::-1]
            page = timeline.list_records(actor, kind, customer.id)
            assert ([r.id for r in page.rows], page.total) == (expected, 3)
            window = timeline.list_records(actor, kind, customer.id, offset=1, limit=1)
            assert ([r.id for r in window.rows], window.total) == (expected[1:2], 3)


def test_purchase_amounts_are_exact_decimals(
    actor: Actor, customer: Customer, counts: Counts
) -> None:
    for amount in ("0.10", "0.20"):
        timeline.add_record(
            actor,
            timeline.PURCHASE,
            customer.id,
            {"date": "2025-01-01", "product": "p", "amount": amount},
        )
    # The database adds whole cents: exact, never a float. Peewee hands SUM back raw (it
    # never converts SUM), so a total is read through the field with coerce(True).
    raw = m.Purchase.select(fn.SUM(m.Purchase.amount)).scalar()
    assert raw == 30
    assert not isinstance(raw, float)
    total = m.Purchase.select(fn.SUM(m.Purchase.amount).coerce(True)).scalar()
    assert total == Decimal("0.30")
    assert str(total) == "0.30"
    big = timeline.add_record(
        actor,
        timeline.PURCHASE,
        customer.id,
        {"date": "2025-01-01", "product": "p", "amount": "999,999,999,999.99", "quantity": "0.001"},
    )
    stored = timeline.get_record(actor, timeline.PURCHASE, big.id)
    assert (stored.amount, stored.quantity) == (Decimal("999999999999.99"), Decimal("0.001"))
    total = m.Purchase.select(fn.SUM(m.Purchase.amount).coerce(True)).scalar()
    assert total == Decimal("1000000000000.29")

    before = counts()
    for bad, reason in [
        ({"amount": "0.105"}, "amount: has more than 2 decimal places"),
        ({"amount": "1e30"}, "amount: '1e30' is too large"),
        ({"amount": "lots"}, "amount: 'lots' is not a number"),
        ({"quantity": "-1"}, "quantity: must be at least 0"),
        ({"quantity": "0.0001"}, "quantity: has more than 3 decimal places"),
        ({"currency": "yuan"}, "currency: is longer than 3 characters"),
    ]:
        values = {"date": "2025-01-01", "product": "p", "amount": "1", **bad}
        with pytest.raises(ValidationError) as caught:
            timeline.add_record(actor, timeline.PURCHASE, customer.id, values)
        assert str(caught.value) == reason
    assert counts() == before

    # The currency defaults to the configured one.
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[money]\ndefault_currency = "usd"\n', encoding="utf-8")
    config.reset_settings()
    values = {"date": "2025-01-01", "product": "p", "amount": "1"}
    assert timeline.add_record(actor, timeline.PURCHASE, customer.id, values).currency == "USD"
    euros = timeline.add_record(actor, timeline.PURCHASE, customer.id, values | {"currency": "eur"})
    assert euros.currency == "EUR"


def last_contact(actor: Actor, customer_id: int) -> dt.datetime | None:
    return customers.get_customer(actor, customer_id).last_contact_at


def test_communications_keep_last_contact_current(actor: Actor, customer: Customer) -> None:
    comm = timeline.COMMUNICATION
    assert last_contact(actor, customer.id) is None
    first = timeline.add_record(
        actor, comm, customer.id, {"at": dt.datetime(2025, 1, 10, 9), "summary": "first"}
    )
    assert first.user_id == actor.id  # the actor made the call unless told otherwise
    assert last_contact(actor, customer.id) == dt.datetime(2025, 1, 10, 9)
    timeline.add_record(actor, comm, customer.id, {"at": dt.datetime(2025, 1, 1), "summary": "old"})
    assert last_contact(actor, customer.id) == dt.datetime(2025, 1, 10, 9)
    newest = timeline.add_record(
        actor, comm, customer.id, {"at": dt.datetime(2025, 2, 1, 15, 45), "summary": "newest"}
    )
    assert last_contact(actor, customer.id) == dt.datetime(2025, 2, 1, 15, 45)
    timeline.update_record(actor, comm, newest.id, {"at": dt.datetime(2024, 12, 1)}, None)
    assert last_contact(actor, customer.id) == dt.datetime(2025, 1, 10, 9)
    timeline.delete_record(actor, comm, first.id)
    assert last_contact(actor, customer.id) == dt.datetime(2025, 1, 1)
    for page_row in timeline.list_records(actor, comm, customer.id).rows:
        timeline.delete_record(actor, comm, page_row.id)
    assert last_contact(actor, customer.id) is None


def test_service_due_before_opened_is_refused(
    actor: Actor, customer: Customer, counts: Counts
) -> None:
    service = timeline.SERVICE
    before = counts()
    with pytest.raises(ValidationError, match="due_on: is before the day the item was opened"):
        timeline.add_record(
            actor,
            service,
            customer.id,
            {"title": "x", "opened_on": "2025-01-10", "due_on": "2025-01-09"},
        )
    assert counts() == before
    item = timeline.add_record(
        actor,
        service,
        customer.id,
        {"title": "x", "opened_on": "2025-01-10", "due_on": "2025-01-10"},
    )
    before = counts()
    for change in ({"due_on": "2025-01-09"}, {"opened_on": "2025-01-11"}):
        with pytest.raises(ValidationError, match="due_on: is before"):
            timeline.update_record(actor, service, item.id, change, item.version)
    assert counts() == before
    assert timeline.get_record(actor, service, item.id) == item


def test_feedback_score_is_one_to_five(actor: Actor, customer: Customer, counts: Counts) -> None:
    before = counts()
    for score in (0, 6, -1, "x", ""):
        with pytest.raises(ValidationError) as caught:
            timeline.add_record(
                actor, timeline.FEEDBACK, customer.id, {"date": "2025-01-01", "score": score}
            )
        assert [p.field for p in caught.value.problems] == ["score"]
    assert counts() == before
    for score in (1, 5):
        view = timeline.add_record(
            actor, timeline.FEEDBACK, customer.id, {"date": "2025-01-01", "score": score}
        )
        assert view.score == score


REQUIRED = {
    "contact": ["name"],
    "purchase": ["amount", "date", "product"],
    "communication": ["at", "summary"],
    "service": ["opened_on", "title"],
    "feedback": ["date", "score"],
}


def test_required_fields_and_unknown_customer(
    actor: Actor, customer: Customer, counts: Counts, subtests: pytest.Subtests
) -> None:
    before = counts()
    for name, (values, *_rest) in CASES.items():
        with subtests.test(kind=name):
            kind = timeline.KINDS[name]
            with pytest.raises(ValidationError) as caught:
                timeline.add_record(actor, kind, customer.id, {})
            assert sorted(p.field for p in caught.value.problems) == REQUIRED[name]
            assert all(p.reason == "is required" for p in caught.value.problems)
            with pytest.raises(NotFoundError, match="no customer with id 999999"):
                timeline.add_record(actor, kind, 999_999, values)
            assert counts() == before


def test_deleting_a_customer_removes_its_records_but_not_their_history(
    actor: Actor, customer: Customer
) -> None:
    keep = customers.add_customer(actor, {"name": "Keep", "tags": ["vip"]})
    for target in (customer, keep):
        for name, (values, *_rest) in CASES.items():
            timeline.add_record(actor, timeline.KINDS[name], target.id, values)
        followups.add_followup(actor, target.id, {"title": "call", "due_at": "2030-01-01"})
    customers.update_customer(actor, customer.id, {"tags": ["vip"]}, None)
    dependents = [m.Contact, m.Purchase, m.Communication, m.ServiceItem, m.Feedback, m.FollowUp]
    dependents.append(m.CustomerTag)

    customers.delete_customer(actor, customer.id)
    for model in dependents:
        assert model.select().where(model.customer == customer.id).count() == 0, model
        assert model.select().where(model.customer == keep.id).count() == 1, model
    entries = changes.customer_changes(actor, customer.id)
    assert (entries[0].action, entries[0].entity, entries[0].user_name) == (
        "delete",
        "customer",
        actor.name,
    )
    created = {e.entity for e in entries if e.action == "create"}
    assert created == {
        "customer",
        "contact",
        "purchase",
        "communication",
        "service item",
        "feedback",
        "follow-up",
    }
    assert ("update", "tags") in {(e.action, e.field) for e in entries}
    assert all(e.customer_id == customer.id for e in entries)
