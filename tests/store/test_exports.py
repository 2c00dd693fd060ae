"""Exports on both backends: which rows, in which order, with which columns and values; the
table's filters; history with its link columns; streaming by keyset in one snapshot; and enough
in a table to make the same customers again in an empty database."""

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from crmtui.store import custom_fields, customers, exports, followups, timeline
from crmtui.store import models as m
from crmtui.store.db import current_database, is_postgres
from crmtui.store.errors import PermissionDeniedError, ValidationError
from crmtui.store.types import Actor, Customer, CustomerQuery


def table(actor: Actor, kind: str, query: CustomerQuery = customers.EVERYONE) -> list[dict]:
    """An export table's rows as {column: cell}."""
    exported = exports.export_table(actor, kind, query)
    return [dict(zip(exported.columns, row, strict=True)) for row in exported.rows]


def records(actor: Actor, kind: str, query: CustomerQuery = customers.EVERYONE) -> list[dict]:
    return list(exports.export_records(actor, kind, query))


@pytest.fixture
def people(actor: Actor, make_actor: Callable[..., Actor]) -> list[Customer]:
    """Three customers: every kind of value on the first, little on the others."""
    make_actor("li.na", "sales")
    first = customers.add_customer(
        actor,
        {
            "name": "张伟",
            "company": "上海华信科技有限公司",
            "phone": "138 1234 5678",
            "alt_phone": "010-5198 0877",
            "email": "Zhang.Wei@Example.COM",
            "stage": "active",
            "owner": "li.na",
            "key_account": True,
            "marketing_consent": True,
            "consent_source": "官网表单",
            "consent_date": "2025-03-05",
            "tags": ["b2b", "VIP", "北京"],
            "notes": '=HYPERLINK("http://x")\nsecond line, with "quotes"',
            "external_id": "C-001",
        },
    )
    second = customers.add_customer(actor, {"name": "Ada", "stage": "prospect", "tags": ["b2b"]})
    third = customers.add_customer(actor, {"name": "李娜", "email": "li@example.cn"})
    return [first, second, third]


def test_customers_come_in_id_order_with_the_columns_a_round_trip_needs(
    actor: Actor, people: list[Customer]
) -> None:
    exported = exports.export_table(actor, "customers")
    assert exported.title == "customers"
    assert exported.columns == exports.CUSTOMER_COLUMNS  # no custom fields defined
    rows = [dict(zip(exported.columns, row, strict=True)) for row in exported.rows]
    assert [row["id"] for row in rows] == [c.id for c in people]
    first = rows[0]
    assert first | {"created_at": "", "updated_at": "", "last_contact_at": ""} == {
        "id": people[0].id,
        "name": "张伟",
        "company": "上海华信科技有限公司",
        "title": "",
        "phone": "+8613812345678",
        "phone_raw": "138 1234 5678",
        "alt_phone": "+861051980877",
        "alt_phone_raw": "010-5198 0877",
        "email": "zhang.wei@example.com",
        "email_raw": "Zhang.Wei@Example.COM",
        "address": "",
        "city": "",
        "region": "",
        "country": "",
        "source": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "stage": "active",
        "owner": "li.na",
        "tags": "VIP, b2b, 北京",  # code-point order, as the store sorts them, on both backends
        "key_account": "yes",
        "needs": "",
        "preferences": "",
        "preferred_channel": "",
        "notes": '=HYPERLINK("http://x")\nsecond line, with "quotes"',  # CSV's writer guards it
        "marketing_consent": "yes",
        "consent_source": "官网表单",
        "consent_date": "2025-03-05",
        "consent_withdrawn_on": "",
        "external_id": "C-001",
        "last_contact_at": "",
        "created_at": "",
        "updated_at": "",
    }
    created = people[0].created_at
    assert created is not None
    assert first["created_at"] == created.isoformat(sep=" ") + "Z"  # UTC, and says so
    assert (rows[1]["owner"], rows[1]["key_account"], rows[1]["consent_date"]) == ("", "no", "")
    assert all(isinstance(cell, str | int) for row in rows for cell in row.values())


def test_json_records_are_the_customers_as_the_store_views_them(
    actor: Actor, people: list[Customer]
) -> None:
    """The keys and values of `crmtui customer show --json` (dataclasses.asdict of the view)."""
    exported = records(actor, "customers")
    assert exported == [dataclasses.asdict(customers.get_customer(actor, c.id)) for c in people]
    assert list(exported[0]) == [f.name for f in dataclasses.fields(Customer)]
    assert exported[0]["tags"] == ("VIP", "b2b", "北京")
    assert exported[0]["consent_date"] == dt.date(2025, 3, 5)


