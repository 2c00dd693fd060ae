"""Customers on both backends: writes are validated, versioned and recorded; lists search,
filter, sort and page."""

import datetime as dt
import json
from collections.abc import Callable

import pytest

from crmtui import config
from crmtui.store import changes, custom_fields, customers, timeline, vocabulary
from crmtui.store import models as m
from crmtui.store.db import current_database, is_postgres_url
from crmtui.store.errors import ConflictError, NotFoundError, ValidationError
from crmtui.store.types import Actor, Customer, CustomerQuery

from .conftest import Counts

FULL = {
    "name": "  张伟  ",
    "company": "北京星河科技有限公司",
    "title": "采购经理",
    "phone": "138 1234 5678",
    "alt_phone": "+1 (650) 253-0000",
    "email": "Zhang.Wei@XingHe.CN",
    "address": "朝阳区建国路88号",
    "city": "北京",
    "region": "北京市",
    "country": "CN",
    "source": "trade show",
    "stage": "Prospect",
    "key_account": "yes",
    "needs": "  bulk pricing\nfast delivery  ",
    "preferred_channel": "wechat",
    "marketing_consent": True,
    "consent_source": "官网表单",
    "consent_date": "2025/3/5",
    "external_id": "ERP-0042",
    "tags": ["重点客户", "b2b, VIP", "b2b"],
}


def history_rows(customer_id: int) -> list[m.History]:
    return list(
        m.History.select().where(m.History.customer_id == customer_id).order_by(m.History.id)
    )


def test_add_minimal_customer(actor: Actor) -> None:
    added = customers.add_customer(actor, {"name": "Alice Smith"})
    assert added.id > 0
    assert added.version == 1
    assert (added.name, added.stage, added.tags, added.custom, added.owner) == (
        "Alice Smith",
        "new",
        (),
        {},
        "",
    )
    assert added.key_account is False
    assert added.last_contact_at is None
    assert customers.get_customer(actor, added.id) == added
    [created] = history_rows(added.id)
    assert (created.action, created.entity, created.entity_id, created.field) == (
        "create",
        "customer",
        added.id,
        None,
    )
    assert (created.user_id, created.user_name) == (actor.id, actor.name)


def test_add_full_customer_normalizes_and_keeps_raw(actor: Actor) -> None:
    added = customers.add_customer(actor, {**FULL, "owner": actor.name})
    got = customers.get_customer(actor, added.id)
    assert got == added
    assert got.name == "张伟"
    assert got.company == "北京星河科技有限公司"
    assert (got.phone, got.phone_raw) == ("+8613812345678", "138 1234 5678")
    assert (got.alt_phone, got.alt_phone_raw) == ("+16502530000", "+1 (650) 253-0000")
    assert (got.email, got.email_raw) == ("zhang.wei@xinghe.cn", "Zhang.Wei@XingHe.CN")
    assert got.stage == "prospect"
    assert got.key_account is True
    assert got.marketing_consent is True
    assert got.consent_date == dt.date(2025, 3, 5)
    assert got.needs == "bulk pricing\nfast delivery"
    assert got.preferred_channel == "wechat"
    assert (got.owner_id, got.owner) == (actor.id, actor.name)
    assert got.tags == ("VIP", "b2b", "重点客户")  # split on commas, de-duplicated, sorted
    assert got.created_at is not None and got.created_at == got.updated_at
    assert abs(got.created_at - m.utcnow()) < dt.timedelta(minutes=1)


# Each bad value, the field its problem names, and words of the reason.
BAD_VALUES = [
    ({"name": ""}, "name", "must not be empty"),
    ({"name": "   "}, "name", "must not be empty"),
    ({"name": "x" * 201}, "name", "longer than 200"),
    ({"phone": "12345"}, "phone", "'12345' is not a valid phone number"),
    ({"alt_phone": "call me"}, "alt_phone", "'call me' is not a phone number"),
    ({"email": "zhang@"}, "email", "'zhang@' is not a valid email address"),
    ({"stage": "bogus"}, "stage", "'bogus' is not one of"),
    ({"owner": "nobody"}, "owner", "no active user named 'nobody'"),
    ({"key_account": "maybe"}, "key_account", "is not yes or no"),
    ({"consent_date": "2025-02-30"}, "consent_date", "'2025-02-30' is not a real date"),
    ({"consent_date": "1800-01-01"}, "consent_date", "is outside"),
    ({"preferred_channel": "fax"}, "preferred_channel", "'fax' is not one of"),
    ({"country": "CHN"}, "country", "longer than 2"),
    ({"nickname": "Al"}, "nickname", "is not a field of this record"),
    ({"tags": ["x" * 65]}, "tags", "longer than 64"),
    ({"custom": {"budget": "10"}}, "budget", "no custom field has this name"),
]


