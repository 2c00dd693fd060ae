"""Acting on many customers at once, on both backends: each changed customer gets its version
raised and its history rows, all in one transaction; anything stale, gone, refused or invalid
writes nothing at all."""

from collections.abc import Callable

import pytest

from crmtui.store import customers
from crmtui.store import models as m
from crmtui.store.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from crmtui.store.types import Actor, Customer

from .conftest import Counts


@pytest.fixture
def five(actor: Actor, make_actor: Callable[..., Actor]) -> list[Customer]:
    make_actor("wang", "sales")
    return [
        customers.add_customer(actor, {"name": f"c{i}", "stage": "new", "tags": ["old"]})
        for i in range(5)
    ]


def versions(rows: list[Customer]) -> dict[int, int | None]:
    return {c.id: c.version for c in rows}


def history(customer_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    rows = m.History.select().where(
        (m.History.customer_id == customer_id) & (m.History.action != "create")
    )
    return [(r.action, r.field, r.old_value, r.new_value) for r in rows.order_by(m.History.id)]


def snapshot(actor: Actor, rows: list[Customer]) -> list[Customer]:
    return [customers.get_customer(actor, c.id) for c in rows]


def test_change_stage_of_three(actor: Actor, five: list[Customer]) -> None:
    chosen = five[1:4]
    assert customers.bulk_update(actor, versions(chosen), {"stage": "active"}) == 3
    after = snapshot(actor, five)
    assert [c.stage for c in after] == ["new", "active", "active", "active", "new"]
    assert [c.version for c in after] == [1, 2, 2, 2, 1]
    for c in chosen:
        assert history(c.id) == [("update", "stage", "new", "active")]
    assert history(five[0].id) == history(five[4].id) == []


def test_customers_already_so_are_left_be(actor: Actor, five: list[Customer]) -> None:
    customers.update_customer(actor, five[0].id, {"stage": "active"}, None)
    fresh = snapshot(actor, five[:2])
    assert customers.bulk_update(actor, versions(fresh), {"stage": "active"}) == 1
    assert [c.version for c in snapshot(actor, five[:2])] == [2, 2]  # the first not raised again


def test_assign_and_unassign_owner(actor: Actor, five: list[Customer]) -> None:
    assert customers.bulk_update(actor, versions(five[:2]), {"owner": "wang"}) == 2
    assert [c.owner for c in snapshot(actor, five)] == ["wang", "wang", "", "", ""]
    assert history(five[0].id)[-1][:2] == ("update", "owner")
    fresh = snapshot(actor, five[:3])
    assert customers.bulk_update(actor, versions(fresh), {"owner": ""}) == 2
    assert [c.owner for c in snapshot(actor, five)] == [""] * 5


def test_add_and_remove_tags(actor: Actor, five: list[Customer]) -> None:
    assert customers.bulk_tag(actor, versions(five[:3]), add=["VIP", "重点客户"]) == 3
    tagged = snapshot(actor, five)
    assert [c.tags for c in tagged[:4]] == [("VIP", "old", "重点客户")] * 3 + [("old",)]
    assert history(five[0].id) == [("update", "tags", "old", "VIP, old, 重点客户")]
    # Removing a tag only some have changes only those.
    assert customers.bulk_tag(actor, versions(tagged[2:]), remove=["VIP"]) == 1
    assert [c.tags for c in snapshot(actor, five)][2:] == [("old", "重点客户"), ("old",), ("old",)]
    with pytest.raises(ValidationError, match="tags: name a tag"):
        customers.bulk_tag(actor, versions(five), add=[" "])


def test_bulk_delete(actor: Actor, five: list[Customer]) -> None:
    assert customers.bulk_delete(actor, versions(five[:2])) == 2
    assert customers.count_customers(actor) == 3
    for c in five[:2]:
        assert [entry[0] for entry in history(c.id)] == ["delete"]
        with pytest.raises(NotFoundError):
            customers.get_customer(actor, c.id)


def test_nothing_marked_changes_nothing(actor: Actor, five: list[Customer], counts: Counts) -> None:
    before = counts()
    assert customers.bulk_update(actor, {}, {"stage": "active"}) == 0
    assert customers.bulk_tag(actor, {}, add=["x"]) == 0
    assert customers.bulk_delete(actor, {}) == 0
    assert counts() == before


STALE_OR_REFUSED = [
    ("stale", ConflictError, "was changed by someone else"),
    ("gone", NotFoundError, "no customer with id"),
    ("refused", PermissionDeniedError, "may not change customers"),
    ("invalid", ValidationError, "stage"),
]


@pytest.mark.parametrize(
    ("case", "error", "message", "action"),
    [
        (*case, action)
        for case in STALE_OR_REFUSED
        for action in ("stage", "owner", "tag", "delete")
        if (case[0], action) != ("invalid", "delete")  # deleting takes no value to get wrong
    ],
)
def test_stale_or_refused_writes_nothing(
    actor: Actor,
    five: list[Customer],
    make_actor: Callable[..., Actor],
    counts: Counts,
    case: str,
    error: type[Exception],
    message: str,
    action: str,
) -> None:
    who = actor
    targets = versions(five)
    if case == "stale":  # someone saved the last one since it was read
        customers.update_customer(actor, five[-1].id, {"name": "renamed"}, None)
    elif case == "gone":
        targets[999_999] = 1
    elif case == "refused":
        who = make_actor("mkt", "marketing")
    before_rows, before = snapshot(actor, five), counts()

    def run() -> int:
        if action == "stage":
            stage = "bogus" if case == "invalid" else "active"
            return customers.bulk_update(who, targets, {"stage": stage})
        if action == "owner":
            if case == "invalid":
                return customers.bulk_update(who, targets, {"stage": "active", "name": "x"})
            return customers.bulk_update(who, targets, {"owner": "wang"})
        if action == "tag":
            tag = "x" * 65 if case == "invalid" else "new-tag"
            return customers.bulk_tag(who, targets, add=[tag])
        return customers.bulk_delete(who, targets)

    with pytest.raises(error) as caught:
        run()
    if case == "invalid" and action == "owner":
        assert "name" in str(caught.value)
    elif case == "invalid" and action == "tag":
        assert "tags" in str(caught.value)
    else:
        assert message in str(caught.value)
    assert counts() == before
    assert snapshot(actor, five) == before_rows