def test_tags_keep_the_stores_order_whatever_the_databases_collation(
    actor: Actor, people: list[Customer]
) -> None:
    """Code-point order, as `customers.clean_tags` sorts tags, though PostgreSQL would sort
    them by the column's collation (a linguistic one puts b2b before VIP)."""
    if is_postgres():
        current_database().execute_sql(
            'ALTER TABLE customer_tag ALTER COLUMN tag TYPE VARCHAR(64) COLLATE "und-x-icu"'
        )
    assert customers.get_customer(actor, people[0].id).tags == ("VIP", "b2b", "北京")
    assert table(actor, "customers")[0]["tags"] == "VIP, b2b, 北京"
    assert records(actor, "customers")[0]["tags"] == ("VIP", "b2b", "北京")


def test_custom_fields_get_a_column_each_in_key_order(actor: Actor, people: list[Customer]) -> None:
    custom_fields.define_field(actor, "vip_level", "VIP 等级", "choice", ("金卡", "银卡"))
    custom_fields.define_field(actor, "budget", "预算", "number")
    customers.update_customer(actor, people[0].id, {"custom": {"budget": "1e2"}}, None)
    customers.update_customer(actor, people[2].id, {"custom": {"vip_level": "金卡"}}, None)
    exported = exports.export_table(actor, "customers")
    assert exported.columns[-2:] == ("custom:budget", "custom:vip_level")
    assert [row[-2:] for row in exported.rows] == [["100", ""], ["", ""], ["", "金卡"]]
    assert [r["custom"] for r in records(actor, "customers")] == [
        {"budget": "100"},
        {},
        {"vip_level": "金卡"},
    ]


FILTERS = [
    CustomerQuery(stage="active"),
    CustomerQuery(stage="churned"),
    CustomerQuery(tag="b2b"),
    CustomerQuery(tag="VIP", stage="active"),
    CustomerQuery(owner="li.na"),
    CustomerQuery(key_account=True),
    CustomerQuery(key_account=False),
    CustomerQuery(search="张伟"),
    CustomerQuery(search="13812345678"),
    CustomerQuery(search="li@example.cn"),
    CustomerQuery(search="ada", tag="b2b"),
    CustomerQuery(search="nobody at all"),
]


@pytest.mark.parametrize("query", FILTERS, ids=repr)
def test_filters_choose_the_customers_the_table_shows(
    actor: Actor, people: list[Customer], query: CustomerQuery
) -> None:
    shown = sorted(c.id for c in customers.list_customers(actor, query, limit=None).rows)
    assert [row["id"] for row in table(actor, "customers", query)] == shown
    assert [r["id"] for r in records(actor, "customers", query)] == shown
    purchases_of = {r["customer_id"] for r in table(actor, "purchases", query)}
    assert purchases_of <= set(shown)


ORDERS = [
    CustomerQuery(),
    CustomerQuery(descending=True),
    CustomerQuery(sort="stage"),
    CustomerQuery(sort="owner", descending=True),
    CustomerQuery(sort="company", tag="b2b"),
    CustomerQuery(search="李娜"),
]


@pytest.mark.parametrize("query", ORDERS, ids=repr)
def test_in_table_order_customers_come_as_the_table_lists_them(
    actor: Actor,
    people: list[Customer],
    query: CustomerQuery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers.add_customer(actor, {"name": "Bea", "company": "Acme", "tags": ["b2b"]})
    monkeypatch.setattr(exports, "PAGE_SIZE", 2)  # the walk goes on from page to page
    shown = [c.id for c in customers.list_customers(actor, query, limit=None).rows]
    exported = exports.export_table(actor, "customers", query, in_table_order=True)
    assert [row[0] for row in exported.rows] == shown
    in_order = exports.export_records(actor, "customers", query, in_table_order=True)
    assert [r["id"] for r in in_order] == shown
    history = exports.export_table(actor, "purchases", query, in_table_order=True)
    assert list(history.rows) == []  # no purchases: the walk still ends


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (CustomerQuery(owner="nobody"), "owner"),
        (CustomerQuery(stage="asleep"), "stage"),
    ],
)
def test_an_unknown_owner_or_stage_is_refused_before_anything_is_read(
    actor: Actor, query: CustomerQuery, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        exports.export_table(actor, "customers", query)
    assert refused.value.problems[0].field == field
    with pytest.raises(ValidationError):
        exports.export_records(actor, "purchases", query)


def test_an_unknown_kind_is_refused(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="contacts"):
        exports.export_table(actor, "contacts")


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("readonly", "customers", True),
        ("readonly", "followups", True),
        ("marketing", "customers", True),
        ("marketing", "purchases", False),  # marketing reads customers, not their history
        ("marketing", "communications", False),
        ("nobody-knows", "customers", False),
    ],
)
def test_an_export_is_a_read_checked_like_one(
    make_actor: Callable[..., Actor], role: str, kind: str, allowed: bool
) -> None:
    reader = make_actor("reader", role)
    if allowed:
        assert exports.export_table(reader, kind).columns
        assert list(exports.export_records(reader, kind)) == []
        return
    with pytest.raises(PermissionDeniedError):
        exports.export_table(reader, kind)
    with pytest.raises(PermissionDeniedError):
        exports.export_records(reader, kind)