def test_add_refuses_bad_value_naming_field_and_writes_nothing(
    actor: Actor, counts: Counts, subtests: pytest.Subtests
) -> None:
    # The table runs as subtests on one database: a database per case costs too much time.
    before = counts()
    for values, field, reason in BAD_VALUES:
        with subtests.test(field=field, values=values):
            with pytest.raises(ValidationError) as caught:
                customers.add_customer(actor, {"name": "Valid Name", **values})
            assert [p.field for p in caught.value.problems] == [field]
            assert reason in caught.value.problems[0].reason
            assert str(caught.value).startswith(f"{field}: ")
            assert counts() == before
    # A missing name, and every bad field of one request at once.
    with pytest.raises(ValidationError, match="name: is required"):
        customers.add_customer(actor, {"company": "Acme"})
    with pytest.raises(ValidationError) as caught:
        customers.add_customer(actor, {"name": "", "phone": "1", "email": "x@", "tags": ["y" * 65]})
    assert sorted(p.field for p in caught.value.problems) == ["email", "name", "phone", "tags"]
    assert counts() == before


def test_update_refuses_bad_value_and_changes_nothing(
    actor: Actor, customer: Customer, counts: Counts, subtests: pytest.Subtests
) -> None:
    before = counts()
    for values, field, reason in BAD_VALUES:
        with subtests.test(field=field, values=values):
            with pytest.raises(ValidationError) as caught:
                customers.update_customer(actor, customer.id, values, customer.version)
            assert [p.field for p in caught.value.problems] == [field]
            assert reason in str(caught.value)
            assert counts() == before
            assert customers.get_customer(actor, customer.id) == customer


def test_update_changes_fields_raises_version_and_records_each_field(
    actor: Actor, customer: Customer, counts: Counts
) -> None:
    updated = customers.update_customer(
        actor,
        customer.id,
        {"email": "WEI@Example.com", "stage": "active", "key_account": True},
        expected_version=1,
    )
    assert updated.version == 2
    assert (updated.email, updated.email_raw) == ("wei@example.com", "WEI@Example.com")
    assert (updated.stage, updated.key_account) == ("active", True)
    assert updated.name == customer.name  # untouched fields stay
    assert updated.created_at == customer.created_at
    rows = [r for r in history_rows(customer.id) if r.action == "update"]
    # Raw inputs and bookkeeping columns ride along without rows of their own; an e-mail's
    # row holds it as typed, which restoring it cleans the same again.
    assert sorted((r.field, r.old_value, r.new_value) for r in rows) == [
        ("email", "", "WEI@Example.com"),
        ("key_account", "no", "yes"),
        ("stage", "new", "active"),
    ]
    assert {(r.user_name, r.entity, r.entity_id) for r in rows} == {
        (actor.name, "customer", customer.id)
    }
    # No expected version: the change applies to whatever version is current.
    again = customers.update_customer(actor, customer.id, {"title": "CTO"}, None)
    assert (again.title, again.version) == ("CTO", 3)

    # An edit made from version 1 is now stale: refused whole, nothing written.
    before = counts()
    with pytest.raises(ConflictError) as caught:
        customers.update_customer(actor, customer.id, {"title": "CFO", "tags": ["x"]}, 1)
    assert (caught.value.expected, caught.value.actual) == (1, 3)
    assert "you edited version 1, it is now version 3" in str(caught.value)
    assert customers.get_customer(actor, customer.id) == again
    assert counts() == before


