"""The audit log: what is recorded, who may read it, and that `verify` catches tampering.

Tampering is done as an intruder would: on the database file (SQLite) or server (PostgreSQL)
directly, around crmtui, after dropping the triggers that refuse it.
"""

from collections.abc import Callable

import peewee
import pytest

from crmtui.store import audit, changes, customers, exports, records
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.errors import PermissionDeniedError, ValidationError
from crmtui.store.types import Actor, Customer, CustomerQuery
from tests.tampering import edit_behind_crmtuis_back

Tamper = Callable[[str], None]


@pytest.fixture
def tamper(db: str) -> Tamper:
    """Run SQL behind crmtui's back (see tests.tampering), then open the database again."""

    def run(sql: str) -> None:
        edit_behind_crmtuis_back(db, sql)
        store_db.open_database(db)

    return run


def _actions() -> list[tuple[str, str, str]]:
    rows = m.AuditEntry.select().order_by(m.AuditEntry.seq)
    return [(row.action, row.target, row.detail) for row in rows]


def test_changes_and_views_are_recorded_with_field_names_only(
    actor: Actor, customer: Customer
) -> None:
    saved = customers.update_customer(
        actor, customer.id, {"email": "zhang@example.com", "notes": "秘密"}, customer.version
    )
    customers.open_customer(actor, customer.id)
    customers.delete_customer(actor, customer.id, saved.version)

    target = f"customer:{customer.id}"
    assert _actions() == [
        ("customer.create", target, ""),
        ("customer.update", target, "email,notes"),
        ("customer.view", target, ""),
        ("customer.delete", target, ""),
    ]
    rows = list(m.AuditEntry.select())
    assert {row.user_name for row in rows} == {actor.name}
    assert {row.customer_id for row in rows} == {customer.id}
    # No values and no names: erasing a person never has to touch the append-only log.
    text = " ".join(f"{row.target} {row.detail}" for row in rows)
    assert "zhang@example.com" not in text and "秘密" not in text and "张伟" not in text
    assert audit.verify(actor).ok


def test_a_refused_change_leaves_no_audit_row(actor: Actor, customer: Customer) -> None:
    before = _actions()
    with pytest.raises(ValidationError):
        customers.update_customer(actor, customer.id, {"email": "not an address"}, None)
    assert _actions() == before


def test_an_import_row_is_not_recorded_one_by_one(actor: Actor, customer: Customer) -> None:
    before = _actions()
    with store_db.write_transaction():
        records.record_history(
            actor,
            customers.ENTITY,
            customer.id,
            customer.id,
            "update",
            {"city": ("", "北京")},
            batch=1,
        )
    assert _actions() == before


def test_restoring_a_field_is_recorded(actor: Actor, customer: Customer) -> None:
    customers.update_customer(actor, customer.id, {"city": "上海"}, customer.version)
    change = next(e for e in changes.customer_changes(actor, customer.id) if e.field == "city")
    changes.restore_change(actor, change.id)
    assert _actions()[-1][:2] == ("customer.restore", f"customer:{customer.id}")


