"""Paging for the customer table, on both backends: walking the sort order from a customer
(forwards and backwards), the last page, and reading by position all agree with the OFFSET
listing of `list_customers`, for every sort column both ways, with ties and empty values."""

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from crmtui.store import customers, timeline, vocabulary
from crmtui.store.errors import ValidationError
from crmtui.store.types import Actor, Customer, CustomerQuery

LIMIT = 4  # small pages, so every walk crosses ties, runs and the empty values

# name, company, phone, stage, owner, key account, tags, last contact (None: never)
ROWS = [
    ("bravo", "delta", "13800000003", "active", "uone", True, ["vip"], dt.datetime(2025, 1, 2)),
    ("alpha", "delta", "13800000001", "new", "utwo", False, [], None),
    ("charlie", "alpha", "", "active", "", False, ["vip", "b2b"], dt.datetime(2025, 1, 1)),
    ("alpha", "bravo", "13800000002", "prospect", "uone", True, [], dt.datetime(2025, 1, 2)),
    ("bravo", "", "13800000001", "new", "", False, ["b2b"], None),
    ("delta", "charlie", "13800000002", "dormant", "utwo", False, ["vip"], dt.datetime(2025, 1, 3)),
    ("alpha", "", "", "churned", "uone", False, ["vip"], None),
    ("echo", "delta", "13800000004", "active", "utwo", True, [], dt.datetime(2025, 1, 1)),
    ("bravo", "alpha", "13800000003", "active", "", True, ["vip"], dt.datetime(2025, 1, 2)),
    ("alpha", "echo", "13800000005", "new", "uone", False, ["b2b"], None),
    ("foxtrot", "", "", "prospect", "", False, [], dt.datetime(2025, 1, 3)),
]
QUERIES = [
    CustomerQuery(sort=sort, descending=descending)
    for sort in customers.SORTABLE
    for descending in (False, True)
] + [
    CustomerQuery(stage="active", sort="name"),
    CustomerQuery(tag="vip", sort="company", descending=True),
    CustomerQuery(key_account=False, sort="owner"),
    CustomerQuery(owner="uone", sort="last_contact_at", descending=True),
    CustomerQuery(tag="vip", stage="active", sort="stage"),
    CustomerQuery(search="alpha", sort="phone"),
    CustomerQuery(stage="churned", tag="none", sort="name"),  # nothing matches
]


@pytest.fixture
def sortable(actor: Actor, make_actor: Callable[..., Actor]) -> None:
    """Customers with repeated and empty values in every sort column.

    Values sort the same under any collation (lower-case ASCII, equal-length phones).
    """
    make_actor("uone", "sales")
    make_actor("utwo", "sales")
    for name, company, phone, stage, owner, key, tags, contact in ROWS:
        values = {"name": name, "company": company, "phone": phone, "stage": stage}
        email = f"{company}@example.com" if company else ""
        values.update(owner=owner, key_account=key, tags=tags, email=email)
        added = customers.add_customer(actor, values)
        if contact:
            timeline.add_record(
                actor, timeline.COMMUNICATION, added.id, {"at": contact, "summary": "call"}
            )


@pytest.fixture(params=["planner", "sifted"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each way of reading a filtered page: the database's own plan, and (with every filter
    and tag counted as matching many) candidates in sort order sifted through the filter."""
    customers._many_cache.clear()
    if request.param == "sifted":
        monkeypatch.setattr(customers, "_MANY", 1)
    yield request.param
    customers._many_cache.clear()


def listed(actor: Actor, query: CustomerQuery) -> list[int]:
    return [c.id for c in customers.list_customers(actor, query, limit=None).rows]


def ids(rows: tuple[Customer, ...]) -> list[int]:
    return [c.id for c in rows]


def test_walks_agree_with_offset_paging(
    actor: Actor, sortable: None, plan: str, subtests: pytest.Subtests
) -> None:
    for query in QUERIES:
        with subtests.test(query=query):
            expected = listed(actor, query)
            everyone = customers.list_customers(actor, query, limit=None).rows

            # Forwards from the start, a page after the last row of the page before.
            walked: list[int] = []
            page = customers.customers_after(actor, query, None, limit=LIMIT)
            while page:
                walked += ids(page)
                page = customers.customers_after(actor, query, page[-1], limit=LIMIT)
            assert walked == expected

            # Backwards from the last page, a page before the first row of the page after.
            walked = []
            page = customers.customers_before(actor, query, None, limit=LIMIT)
            while page:
                walked = ids(page) + walked
                page = customers.customers_before(actor, query, page[0], limit=LIMIT)
            assert walked == expected

            # From every row, both ways, and by position.
            for i, customer in enumerate(everyone):
                after = customers.customers_after(actor, query, customer, limit=LIMIT)
                assert ids(after) == expected[i + 1 : i + 1 + LIMIT]
                before = customers.customers_before(actor, query, customer, limit=LIMIT)
                assert ids(before) == expected[max(0, i - LIMIT) : i]
            for offset in range(len(expected) + 2):
                at = customers.customers_at(actor, query, offset=offset, limit=LIMIT)
                assert ids(at) == expected[offset : offset + LIMIT]


def test_the_last_page_is_read_from_the_end(actor: Actor, sortable: None) -> None:
    query = CustomerQuery(sort="last_contact_at")
    expected = listed(actor, query)
    assert ids(customers.customers_before(actor, query, None, limit=3)) == expected[-3:]
    # Customers never contacted come last, both ways.
    last = customers.customers_before(actor, query, None, limit=4)
    assert [c.last_contact_at for c in last] == [None] * 4
    reverse = CustomerQuery(sort="last_contact_at", descending=True)
    assert [
        c.last_contact_at for c in customers.customers_before(actor, reverse, None, limit=4)
    ] == [None] * 4


def test_stages_sort_in_lifecycle_order(actor: Actor, sortable: None) -> None:
    stages = [
        c.stage
        for c in customers.customers_after(actor, CustomerQuery(sort="stage"), None, limit=50)
    ]
    assert stages == sorted(stages, key=vocabulary.STAGES.index)
    assert stages[0] == "new" and stages[-1] == "churned"


def test_a_customer_changed_since_still_marks_its_place(actor: Actor, sortable: None) -> None:
    query = CustomerQuery()
    first = customers.customers_after(actor, query, None, limit=3)
    # Someone renames the third customer so it sorts last; the next page still follows the
    # place it had when it was read.
    customers.update_customer(actor, first[2].id, {"name": "zulu"}, None)
    after = customers.customers_after(actor, query, first[2], limit=2)
    assert [c.name for c in after] == ["alpha", "bravo"]  # the fourth alpha, the first bravo
    assert first[2].id not in ids(after)


def test_paging_refuses_what_list_customers_refuses(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="sort: cannot sort by 'notes'"):
        customers.customers_after(actor, CustomerQuery(sort="notes"), None, limit=5)
    with pytest.raises(ValidationError, match="limit: must not be negative"):
        customers.customers_before(actor, CustomerQuery(), None, limit=-1)
    with pytest.raises(ValidationError, match="limit: must not be negative"):
        customers.customers_at(actor, CustomerQuery(), offset=-1, limit=5)