def test_update_that_changes_nothing_writes_nothing(actor: Actor, counts: Counts) -> None:
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold", "silver"))
    added = customers.add_customer(
        actor,
        {"name": "Bob", "phone": "13812345678", "tags": ["a", "b"], "custom": {"tier": "gold"}},
    )
    before = counts()
    same = customers.update_customer(
        actor,
        added.id,
        {
            "name": " Bob ",
            "phone": "13812345678",
            "tags": ["b", "a"],
            "custom": {"tier": "gold"},
        },
        added.version,
    )
    assert same == added
    assert counts() == before


def test_tags_replace_with_one_history_row(actor: Actor, counts: Counts) -> None:
    added = customers.add_customer(actor, {"name": "Bob", "tags": ["a", "b"]})
    before = counts()
    updated = customers.update_customer(actor, added.id, {"tags": ["c", "b"]}, added.version)
    assert updated.tags == ("b", "c")
    # The tags live in their own table, yet changing them is a new version of the customer.
    assert updated.version == added.version + 1
    after = counts()
    assert after["History"] == before["History"] + 1
    assert after["CustomerTag"] == before["CustomerTag"]
    last = history_rows(added.id)[-1]
    assert (last.action, last.field, last.old_value, last.new_value) == (
        "update",
        "tags",
        "a, b",
        "b, c",
    )
    cleared = customers.update_customer(actor, added.id, {"tags": []}, updated.version)
    assert cleared.tags == ()
    assert cleared.version == updated.version + 1
    last = history_rows(added.id)[-1]
    assert (last.field, last.old_value, last.new_value) == ("tags", "b, c", "")
    assert m.CustomerTag.select().where(m.CustomerTag.customer == added.id).count() == 0
    # A tags-only edit raised the version, so an edit made from an older copy is refused.
    with pytest.raises(ConflictError):
        customers.update_customer(actor, added.id, {"tags": ["churn-risk"]}, updated.version)
    assert customers.get_customer(actor, added.id).tags == ()


def test_same_tags_are_no_change_whatever_the_collation(actor: Actor, db: str) -> None:
    """The tags read back compare equal to the same tags typed again, even where the database
    orders text linguistically (b2b before VIP) rather than by code point as Python does."""
    if not is_postgres_url(db):
        pytest.skip("SQLite orders text by code point, as Python does")
    current_database().execute_sql(
        'ALTER TABLE customer_tag ALTER COLUMN tag TYPE varchar(64) COLLATE "und-x-icu"'
    )
    added = customers.add_customer(actor, {"name": "Bob", "tags": ["b2b", "VIP"]})
    assert added.tags == ("VIP", "b2b")
    again = customers.update_customer(actor, added.id, {"tags": ["VIP", "b2b"]}, added.version)
    assert again.version == added.version
    assert [r.action for r in history_rows(added.id)] == ["create"]


def test_owner_set_and_cleared(actor: Actor, make_actor: Callable[..., Actor]) -> None:
    sales = make_actor("li.na", "sales")
    added = customers.add_customer(actor, {"name": "Bob", "owner": "li.na"})
    assert (added.owner_id, added.owner) == (sales.id, "li.na")
    cleared = customers.update_customer(actor, added.id, {"owner": ""}, added.version)
    assert (cleared.owner_id, cleared.owner) == (None, "")
    row = history_rows(added.id)[-1]
    assert (row.field, row.old_value, row.new_value) == ("owner", str(sales.id), None)
    make_actor("gone", "sales", active=False)
    with pytest.raises(ValidationError, match="owner: no active user named 'gone'"):
        customers.add_customer(actor, {"name": "Bob", "owner": "gone"})


