"""What each role sees of customers (SPEC F8): sales only its own, through every way of reading
them; marketing every customer, with phones and e-mail masked unless consented."""

from collections.abc import Callable

import pytest

from crmtui.store import (
    changes,
    customers,
    exports,
    followups,
    imports,
    queue,
    scope,
    summary,
    timeline,
)
from crmtui.store.errors import NotFoundError, PermissionDeniedError
from crmtui.store.imports import SourceRow
from crmtui.store.types import Actor, Customer, CustomerQuery


@pytest.fixture
def wang(make_actor: Callable[..., Actor]) -> Actor:
    return make_actor("wang", "sales")


@pytest.fixture
def two_books(actor: Actor, wang: Actor, make_actor: Callable[..., Actor]) -> dict[str, Customer]:
    """Wang's customer and Li's customer (both sales), each with a purchase."""
    make_actor("li", "sales")
    mine = customers.add_customer(actor, {"name": "张伟", "owner": "wang", "phone": "13812345678"})
    theirs = customers.add_customer(actor, {"name": "张丽", "owner": "li", "phone": "13900001111"})
    for customer in (mine, theirs):
        timeline.add_record(
            actor,
            timeline.PURCHASE,
            customer.id,
            {"date": "2025-03-05", "product": "茶", "amount": "100"},
        )
    return {"mine": mine, "theirs": theirs}


def test_sales_sees_only_its_own_customers_every_way(
    wang: Actor, two_books: dict[str, Customer]
) -> None:
    mine, theirs = two_books["mine"], two_books["theirs"]
    everyone = CustomerQuery()
    searched = CustomerQuery(search="张")
    assert [c.id for c in customers.list_customers(wang).rows] == [mine.id]
    assert [c.id for c in customers.list_customers(wang, searched).rows] == [mine.id]
    assert customers.count_customers(wang, searched) == 1
    assert [c.id for c in customers.customers_after(wang, everyone)] == [mine.id]
    assert [c.id for c in customers.customers_before(wang, everyone)] == [mine.id]
    assert [c.id for c in customers.customers_at(wang, everyone)] == [mine.id]
    assert customers.get_customer(wang, mine.id).name == "张伟"
    exported = list(exports.export_records(wang, "customers"))
    assert [r["id"] for r in exported] == [mine.id]
    purchases = list(exports.export_records(wang, "purchases"))
    assert {r["customer_id"] for r in purchases} == {mine.id}
    for read in (
        lambda: customers.get_customer(wang, theirs.id),
        lambda: customers.open_customer(wang, theirs.id),
        lambda: changes.customer_changes(wang, theirs.id),
        lambda: changes.list_customer_changes(wang, theirs.id),
        lambda: timeline.list_records(wang, timeline.PURCHASE, theirs.id),
        lambda: summary.customer_summary(wang, theirs.id),
    ):
        # Told what a missing customer would tell: no probing for others' ids.
        with pytest.raises(NotFoundError, match=f"no customer with id {theirs.id}"):
            read()
    with pytest.raises(PermissionDeniedError):
        customers.list_customers(wang, CustomerQuery(owner="li"))


def test_sales_changes_only_its_own_and_keeps_what_it_adds(
    actor: Actor, wang: Actor, two_books: dict[str, Customer]
) -> None:
    mine, theirs = two_books["mine"], two_books["theirs"]
    their_purchase = timeline.list_records(actor, timeline.PURCHASE, theirs.id).rows[0]
    for change in (
        lambda: customers.update_customer(wang, theirs.id, {"city": "北京"}, None),
        lambda: customers.delete_customer(wang, theirs.id),
        lambda: customers.bulk_update(wang, {theirs.id: None}, {"stage": "active"}),
        lambda: customers.bulk_tag(wang, {theirs.id: None}, add=["vip"]),
        lambda: customers.bulk_delete(wang, {theirs.id: None}),
        lambda: timeline.add_record(
            wang, timeline.COMMUNICATION, theirs.id, {"summary": "hi", "at": "today"}
        ),
        lambda: timeline.update_record(
            wang, timeline.PURCHASE, their_purchase.id, {"amount": "1"}, None
        ),
        lambda: timeline.delete_record(wang, timeline.PURCHASE, their_purchase.id),
        lambda: timeline.get_record(wang, timeline.PURCHASE, their_purchase.id),
    ):
        with pytest.raises(NotFoundError):
            change()
    assert customers.get_customer(actor, theirs.id).version == theirs.version
    assert timeline.get_record(actor, timeline.PURCHASE, their_purchase.id).amount == 100

    added = customers.add_customer(wang, {"name": "新客户"})
    assert added.owner == "wang"
    with pytest.raises(PermissionDeniedError, match="give a customer to another user"):
        customers.update_customer(wang, mine.id, {"owner": "li"}, None)
    with pytest.raises(PermissionDeniedError, match="give a customer to another user"):
        customers.add_customer(wang, {"name": "别人的", "owner": "li"})
    assert customers.update_customer(wang, mine.id, {"city": "上海"}, None).city == "上海"