@pytest.fixture
def history(actor: Actor, people: list[Customer]) -> dict[str, list[int]]:
    """Records on the first and second customers, added newest first, so that export order
    (customer by customer, oldest first) differs from the order of their ids."""
    first, second, _third = people
    contact = timeline.add_record(actor, timeline.CONTACT, first.id, {"name": "王芳"})
    purchases = [
        timeline.add_record(actor, timeline.PURCHASE, customer.id, values).id
        for customer, values in [
            (second, {"date": "2025-02-01", "product": "Gadget", "amount": "-12.50"}),
            (first, {"date": "2025-03-01", "product": "Widget", "amount": "1299.99"}),
            (first, {"date": "2025-01-15", "product": "=1+1", "amount": "0.10", "quantity": "2.5"}),
        ]
    ]
    communications = [
        timeline.add_record(actor, timeline.COMMUNICATION, first.id, values).id
        for values in [
            {"at": dt.datetime(2025, 3, 2, 9, 30), "summary": "call"},
            {"at": dt.datetime(2025, 1, 2, 8, 0), "summary": "visit", "user": ""},
        ]
    ]
    # The store has no field for it yet; the demo data and the model have.
    m.Communication.update(contact=contact.id).where(
        m.Communication.id == communications[0]
    ).execute()
    follow = [
        followups.add_followup(actor, customer.id, {"title": title, "due_at": due}).id
        for customer, title, due in [
            (second, "quote", dt.datetime(2025, 4, 1, 1, 0)),
            (first, "renew", dt.datetime(2025, 5, 1, 1, 0)),
        ]
    ]
    return {"purchases": purchases, "communications": communications, "followups": follow}


def links(customer: Customer) -> dict[str, object]:
    return {
        "customer_id": customer.id,
        "customer_external_id": customer.external_id,
        "customer_name": customer.name,
        "customer_company": customer.company,
        "customer_email": customer.email,
        "customer_phone": customer.phone,
    }


def test_purchases_carry_their_customer_and_exact_amounts(
    actor: Actor, people: list[Customer], history: dict[str, list[int]]
) -> None:
    rows = table(actor, "purchases")
    third, second, first = history["purchases"]  # added newest first
    assert [row["id"] for row in rows] == [first, second, third]  # customer 1 oldest first
    assert rows[0] == {
        "id": first,
        **links(people[0]),
        "date": "2025-01-15",
        "product": "=1+1",
        "category": "",
        "quantity": Decimal("2.500"),
        "amount": Decimal("0.10"),
        "currency": "CNY",
        "status": "won",
        "notes": "",
        "created_at": rows[0]["created_at"],
        "updated_at": rows[0]["updated_at"],
    }
    assert rows[0]["created_at"].endswith("Z")
    assert rows[0]["customer_phone"] == "+8613812345678"
    assert (rows[1]["amount"], rows[2]["amount"]) == (Decimal("1299.99"), Decimal("-12.50"))
    assert rows[2] | links(people[1]) == rows[2]


def test_communications_name_their_user_and_contact(
    actor: Actor, people: list[Customer], history: dict[str, list[int]]
) -> None:
    rows = table(actor, "communications")
    assert [(r["at"], r["summary"], r["user"], r["contact"]) for r in rows] == [
        ("2025-01-02 08:00:00Z", "visit", "", ""),
        ("2025-03-02 09:30:00Z", "call", actor.name, "王芳"),
    ]
    assert all(row | links(people[0]) == row for row in rows)


def test_followups_name_their_assignee_and_carry_their_state(
    actor: Actor, people: list[Customer], history: dict[str, list[int]]
) -> None:
    rows = table(actor, "followups")
    assert [(r["customer_id"], r["title"], r["due_at"], r["assignee"]) for r in rows] == [
        (people[0].id, "renew", "2025-05-01 01:00:00Z", actor.name),
        (people[1].id, "quote", "2025-04-01 01:00:00Z", actor.name),
    ]
    assert (rows[0]["status"], rows[0]["done_at"], rows[0]["snoozed_until"]) == ("open", "", "")