def test_delete_keeps_history_with_a_snapshot(actor: Actor, counts: Counts) -> None:
    added = customers.add_customer(actor, {"name": "张伟", "phone": "13812345678", "tags": ["x"]})
    changed = customers.update_customer(actor, added.id, {"title": "CEO"}, added.version)
    before = counts()
    with pytest.raises(ConflictError):
        customers.delete_customer(actor, added.id, added.version)  # a stale copy
    assert counts() == before
    customers.delete_customer(actor, added.id, changed.version)
    with pytest.raises(NotFoundError, match=f"no customer with id {added.id}"):
        customers.get_customer(actor, added.id)
    assert counts()["CustomerTag"] == 0
    deleted = history_rows(added.id)[-1]
    assert (deleted.action, deleted.user_name) == ("delete", actor.name)
    snapshot = json.loads(deleted.old_value)
    assert snapshot["name"] == "张伟"
    assert snapshot["phone"] == "+8613812345678"
    assert "version" not in snapshot


UNKNOWN_CUSTOMER_CALLS: dict[str, Callable[[Actor], object]] = {
    "get": lambda actor: customers.get_customer(actor, 999_999),
    "update": lambda actor: customers.update_customer(actor, 999_999, {"title": "x"}, None),
    "delete": lambda actor: customers.delete_customer(actor, 999_999),
}


def test_unknown_customer(actor: Actor, counts: Counts, subtests: pytest.Subtests) -> None:
    before = counts()
    for name, call in UNKNOWN_CUSTOMER_CALLS.items():
        with subtests.test(call=name):
            with pytest.raises(NotFoundError, match="no customer with id 999999"):
                call(actor)
            assert counts() == before


def test_custom_values_recorded_per_field(actor: Actor) -> None:
    custom_fields.define_field(actor, "budget", "Budget", "number")
    custom_fields.define_field(actor, "renewal", "Renewal", "date")
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold", "silver"))
    added = customers.add_customer(
        actor, {"name": "Bob", "custom": {"budget": "1,200.50", "tier": "gold", "renewal": ""}}
    )
    assert added.custom == {"budget": "1200.5", "tier": "gold"}
    updated = customers.update_customer(
        actor,
        added.id,
        {"custom": {"budget": "100", "renewal": "2025年6月1日", "tier": ""}},
        added.version,
    )
    assert updated.custom == {"budget": "100", "renewal": "2025-06-01"}
    assert updated.version == added.version + 1
    rows = [(r.field, r.old_value, r.new_value) for r in history_rows(added.id)[1:]]
    assert sorted(rows) == [
        ("custom.budget", "1200.5", "100"),
        ("custom.renewal", None, "2025-06-01"),
        ("custom.tier", "gold", None),
    ]


BAD_CUSTOM_VALUES = [
    ({"budget": "lots"}, "Budget: 'lots' is not a number"),
    ({"budget": "1.0000001"}, "Budget: has more than 6 decimal places"),
    ({"budget": "1e40"}, "Budget: '1e40' is too large"),
    ({"renewal": "2025-02-30"}, "Renewal: '2025-02-30' is not a real date"),
    ({"renewal": "2200-01-01"}, "Renewal: 2200-01-01 is outside"),
    ({"tier": "platinum"}, "Tier: 'platinum' is not one of: gold, silver"),
    ({"tier": "Gold"}, "Tier: 'Gold' is not one of"),
]


def test_custom_values_checked_by_kind(
    actor: Actor, counts: Counts, subtests: pytest.Subtests
) -> None:
    custom_fields.define_field(actor, "budget", "Budget", "number")
    custom_fields.define_field(actor, "renewal", "Renewal", "date")
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold", "silver"))
    added = customers.add_customer(actor, {"name": "Bob"})
    before = counts()
    for value, reason in BAD_CUSTOM_VALUES:
        with subtests.test(value=value):
            with pytest.raises(ValidationError) as caught:
                customers.update_customer(actor, added.id, {"custom": value}, added.version)
            assert str(caught.value).startswith(reason)
            with pytest.raises(ValidationError):
                customers.add_customer(actor, {"name": "Carol", "custom": value})
            assert counts() == before


# -- lists -----------------------------------------------------------------------------------

SEARCHABLE = {
    "zhang": {
        "name": "张伟",
        "company": "北京星河科技有限公司",
        "phone": "138 1234 5678",
        "email": "zhang.wei@xinghe.cn",
    },
    "alice": {
        "name": "Alice Smith",
        "company": "Acme Corp",
        "phone": "+1 650 253 0000",
        "email": "alice@acme.com",
    },
    "bob": {
        "name": "Bob Jones",
        "company": "Globex",
        "alt_phone": "13987654321",
        "email": "Bob.Jones@Globex.com",
    },
    "li": {"name": "李娜", "company": "Acme 中国"},
}