def test_marketing_sees_contacts_masked_unless_consented(
    actor: Actor, make_actor: Callable[..., Actor]
) -> None:
    marketing = make_actor("mei", "marketing")
    quiet = customers.add_customer(
        actor, {"name": "王芳", "phone": "13812345678", "email": "wang.fang@example.com"}
    )
    willing = customers.add_customer(
        actor,
        {
            "name": "李雷",
            "phone": "13900001111",
            "email": "li@example.com",
            "marketing_consent": True,
            "consent_source": "官网表单",
        },
    )
    seen = customers.get_customer(marketing, quiet.id)
    assert seen.phone == "+86138****5678"
    assert seen.phone_display == "+86 138 **** 5678"
    assert seen.email == "w***@example.com"
    assert seen.name == "王芳"
    listed = {c.id: c for c in customers.list_customers(marketing).rows}
    assert listed[quiet.id].phone_raw == "138****5678"
    assert listed[willing.id].phone == "+8613900001111"
    exported = {r["id"]: r for r in exports.export_records(marketing, "customers")}
    assert exported[quiet.id]["email"] == "w***@example.com"
    assert exported[willing.id]["email"] == "li@example.com"
    table = exports.export_table(marketing, "customers")
    rows = {row[0]: row for row in table.rows}
    phone = table.columns.index("phone")
    assert rows[quiet.id][phone] == "+86138****5678"
    assert rows[willing.id][phone] == "+8613900001111"
    # Everyone else sees the numbers.
    assert customers.get_customer(actor, quiet.id).phone == "+8613812345678"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "+86 138 **** 5678"),
        ("010-6552-1234", "010-****-1234"),
        ("12345", "*****"),
        ("", ""),
    ],
)
def test_a_phone_is_masked_keeping_its_first_and_last_digits(number: str, masked: str) -> None:
    assert scope.mask_phone(number) == masked


def test_sales_sees_follow_ups_only_about_its_own_customers(
    actor: Actor, wang: Actor, two_books: dict[str, Customer]
) -> None:
    mine, theirs = two_books["mine"], two_books["theirs"]
    ours = followups.add_followup(
        actor, mine.id, {"title": "a", "due_at": "-1d", "assignee": "wang"}
    )
    stray = followups.add_followup(
        actor, theirs.id, {"title": "b", "due_at": "-1d", "assignee": "wang"}
    )
    assert [i.id for i in queue.list_queue(wang)] == [ours.id]
    assert queue.count_overdue(wang) == 1
    assert [f.id for f in followups.list_followups(wang, everyone=True).rows] == [ours.id]
    for call in (
        lambda: followups.get_followup(wang, stray.id),
        lambda: followups.complete_followup(wang, stray.id, "done"),
        lambda: followups.snooze_followup(wang, stray.id, "+1d"),
        lambda: followups.update_followup(wang, stray.id, {"title": "x"}, None),
        lambda: followups.delete_followup(wang, stray.id),
        lambda: followups.add_followup(wang, theirs.id, {"title": "c", "due_at": "+1d"}),
    ):
        with pytest.raises(NotFoundError):
            call()
    with pytest.raises(PermissionDeniedError, match="see other users' queues"):
        queue.list_queue(wang, everyone=True)
    assert followups.get_followup(actor, stray.id).title == "b"


def test_sales_imports_customers_of_its_own_and_matches_only_those(
    wang: Actor, two_books: dict[str, Customer]
) -> None:
    """An import is sales adding and editing customers: what it adds is its own, a row naming
    another owner is refused, and a key matches only its own customers (another's phone is
    not there to match, so the row is a new customer of wang's)."""
    rows = [
        SourceRow(2, {"name": "张伟", "phone": "13812345678", "city": "北京"}),  # wang's
        SourceRow(3, {"name": "张丽", "phone": "13900001111", "city": "上海"}),  # li's phone
        SourceRow(4, {"name": "新客户"}),
    ]
    summary_ = imports.import_customers(wang, rows, key="phone", on_duplicate="update")
    assert (summary_.created, summary_.updated, summary_.rejected) == (2, 1, 0)
    mine = customers.list_customers(wang, customers.EVERYONE, limit=None).rows
    assert sorted(c.name for c in mine) == ["张丽", "张伟", "新客户"]
    assert {c.owner for c in mine} == {"wang"}
    assert customers.get_customer(wang, two_books["mine"].id).city == "北京"
    rejected: list[imports.Rejected] = []
    refused = imports.import_customers(
        wang, [SourceRow(2, {"name": "给李", "owner": "li"})], reject=rejected.append
    )
    assert (refused.batch_id, refused.rejected) == (None, 1)
    assert [(r.field, r.reason) for r in rejected] == [
        ("owner", "sales may not give a customer to another user")
    ]