def test_the_ssh_client_address_is_where_it_came_from(
    actor: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 50022 22")
    customers.open_customer(actor, customer.id)
    origins = [row.origin for row in m.AuditEntry.select().order_by(m.AuditEntry.seq)]
    assert origins == ["local", "203.0.113.7"]


def test_only_admins_read_or_verify_the_log(actor: Actor, make_actor: Callable[..., Actor]) -> None:
    for role in ("manager", "sales", "marketing", "readonly"):
        other = make_actor(f"u-{role}", role)
        with pytest.raises(PermissionDeniedError):
            audit.list_entries(other)
        with pytest.raises(PermissionDeniedError):
            audit.verify(other)
    audit.list_entries(actor)


def test_listing_filters_by_user_customer_and_time(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    manager = make_actor("li", "manager")
    second = customers.add_customer(manager, {"name": "王芳"})
    page = audit.list_entries(actor, user="li")
    assert [(e.action, e.target) for e in page.rows] == [
        ("customer.create", f"customer:{second.id}")
    ]
    assert [e.seq for e in audit.list_entries(actor, customer_id=customer.id).rows] == [1]
    assert audit.list_entries(actor, since="today").total == 2
    assert audit.list_entries(actor, since="+1d").total == 0
    newest_first = [e.seq for e in audit.list_entries(actor).rows]
    assert newest_first == [2, 1]
    with pytest.raises(ValidationError):
        audit.list_entries(actor, since="the day before never")


def test_the_database_refuses_to_change_or_remove_audit_rows(
    actor: Actor, customer: Customer
) -> None:
    for query in (
        m.AuditEntry.update(detail="nothing happened"),
        m.AuditEntry.delete(),
    ):
        refused = pytest.raises(peewee.DatabaseError, match="append-only")
        with refused, store_db.write_transaction():
            query.execute()
    assert _actions() == [("customer.create", f"customer:{customer.id}", "")]


def _three_acts(actor: Actor, customer: Customer) -> None:
    customers.open_customer(actor, customer.id)
    customers.open_customer(actor, customer.id)  # rows 1 (create), 2, 3


def test_verify_finds_an_edited_row(actor: Actor, customer: Customer, tamper: Tamper) -> None:
    _three_acts(actor, customer)
    tamper("UPDATE audit_log SET user_name = 'nobody' WHERE seq = 2")
    report = audit.verify(actor)
    assert not report.ok
    assert report.problems == ("row 2 was changed after it was written",)


def test_verify_finds_a_removed_row(actor: Actor, customer: Customer, tamper: Tamper) -> None:
    _three_acts(actor, customer)
    tamper("DELETE FROM audit_log WHERE seq = 2")
    assert audit.verify(actor).problems == ("row 2 is missing",)


def test_verify_finds_a_log_cut_short(actor: Actor, customer: Customer, tamper: Tamper) -> None:
    _three_acts(actor, customer)
    tamper("DELETE FROM audit_log WHERE seq = 3")
    assert audit.verify(actor).problems == ("the log ends at row 2, but its head says row 3",)


def test_verify_checks_anchors_recorded_elsewhere(
    actor: Actor, customer: Customer, tamper: Tamper
) -> None:
    _three_acts(actor, customer)
    anchor = audit.head()
    assert anchor.seq == 3
    assert audit.verify(actor, anchors=(anchor,)).ok
    # Rewritten consistently, row and head alike: only the anchor from before tells.
    tamper("DELETE FROM audit_log WHERE seq = 3")
    tamper("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)")
    assert audit.verify(actor).ok
    assert audit.verify(actor, anchors=(anchor,)).problems == (
        "row 3, recorded by a backup, is not in the log",
    )


def test_opening_the_database_puts_dropped_triggers_back(
    actor: Actor, customer: Customer, tamper: Tamper
) -> None:
    tamper("SELECT 1")  # drops the triggers, then crmtui opens the database again
    refused = pytest.raises(peewee.DatabaseError, match="append-only")
    with refused, store_db.write_transaction():
        m.AuditEntry.delete().execute()


def test_an_export_is_one_row_with_its_filter_and_count(actor: Actor, customer: Customer) -> None:
    customers.add_customer(actor, {"name": "王芳", "stage": "active"})
    query = CustomerQuery(search="张伟", stage="new")
    assert len(list(exports.export_table(actor, "customers", query).rows)) == 1
    stopped = exports.export_records(actor, "purchases")
    stopped.close()  # never read: nothing was exported, nothing recorded
    partly = exports.export_table(actor, "customers").rows
    next(partly)
    partly.close()
    rows = list(m.AuditEntry.select().where(m.AuditEntry.action == "export"))
    assert [(r.target, r.detail, r.result) for r in rows] == [
        ("customers", "rows=1; stage=new, search=(2 characters)", "ok"),
        ("customers", "rows=1; everyone", "incomplete"),
    ]
    assert "张伟" not in " ".join(r.detail for r in rows)


def _refused_rows() -> list[tuple[str, str, str]]:
    rows = m.AuditEntry.select().where(m.AuditEntry.result == "refused").order_by(m.AuditEntry.seq)
    return [(row.user_name, row.action, row.detail) for row in rows]


def test_a_refused_act_leaves_one_refused_row(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    reader = make_actor("zhao", "readonly")
    with pytest.raises(PermissionDeniedError):
        audit.list_entries(reader)  # refused before any transaction
    with pytest.raises(PermissionDeniedError):
        customers.update_customer(reader, customer.id, {"city": "上海"}, customer.version)
    assert _refused_rows() == [("zhao", "audit.read", ""), ("zhao", "customer.write", "")]
    assert customers.get_customer(actor, customer.id).city != "上海"
    assert audit.verify(actor).ok


def test_a_refusal_inside_a_transaction_outlives_its_rollback(
    actor: Actor, customer: Customer, make_actor: Callable[..., Actor]
) -> None:
    sales = make_actor("wang", "sales")
    with pytest.raises(PermissionDeniedError), store_db.write_transaction():
        # Something written first, then refused: the write is rolled back, the refusal kept.
        customers.add_customer(actor, {"name": "王芳"})
        customers.list_customers(sales, CustomerQuery(owner="someone else"))
    assert [c.name for c in customers.list_customers(actor, limit=None).rows] == ["张伟"]
    assert _refused_rows() == [("wang", "customer.read", "owner=another user")]
    assert [a for a, _t, _d in _actions()].count("customer.create") == 1
    assert audit.verify(actor).ok


def test_asking_whether_a_role_may_records_nothing(
    actor: Actor, make_actor: Callable[..., Actor]
) -> None:
    from crmtui.store.permissions import AUDIT_READ, allowed

    reader = make_actor("zhao", "readonly")
    assert not allowed(reader, AUDIT_READ)
    assert _refused_rows() == []


def test_verify_names_the_backup_whose_head_the_log_no_longer_holds(
    actor: Actor, customer: Customer, tamper: Tamper
) -> None:
    _three_acts(actor, customer)
    row3 = m.AuditEntry.get(m.AuditEntry.seq == 3).hash
    anchors = (audit.Anchor(3, row3, source="crm-20260101T000000Z.db"),)
    assert audit.verify(actor, anchors=anchors).ok
    assert audit.verify(actor, anchors=(audit.Anchor(3, "0" * 64, source="b.db"),)).problems == (
        "row 3 differs from the one backup b.db recorded",
    )
    tamper("DELETE FROM audit_log WHERE seq = 3")
    tamper("UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)")
    assert audit.verify(actor, anchors=anchors).problems == (
        "row 3, recorded by backup crm-20260101T000000Z.db, is not in the log",
    )