@pytest.fixture
def searchable(actor: Actor) -> dict[int, str]:
    return {customers.add_customer(actor, v).id: key for key, v in SEARCHABLE.items()}


def found(actor: Actor, ids: dict[int, str], **query: object) -> set[str]:
    page = customers.list_customers(actor, CustomerQuery(**query), limit=None)
    assert page.total == len(page.rows)
    return {ids[c.id] for c in page.rows}


SEARCHES = [
    ("张", {"zhang"}),
    ("星河科技", {"zhang"}),
    ("alice", {"alice"}),
    ("SMITH", {"alice"}),
    ("acme", {"alice", "li"}),
    ("中国", {"li"}),
    ("globex", {"bob"}),
    ("BOB.JONES@GLOBEX.COM", {"bob"}),
    ("xinghe.cn", {"zhang"}),
    ("138 1234 5678", {"zhang"}),
    ("13812345678", {"zhang"}),
    ("+86 138-1234-5678", {"zhang"}),
    ("(139) 8765-4321", {"bob"}),  # alternative phone
    ("+1 (650) 253-0000", {"alice"}),
    ("  alice  ", {"alice"}),
    ("", {"zhang", "alice", "bob", "li"}),
    ("nobody", set()),
    ("%", set()),  # LIKE wildcards are searched as text
    ("_", set()),
]


def test_search(actor: Actor, searchable: dict[int, str], subtests: pytest.Subtests) -> None:
    for term, keys in SEARCHES:
        with subtests.test(term=term):
            assert found(actor, searchable, search=term) == keys
    # A national number is read in the configured region.
    assert found(actor, searchable, search="(650) 253-0000") == set()  # read as Chinese
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[phone]\ndefault_region = "US"\n', encoding="utf-8")
    config.reset_settings()
    assert found(actor, searchable, search="(650) 253-0000") == {"alice"}


@pytest.fixture
def filterable(actor: Actor, make_actor: Callable[..., Actor]) -> dict[int, str]:
    make_actor("wang", "sales")
    rows = {
        "a": {"name": "a", "stage": "active", "tags": ["vip"], "owner": "wang"},
        "b": {"name": "b", "stage": "active", "key_account": True, "owner": actor.name},
        "c": {"name": "c", "stage": "prospect", "tags": ["vip", "重点客户"], "key_account": True},
        "d": {"name": "d", "stage": "new", "owner": "wang"},
    }
    return {customers.add_customer(actor, v).id: key for key, v in rows.items()}


FILTERS = [
    ({"stage": "active"}, {"a", "b"}),
    ({"stage": "churned"}, set()),
    ({"tag": "vip"}, {"a", "c"}),
    ({"tag": "重点客户"}, {"c"}),
    ({"tag": "none"}, set()),
    ({"owner": "wang"}, {"a", "d"}),
    ({"owner": "ghost"}, set()),
    ({"key_account": True}, {"b", "c"}),
    ({"key_account": False}, {"a", "d"}),
    ({"stage": "active", "tag": "vip"}, {"a"}),
    ({"owner": "wang", "search": "d"}, {"d"}),
]


def test_filters(actor: Actor, filterable: dict[int, str], subtests: pytest.Subtests) -> None:
    for query, keys in FILTERS:
        with subtests.test(query=query):
            assert found(actor, filterable, **query) == keys
            assert customers.count_customers(actor, CustomerQuery(**query)) == len(keys)