@pytest.mark.parametrize(
    ("kind", "entity", "names"),
    [
        ("purchases", timeline.PURCHASE, {}),
        ("communications", timeline.COMMUNICATION, {"user": "user_id", "contact": "contact_id"}),
        ("followups", None, {}),
    ],
)
def test_history_records_are_the_store_views_with_links_and_names(
    actor: Actor,
    people: list[Customer],
    history: dict[str, list[int]],
    kind: str,
    entity: timeline.Kind | None,
    names: dict[str, str],
) -> None:
    by_customer = {c.id: c for c in people}
    exported = records(actor, kind)
    assert [r["id"] for r in exported] == [row["id"] for row in table(actor, kind)]
    for record in exported:
        view = (
            followups.get_followup(actor, record["id"])
            if entity is None
            else timeline.get_record(actor, entity, record["id"])
        )
        expected = dataclasses.asdict(view) | links(by_customer[record["customer_id"]])
        for name_key, id_key in names.items():
            expected[name_key] = record[name_key]
            assert (record[id_key] is None) == (record[name_key] == "")
        assert record == expected
        assert list(record)[: len(dataclasses.asdict(view))] == list(dataclasses.asdict(view))


def test_the_filter_chooses_whose_history_is_exported(
    actor: Actor, people: list[Customer], history: dict[str, list[int]]
) -> None:
    only_second = CustomerQuery(stage="prospect")
    assert {r["customer_id"] for r in table(actor, "purchases", only_second)} == {people[1].id}
    assert [r["title"] for r in records(actor, "followups", only_second)] == ["quote"]
    assert table(actor, "communications", only_second) == []


def test_pages_are_walked_by_id_without_offset(
    actor: Actor,
    people: list[Customer],
    history: dict[str, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Pages of one customer: every row once, in order, each page after the last id read."""
    expected = {kind: [row["id"] for row in table(actor, kind)] for kind in exports.KINDS}
    monkeypatch.setattr(exports, "PAGE_SIZE", 1)
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        for kind in exports.KINDS:
            assert [row["id"] for row in table(actor, kind)] == expected[kind]
            assert [r["id"] for r in records(actor, kind)] == expected[kind]
    queries = [str(r.msg) for r in caplog.records]
    assert queries and not any("OFFSET" in q.upper() for q in queries)
    assert sum("LIMIT" in q.upper() for q in queries) >= 4 * (len(people) + 1)


def test_rows_are_read_in_one_snapshot_and_the_transaction_ends_with_them(
    actor: Actor, people: list[Customer], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A customer added by someone else mid-export is not in it, though it comes after the page
    read (without the snapshot the walk by id would take it in)."""
    monkeypatch.setattr(exports, "PAGE_SIZE", 1)
    rows = exports.export_table(actor, "customers").rows
    assert next(rows)[0] == people[0].id

    def add_elsewhere() -> None:  # another thread: another connection
        try:
            customers.add_customer(actor, {"name": "Late"})
        finally:
            current_database().close()

    writer = threading.Thread(target=add_elsewhere)
    writer.start()
    writer.join()
    assert [row[0] for row in rows] == [people[1].id, people[2].id]
    assert not current_database().in_transaction()
    assert len(table(actor, "customers")) == 4

    rows = exports.export_table(actor, "customers").rows
    next(rows)
    assert current_database().in_transaction()
    rows.close()  # a reader that stops early
    assert not current_database().in_transaction()


def test_a_table_is_enough_to_make_the_same_customers_again(
    actor: Actor, people: list[Customer]
) -> None:
    """Each customer added again from its exported row (the raw phones and e-mail as typed, the
    rest as written) exports the same, but for the columns the database sets itself."""
    custom_fields.define_field(actor, "budget", "预算", "number")
    customers.update_customer(actor, people[0].id, {"custom": {"budget": "25.5"}}, None)
    before = table(actor, "customers")
    system = {"id", "created_at", "updated_at", "last_contact_at"}
    entered = {"phone_raw": "phone", "alt_phone_raw": "alt_phone", "email_raw": "email"}
    derived = {"phone", "alt_phone", "email"}  # made again from the raw text
    for row in before:
        values: dict[str, object] = {
            entered.get(column, column): cell
            for column, cell in row.items()
            if column not in system | derived and not column.startswith("custom:")
        }
        values["tags"] = [row["tags"]]  # "a, b": clean_tags splits it
        values["custom"] = {
            column[len("custom:") :]: row[column] for column in row if ":" in column
        }
        customers.add_customer(actor, values)
    again = table(actor, "customers")[len(before) :]
    assert [{k: v for k, v in row.items() if k not in system} for row in again] == [
        {k: v for k, v in row.items() if k not in system} for row in before
    ]
