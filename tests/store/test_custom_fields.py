"""Custom customer fields an admin defines: definitions, and values checked by kind."""

import pytest

from crmtui.store import custom_fields, customers
from crmtui.store import models as m
from crmtui.store.errors import NotFoundError, ValidationError
from crmtui.store.types import Actor, CustomFieldDef

from .conftest import Counts


def test_define_list_and_remove(actor: Actor, counts: Counts) -> None:
    tier = custom_fields.define_field(
        actor, "Tier", "客户等级", "Choice", (" gold ", "silver", "gold", "  ")
    )
    assert (tier.key, tier.label, tier.kind, tier.choices) == (
        "tier",
        "客户等级",
        "choice",
        ("gold", "silver"),
    )
    budget = custom_fields.define_field(actor, "budget", "", "number")
    assert budget.label == "budget"  # the key stands in for a missing label
    renewal = custom_fields.define_field(actor, "renewal_on", "Renewal", "date")
    note = custom_fields.define_field(actor, "wechat_id", "WeChat", "text")
    assert custom_fields.list_fields(actor) == [budget, renewal, tier, note]
    created = m.History.select().where(m.History.entity == "custom_field")
    assert {(h.action, h.entity_id, h.customer_id) for h in created} == {
        ("create", d.id, None) for d in (budget, renewal, tier, note)
    }

    before = counts()
    with pytest.raises(ValidationError, match="key: a field 'tier' exists already"):
        custom_fields.define_field(actor, "TIER", "Again", "text")
    assert counts() == before

    custom_fields.remove_field(actor, " BUDGET ")
    assert [d.key for d in custom_fields.list_fields(actor)] == ["renewal_on", "tier", "wechat_id"]
    removed = m.History.select().where(m.History.action == "delete").get()
    assert (removed.entity, removed.entity_id) == ("custom_field", budget.id)
    before = counts()
    with pytest.raises(NotFoundError, match="no custom field with id budget"):
        custom_fields.remove_field(actor, "budget")
    assert counts() == before


BAD_DEFINITIONS = [
    (("9lives", "L", "text", ()), ["key"]),
    (("has space", "L", "text", ()), ["key"]),
    (("", "L", "text", ()), ["key"]),
    (("x" * 65, "L", "text", ()), ["key"]),
    (("colour", "L", "colour", ()), ["kind"]),
    (("tier", "L", "choice", ()), ["choices"]),
    (("tier", "L", "choice", ("  ", "")), ["choices"]),
    (("tier", "x" * 201, "text", ()), ["label"]),
    (("-", "L", "blob", ()), ["key", "kind"]),
]


def test_bad_definitions_are_refused(
    actor: Actor, counts: Counts, subtests: pytest.Subtests
) -> None:
    before = counts()
    for (key, label, kind, choices), problem_fields in BAD_DEFINITIONS:
        with subtests.test(key=key, kind=kind):
            with pytest.raises(ValidationError) as caught:
                custom_fields.define_field(actor, key, label, kind, choices)
            assert [p.field for p in caught.value.problems] == problem_fields
            assert counts() == before


# kind, typed value, stored value
STORED = [
    ("number", "1,234.50", "1234.5"),
    ("number", "100", "100"),  # fixed-point text, never "1E+2"
    ("number", "¥2,000", "2000"),
    ("number", "1e3", "1000"),
    ("number", "0.000001", "0.000001"),
    ("number", "-0.5", "-0.5"),
    ("date", "2025/3/5", "2025-03-05"),
    ("date", "2025年3月5日", "2025-03-05"),
    ("choice", " gold ", "gold"),
    ("text", "  WeChat: zw_88  ", "WeChat: zw_88"),
]


def test_values_are_stored_by_kind(actor: Actor, subtests: pytest.Subtests) -> None:
    keys = {"number": "budget", "date": "renewal", "choice": "tier", "text": "wechat"}
    for kind, key in keys.items():
        custom_fields.define_field(actor, key, key.title(), kind, ("gold", "silver"))
    for kind, typed, stored in STORED:
        with subtests.test(kind=kind, typed=typed):
            key = keys[kind]
            added = customers.add_customer(actor, {"name": "Bob", "custom": {key: typed}})
            assert added.custom == {key: stored}
            assert customers.get_customer(actor, added.id).custom == {key: stored}


def test_values_outlive_a_removed_definition(actor: Actor) -> None:
    custom_fields.define_field(actor, "budget", "Budget", "number")
    added = customers.add_customer(actor, {"name": "Bob", "custom": {"budget": "5"}})
    custom_fields.remove_field(actor, "budget")
    kept = customers.get_customer(actor, added.id)
    assert kept.custom == {"budget": "5"}
    with pytest.raises(ValidationError, match="budget: no custom field has this name"):
        customers.update_customer(actor, added.id, {"custom": {"budget": "6"}}, kept.version)
    custom_fields.define_field(actor, "budget", "Budget", "number")
    changed = customers.update_customer(actor, added.id, {"custom": {"budget": "6"}}, kept.version)
    assert (changed.custom, changed.version) == ({"budget": "6"}, kept.version + 1)


def test_definition_view_is_plain() -> None:
    """Screens get a frozen value, never a Peewee row."""
    definition = CustomFieldDef(1, 1, "tier", "Tier", "choice", ("gold",))
    with pytest.raises(AttributeError):
        definition.key = "other"  # type: ignore[misc]
