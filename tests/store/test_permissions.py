"""Who may do what: reads and writes by role, deny by default, on both backends."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from crmtui.store import (
    changes,
    custom_fields,
    customers,
    followups,
    health,
    permissions,
    timeline,
    users,
    vocabulary,
)
from crmtui.store.errors import PermissionDeniedError
from crmtui.store.types import Actor, CustomerQuery

from .conftest import Counts, refused_rows

Op = Callable[[Actor, dict[str, Any]], object]


@pytest.fixture
def data(actor: Actor) -> dict[str, Any]:
    """One of everything, made by the admin."""
    customer = customers.add_customer(actor, {"name": "张伟", "tags": ["vip"]})
    purchase = timeline.add_record(
        actor, timeline.PURCHASE, customer.id, {"date": "2025-01-01", "product": "p", "amount": "1"}
    )
    followup = followups.add_followup(
        actor, customer.id, {"title": "call", "due_at": dt.datetime(2090, 1, 1)}
    )
    custom_fields.define_field(actor, "tier", "Tier", "text")
    return {"customer": customer, "purchase": purchase, "followup": followup}


# name: a read, returning something to compare with READ_RESULTS
READS: dict[str, Op] = {
    "get customer": lambda a, d: customers.get_customer(a, d["customer"].id).name,
    "list customers": lambda a, d: customers.list_customers(a, CustomerQuery(tag="vip")).total,
    "count customers": lambda a, d: customers.count_customers(a),
    "get record": lambda a, d: timeline.get_record(a, timeline.PURCHASE, d["purchase"].id).product,
    "list records": lambda a, d: (
        timeline.list_records(a, timeline.PURCHASE, d["customer"].id).total
    ),
    "get follow-up": lambda a, d: followups.get_followup(a, d["followup"].id).title,
    "list follow-ups": lambda a, d: followups.list_followups(a, everyone=True).total,
    "count overdue": lambda a, d: followups.count_overdue(a),
    "history": lambda a, d: len(changes.customer_changes(a, d["customer"].id)),
    "list fields": lambda a, d: [f.key for f in custom_fields.list_fields(a)],
    "list users": lambda a, d: len(users.list_users(a)),
}
READ_RESULTS = {
    "get customer": "张伟",
    "list customers": 1,
    "count customers": 1,
    "get record": "p",
    "list records": 1,
    "get follow-up": "call",
    "list follow-ups": 1,
    "count overdue": 0,
    "history": 3,
    "list fields": ["tier"],
    "list users": 2,
}

WRITES: dict[str, Op] = {
    "add customer": lambda a, d: customers.add_customer(a, {"name": "x"}),
    "update customer": lambda a, d: customers.update_customer(
        a, d["customer"].id, {"name": "x"}, None
    ),
    "delete customer": lambda a, d: customers.delete_customer(a, d["customer"].id),
    "add record": lambda a, d: timeline.add_record(
        a, timeline.FEEDBACK, d["customer"].id, {"date": "2025-01-01", "score": 5}
    ),
    "update record": lambda a, d: timeline.update_record(
        a, timeline.PURCHASE, d["purchase"].id, {"amount": "2"}, None
    ),
    "delete record": lambda a, d: timeline.delete_record(a, timeline.PURCHASE, d["purchase"].id),
    "add follow-up": lambda a, d: followups.add_followup(
        a, d["customer"].id, {"title": "t", "due_at": "+1d"}
    ),
    "update follow-up": lambda a, d: followups.update_followup(
        a, d["followup"].id, {"title": "t"}, None
    ),
    "complete follow-up": lambda a, d: followups.complete_followup(a, d["followup"].id, "ok"),
    "snooze follow-up": lambda a, d: followups.snooze_followup(a, d["followup"].id, "+1d"),
    "define field": lambda a, d: custom_fields.define_field(a, "new", "New", "text"),
    "remove field": lambda a, d: custom_fields.remove_field(a, "tier"),
    "check database": lambda a, d: health.check_database(a, "x"),
}


def test_readonly_reads_but_every_write_is_refused(
    data: dict[str, Any],
    make_actor: Callable[..., Actor],
    counts: Counts,
    subtests: pytest.Subtests,
) -> None:
    viewer = make_actor("viewer", "readonly")
    for name, read in READS.items():
        with subtests.test(read=name):
            assert read(viewer, data) == READ_RESULTS[name]
    before = counts()
    for name, write in WRITES.items():
        with subtests.test(write=name):
            refused = len(refused_rows())
            with pytest.raises(PermissionDeniedError) as caught:
                write(viewer, data)
            assert str(caught.value).startswith("viewer may not ")
            assert counts() == before
            # One audit row for the refusal, kept though its transaction rolled back.
            assert refused_rows()[refused:] == [("viewer", refused_rows()[-1][1])]
    with pytest.raises(PermissionDeniedError, match="viewer may not change customers"):
        WRITES["add customer"](viewer, data)


def test_unknown_role_is_denied_everything(
    data: dict[str, Any],
    make_actor: Callable[..., Actor],
    counts: Counts,
    subtests: pytest.Subtests,
) -> None:
    stranger = make_actor("stranger", "wizard")
    before = counts()
    for name, call in {**READS, **WRITES}.items():
        with subtests.test(call=name):
            refused = len(refused_rows())
            with pytest.raises(PermissionDeniedError):
                call(stranger, data)
            assert counts() == before
            assert [who for who, _act in refused_rows()[refused:]] == ["stranger"]


# role, permission, granted
MATRIX = [
    ("admin", permissions.FIELD_ADMIN, True),
    ("admin", permissions.DATABASE_CHECK, True),
    ("manager", permissions.CUSTOMER_WRITE, True),
    ("manager", permissions.FIELD_ADMIN, False),
    ("sales", permissions.HISTORY_WRITE, True),
    ("sales", permissions.DATABASE_CHECK, False),
    ("sales", permissions.DEMO_LOAD, False),
    ("marketing", permissions.CUSTOMER_READ, True),
    ("marketing", permissions.CUSTOMER_WRITE, False),
    ("marketing", permissions.HISTORY_READ, False),
    ("marketing", permissions.FOLLOWUP_READ, False),
    ("readonly", permissions.CUSTOMER_READ, True),
    ("readonly", permissions.HISTORY_READ, True),
    ("readonly", permissions.CUSTOMER_WRITE, False),
    ("readonly", permissions.FOLLOWUP_WRITE, False),
    ("readonly", permissions.DATABASE_CHECK, False),
    ("admin", permissions.USER_ADMIN, True),
    ("manager", permissions.USER_ADMIN, False),
    ("sales", permissions.USER_ADMIN, False),
    ("readonly", permissions.USER_ADMIN, False),
    ("marketing", permissions.ACCOUNT_SELF, True),
    ("readonly", permissions.ACCOUNT_SELF, True),
    ("", permissions.ACCOUNT_SELF, False),
    ("", permissions.CUSTOMER_READ, False),
    ("Admin", permissions.CUSTOMER_READ, False),  # roles are exact names
]


@pytest.mark.parametrize(("role", "permission", "granted"), MATRIX)
def test_role_matrix(role: str, permission: str, granted: bool) -> None:
    actor = Actor(1, "someone", role)
    assert permissions.allowed(actor, permission) is granted
    if granted:
        permissions.authorize(actor, permission)
    else:
        with pytest.raises(PermissionDeniedError):
            permissions.authorize(actor, permission)


@pytest.mark.parametrize("undeclared", ["customer.delete_all", "", "admin", "CUSTOMER.READ"])
def test_undeclared_permission_refuses_even_admin(undeclared: str) -> None:
    admin = Actor(1, "root", "admin")
    assert permissions.allowed(admin, undeclared) is False
    with pytest.raises(PermissionDeniedError) as caught:
        permissions.authorize(admin, undeclared)
    assert str(caught.value) == f"root may not {undeclared}"


def test_every_role_is_defined_and_every_permission_described() -> None:
    assert set(permissions.ROLE_PERMISSIONS) == set(vocabulary.ROLES)
    granted = set().union(*permissions.ROLE_PERMISSIONS.values())
    assert granted == set(permissions._DESCRIPTIONS)
    assert permissions.ROLE_PERMISSIONS["admin"] == granted  # admin can do every declared thing


def test_denial_names_user_and_action() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        permissions.authorize(Actor(7, "li.na", "marketing"), permissions.FOLLOWUP_WRITE)
    assert str(caught.value) == "li.na may not change follow-ups"
    assert (caught.value.user, caught.value.action) == ("li.na", "change follow-ups")