@pytest.fixture
def sortable(actor: Actor, make_actor: Callable[..., Actor]) -> list[Customer]:
    """Customers with repeated values in every sort column, and some empty ones.

    Values sort the same under any collation (lower-case ASCII, equal-length phones).
    """
    make_actor("uone", "sales")
    make_actor("utwo", "sales")
    rows = [
        ("bravo", "delta", "13800000003", "active", "uone", dt.datetime(2025, 1, 2, 8)),
        ("alpha", "delta", "13800000001", "new", "utwo", None),
        ("charlie", "alpha", "", "active", "", dt.datetime(2025, 1, 1, 8)),
        ("alpha", "bravo", "13800000002", "prospect", "uone", dt.datetime(2025, 1, 2, 8)),
        ("bravo", "", "13800000001", "new", "", None),
        ("delta", "charlie", "13800000002", "dormant", "utwo", dt.datetime(2024, 12, 31, 8)),
    ]
    for name, company, phone, stage, owner, contact in rows:
        added = customers.add_customer(
            actor,
            {"name": name, "company": company, "phone": phone, "stage": stage, "owner": owner},
        )
        if contact:
            timeline.add_record(
                actor, timeline.COMMUNICATION, added.id, {"at": contact, "summary": "call"}
            )
    return list(customers.list_customers(actor, limit=None).rows)


def expected_order(rows: list[Customer], column: str, descending: bool) -> list[int]:
    """The order promised: by the column with empty (NULL) values last, then by id, both in
    the direction asked. Stages go in lifecycle order, not alphabetically."""

    def key(c: Customer) -> object:
        value = getattr(c, column)
        if column == "stage":
            return vocabulary.STAGES.index(value)
        return None if column == "owner" and value == "" else value

    present = sorted((c for c in rows if key(c) is not None), key=lambda c: (key(c), c.id))
    missing = sorted((c for c in rows if key(c) is None), key=lambda c: c.id)
    if descending:
        present.reverse()
        missing.reverse()
    return [c.id for c in present + missing]


def test_every_sort_column_both_ways_pages_every_row_once(
    actor: Actor, sortable: list[Customer], subtests: pytest.Subtests
) -> None:
    assert sum(c.last_contact_at is None for c in sortable) == 2  # NULLs to put last
    for column in customers.SORTABLE:
        for descending in (False, True):
            with subtests.test(sort=column, descending=descending):
                query = CustomerQuery(sort=column, descending=descending)
                whole = [c.id for c in customers.list_customers(actor, query, limit=None).rows]
                assert whole == expected_order(sortable, column, descending)
                paged: list[int] = []
                for offset in range(0, 7, 2):
                    page = customers.list_customers(actor, query, offset=offset, limit=2)
                    assert (page.offset, page.total) == (offset, 6)
                    paged.extend(c.id for c in page.rows)
                assert paged == whole


def test_list_pages_and_totals(actor: Actor) -> None:
    for i in range(5):
        customers.add_customer(actor, {"name": f"c{i}"})
    assert [c.name for c in customers.list_customers(actor, limit=2).rows] == ["c0", "c1"]
    page = customers.list_customers(actor, offset=4, limit=2)
    assert ([c.name for c in page.rows], page.total) == (["c4"], 5)
    assert customers.list_customers(actor, offset=3, limit=None).total == 5
    assert customers.list_customers(actor, offset=10, limit=None).total == 5
    assert customers.list_customers(actor, offset=10, limit=5).rows == ()
    assert customers.list_customers(actor, limit=0).rows == ()
    assert customers.count_customers(actor) == 5
    with pytest.raises(ValidationError, match="sort: cannot sort by 'notes'; choose one of"):
        customers.list_customers(actor, CustomerQuery(sort="notes"))
    for bad in ({"limit": -1}, {"offset": -1}):
        with pytest.raises(ValidationError, match="limit: must not be negative"):
            customers.list_customers(actor, **bad)  # type: ignore[arg-type]


def test_chinese_names_round_trip_and_sort_stably(actor: Actor) -> None:
    names = ["张伟", "王芳", "李娜", "张伟", "䶮"]
    ids = [customers.add_customer(actor, {"name": n}).id for n in names]
    listed = customers.list_customers(actor, limit=None).rows
    assert sorted(c.name for c in listed) == sorted(names)
    twins = [c.id for c in listed if c.name == "张伟"]
    assert twins == [ids[0], ids[3]]  # equal names keep their id order
    assert customers.get_customer(actor, ids[4]).name == "䶮"
    assert [e.action for e in changes.customer_changes(actor, ids[4])] == ["create"]
