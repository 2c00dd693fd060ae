"""Possible duplicates of a customer being entered, on both backends."""

import pytest

from crmtui.store import customers
from crmtui.store.duplicates import LIMIT, PossibleDuplicate, possible_duplicates
from crmtui.store.errors import PermissionDeniedError
from crmtui.store.types import Actor


@pytest.fixture
def zhang(actor: Actor) -> int:
    return customers.add_customer(
        actor,
        {
            "name": "张伟",
            "company": "星河科技",
            "phone": "+86 138 1234 5678",
            "email": "zw@xinghe.cn",
        },
    ).id


def test_same_name_phone_or_email_is_found_as_the_store_cleans_them(
    actor: Actor, zhang: int
) -> None:
    customers.add_customer(actor, {"name": "李娜", "alt_phone": "13912345678"})
    found = possible_duplicates(
        actor, {"name": "  张伟 ", "phone": "138-1234-5678", "email": "ZW@XingHe.CN"}
    )
    assert found == [PossibleDuplicate(zhang, "张伟", "星河科技", ("name", "phone", "email"))]
    # A phone typed in the alternative-phone field finds the customer's main phone, and the
    # other way round.
    li = possible_duplicates(actor, {"name": "someone", "alt_phone": "", "phone": "139 1234 5678"})
    assert [(d.name, d.same) for d in li] == [("李娜", ("phone",))]


def test_nothing_shared_finds_nothing(actor: Actor, zhang: int) -> None:
    assert possible_duplicates(actor, {"name": "张伟伟", "phone": "13812345679"}) == []
    assert possible_duplicates(actor, {}) == []


def test_values_the_store_would_refuse_are_not_compared(actor: Actor, zhang: int) -> None:
    found = possible_duplicates(actor, {"name": "王芳", "phone": "12", "email": "not an address"})
    assert found == []
    assert [d.same for d in possible_duplicates(actor, {"name": "张伟", "email": "x@"})] == [
        ("name",)
    ]


def test_the_customer_being_edited_is_not_its_own_duplicate(actor: Actor, zhang: int) -> None:
    assert possible_duplicates(actor, {"name": "张伟"}, exclude=zhang) == []
    other = customers.add_customer(actor, {"name": "张伟"}).id
    assert [d.id for d in possible_duplicates(actor, {"name": "张伟"}, exclude=zhang)] == [other]


def test_at_most_a_few_lowest_ids_first(actor: Actor) -> None:
    ids = [customers.add_customer(actor, {"name": "王伟"}).id for _ in range(LIMIT + 2)]
    assert [d.id for d in possible_duplicates(actor, {"name": "王伟"})] == ids[:LIMIT]


def test_reading_customers_is_required(actor: Actor, make_actor, zhang: int) -> None:
    with pytest.raises(PermissionDeniedError):
        possible_duplicates(make_actor("nobody", "nosuchrole"), {"name": "张伟"})
