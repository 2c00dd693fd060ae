"""A person's data: exported whole, and erased so that it is nowhere in the file, its
write-ahead log or a new backup, while the business's totals stay as they were."""

import json
from pathlib import Path

import pytest

from crmtui.store import audit, backup, changes, customers, privacy, summary, timeline
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.errors import NotFoundError
from crmtui.store.types import Actor, Customer, CustomerQuery

NAME = "欧阳娜娜"
PHONE = "13987654321"
EMAIL = "nana.ouyang@example.com"


@pytest.fixture
def person(actor: Actor) -> Customer:
    """A customer whose name, phone and e-mail are in her row, a contact, her records and
    her history (she was renamed once), and in the search index."""
    found = customers.add_customer(
        actor, {"name": NAME + "X", "phone": PHONE, "email": EMAIL, "notes": f"{NAME}的备注"}
    )
    found = customers.update_customer(actor, found.id, {"name": NAME}, found.version)
    timeline.add_record(actor, timeline.CONTACT, found.id, {"name": NAME, "phone": PHONE})
    for amount in ("100", "250.50"):
        timeline.add_record(
            actor,
            timeline.PURCHASE,
            found.id,
            {"date": "2025-03-05", "product": "茶", "amount": amount, "notes": f"给{NAME}"},
        )
    timeline.add_record(
        actor, timeline.COMMUNICATION, found.id, {"at": "today", "summary": f"打给{NAME} {PHONE}"}
    )
    customers.add_customer(actor, {"name": "李雷"})  # someone else, left alone
    return found


def test_export_holds_every_table_about_the_person(actor: Actor, person: Customer) -> None:
    held = privacy.export_person(actor, person.id)
    json.dumps(held, ensure_ascii=False)  # it is JSON as it stands
    assert held["customer"]["name"] == NAME and held["customer"]["email"] == EMAIL
    assert [c["name"] for c in held["contacts"]] == [NAME]
    assert len(held["purchase"]) == 2 and len(held["communication"]) == 1
    assert any(h["old_value"] == NAME + "X" for h in held["history"])
    assert {row["action"] for row in held["audit_log"]} >= {"customer.create", "customer.update"}
    assert audit.list_entries(actor).rows[0].action == "privacy.export"


def test_erase_keeps_the_figures_and_removes_the_person(actor: Actor, person: Customer) -> None:
    figures = summary.customer_summary(actor, person.id)
    privacy.erase_person(actor, person.id)

    erased = customers.get_customer(actor, person.id)
    assert erased.name == privacy.pseudonym(person.id)
    assert (erased.phone, erased.email, erased.notes) == ("", "", "")
    assert timeline.list_records(actor, timeline.CONTACT, person.id).total == 0
    purchases = timeline.list_records(actor, timeline.PURCHASE, person.id).rows
    assert sorted(str(p.amount) for p in purchases) == ["100.00", "250.50"]
    assert {p.notes for p in purchases} == {""}
    assert summary.customer_summary(actor, person.id) == figures
    history = changes.customer_changes(actor, person.id)
    assert history and all(NAME not in (e.old_value or "") + (e.new_value or "") for e in history)
    assert customers.list_customers(actor, CustomerQuery(search="欧阳")).total == 0
    assert customers.list_customers(actor, CustomerQuery(search="李雷")).total == 1
    assert audit.list_entries(actor).rows[0].action == "privacy.erase"
    assert audit.verify(actor).ok


def test_erase_leaves_no_byte_of_the_person_in_the_file_its_log_or_a_new_backup(
    sqlite_target: str, tmp_path: Path
) -> None:
    from crmtui.store import users

    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    made = _person_on(actor)
    privacy.erase_person(actor, made.id)
    made_backup = backup.create_backup(actor, sqlite_target, directory=tmp_path / "bk")
    files = [Path(sqlite_target), Path(sqlite_target + "-wal"), Path(made_backup.path)]
    for path in files:
        data = path.read_bytes() if path.exists() else b""
        for secret in (NAME, PHONE, EMAIL, NAME[:2]):
            assert secret.encode() not in data, (path.name, secret)
    assert m.Customer.select().count() == 2


def _person_on(actor: Actor) -> Customer:
    found = customers.add_customer(actor, {"name": NAME, "phone": PHONE, "email": EMAIL})
    timeline.add_record(actor, timeline.CONTACT, found.id, {"name": NAME, "phone": PHONE})
    customers.update_customer(actor, found.id, {"notes": EMAIL}, None)
    customers.add_customer(actor, {"name": "李雷"})
    return found


def test_erasing_nobody_is_refused(actor: Actor) -> None:
    with pytest.raises(NotFoundError):
        privacy.erase_person(actor, 999)
