"""Version history (who, when, which field, old and new value) read back through
`changes.customer_changes`."""

import datetime as dt

from crmtui.store import changes, custom_fields, customers, timeline
from crmtui.store import models as m
from crmtui.store.types import Actor, Customer


def test_customer_changes_newest_first_with_readable_values(
    actor: Actor, customer: Customer
) -> None:
    other = customers.add_customer(actor, {"name": "Other"})
    customers.update_customer(actor, other.id, {"title": "elsewhere"}, None)
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold",))  # no customer
    customers.update_customer(
        actor,
        customer.id,
        {"key_account": True, "consent_date": "2025-03-05", "phone": "13812345678"},
        1,
    )
    purchase = timeline.add_record(
        actor,
        timeline.PURCHASE,
        customer.id,
        {"date": "2025-01-15", "product": "Widget", "amount": "1299"},
    )
    timeline.update_record(actor, timeline.PURCHASE, purchase.id, {"amount": "1300.5"}, 1)
    customers.update_customer(actor, customer.id, {"consent_date": ""}, 2)

    entries = changes.customer_changes(actor, customer.id)
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    assert all(e.at <= f.at for e, f in zip(entries[1:], entries, strict=False))
    assert {e.customer_id for e in entries} == {customer.id}
    assert {e.user_name for e in entries} == {actor.name}
    assert all(abs(e.at - m.utcnow()) < dt.timedelta(minutes=1) for e in entries)
    # One row per changed field; raw inputs and timestamps ride along without rows, a phone
    # kept as typed (restoring it gives back its raw text too).
    assert [(e.entity, e.action, e.field, e.old_value, e.new_value) for e in entries] == [
        ("customer", "update", "consent_date", "2025-03-05", None),
        ("purchase", "update", "amount", "1299.00", "1300.50"),
        ("purchase", "create", None, None, None),
        ("customer", "update", "consent_date", None, "2025-03-05"),
        ("customer", "update", "key_account", "no", "yes"),
        ("customer", "update", "phone", "", "13812345678"),
        ("customer", "create", None, None, None),
    ]
    assert [e.entity_id for e in entries[1:3]] == [purchase.id, purchase.id]
    assert [e.id for e in changes.customer_changes(actor, customer.id, limit=2)] == [
        e.id for e in entries[:2]
    ]
    assert changes.customer_changes(actor, 999_999) == []
