"""Importing purchases, communications and follow-ups (`store.history_imports`): linking each
row to its customer, cleaning as the record's form does, all or nothing, undo; both backends."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from crmtui.store import customers, followups, history_imports, imports, timeline
from crmtui.store import models as m
from crmtui.store.errors import PermissionDeniedError, StoreError, ValidationError
from crmtui.store.imports import ImportSummary, Rejected, SourceRow
from crmtui.store.types import Actor, Customer
from tests.store.conftest import Counts

LINKS = ("id", "external_id", "email", "phone", "name", "company")


def rows(*given: tuple[dict[str, str], dict[str, str]]) -> list[SourceRow]:
    """Rows as a file gives them, each (link values, field values); line 1 is the header."""
    return [
        SourceRow(line, values, (*link.values(), *values.values()), customer=link)
        for line, (link, values) in enumerate(given, start=2)
    ]


def run(
    actor: Actor, kind: str, given: list[SourceRow], **options: object
) -> tuple[ImportSummary, list[Rejected]]:
    rejected: list[Rejected] = []
    summary = history_imports.import_history(
        actor,
        kind,
        given,
        reject=rejected.append,
        **options,  # type: ignore[arg-type]
    )
    return summary, rejected


def reasons(rejected: list[Rejected]) -> list[tuple[int, str, str]]:
    return [(r.line, r.field, r.reason) for r in rejected]


@pytest.fixture
def people(actor: Actor) -> list[Customer]:
    return [
        customers.add_customer(
            actor,
            {"name": "张伟", "company": "华信科技", "phone": "138 1234 5678",
             "email": "zw@example.com", "external_id": "C-1"},
        ),
        customers.add_customer(
            actor, {"name": "李娜", "company": "星河", "phone": "139 0000 0000",
                    "email": "ln@example.com", "external_id": "C-2"},
        ),
    ]  # fmt: skip


def purchases_of(actor: Actor, customer: Customer) -> list[tuple]:
    page = timeline.list_records(actor, timeline.PURCHASE, customer.id, limit=None)
    return [(p.date, p.product, p.amount, p.quantity, p.currency, p.status) for p in page.rows]


PURCHASE = {"date": "2025/3/5", "product": "年度服务", "amount": "¥1,299.50"}


@pytest.mark.parametrize(
    "link",
    [
        {"id": "{id}"},
        {"external_id": " C-2 "},
        {"email": "LN@Example.com"},
        {"phone": "+86 139-0000-0000"},
        {"name": "李娜", "company": "星河"},
        {"name": "李娜"},
    ],
    ids=["id", "external_id", "email", "phone", "name+company", "name"],
)
def test_each_link_column_finds_the_customer(
    actor: Actor, people: list[Customer], link: dict[str, str]
) -> None:
    link = {k: v.format(id=people[1].id) for k, v in link.items()}
    summary, rejected = run(actor, "purchases", rows((link, PURCHASE)), source="p.csv")
    assert rejected == []
    assert (summary.created, summary.updated, summary.skipped, summary.written) == (1, 0, 0, True)
    assert purchases_of(actor, people[1]) == [
        (dt.date(2025, 3, 5), "年度服务", Decimal("1299.50"), Decimal("1.000"), "CNY", "won")
    ]
    assert purchases_of(actor, people[0]) == []
    [record] = timeline.list_records(actor, timeline.PURCHASE, people[1].id).rows
    history = list(m.History.select().where(m.History.batch_id == summary.batch_id))
    assert [(h.entity, h.entity_id, h.customer_id, h.action) for h in history] == [
        ("purchase", record.id, people[1].id, "create")
    ]
    batch = m.ImportBatch.get_by_id(summary.batch_id)
    assert (batch.kind, batch.source, batch.created) == ("purchases", "p.csv", 1)


def test_the_most_specific_link_a_row_fills_wins_unless_a_key_is_chosen(
    actor: Actor, people: list[Customer]
) -> None:
    first, second = people
    mixed = {"email": "zw@example.com", "phone": "13900000000", "name": "李娜"}
    run(actor, "purchases", rows((mixed, PURCHASE)))
    assert (len(purchases_of(actor, first)), len(purchases_of(actor, second))) == (1, 0)
    run(actor, "purchases", rows((mixed, PURCHASE)), customer_key="phone")
    assert (len(purchases_of(actor, first)), len(purchases_of(actor, second))) == (1, 1)
    # A row whose email is empty falls back to the next link it fills.
    run(actor, "purchases", rows(({"email": "", "name": "李娜"}, PURCHASE)))
    assert len(purchases_of(actor, second)) == 2


def test_rows_naming_no_customer_or_an_unknown_or_ambiguous_one_are_rejected(
    actor: Actor, people: list[Customer], counts: Counts
) -> None:
    twin = customers.add_customer(actor, {"name": "张伟"})
    before = counts()
    summary, rejected = run(
        actor,
        "purchases",
        rows(
            ({"email": "nobody@example.com"}, PURCHASE),
            ({"name": "张伟"}, PURCHASE),
            ({"company": "华信科技"}, PURCHASE),
            ({"id": str(people[0].id), "name": "李娜"}, PURCHASE),
            ({"id": "C-1"}, PURCHASE),
            ({"phone": "12"}, PURCHASE),
            ({"name": "李娜"}, PURCHASE),
        ),
    )
    assert (summary.written, summary.created, summary.rejected) == (False, 1, 6)
    assert reasons(rejected) == [
        (2, "customer.email", "no saved customer has email 'nobody@example.com'"),
        (3, "customer.name", f"2 saved customers have name '张伟' (ids {people[0].id}, {twin.id})"),
        (4, "customer", "names no customer: it needs a customer id, external id, email, phone "
                        "or name"),
        (5, "customer.id", f"customer {people[0].id} is '张伟', not '李娜'"),
        (6, "customer.id", "'C-1' is not a customer id"),
        (7, "customer.phone", rejected[5].reason),
    ]  # fmt: skip
    assert "12" in rejected[5].reason
    assert counts() == before


def test_a_chosen_key_the_row_leaves_empty_rejects_it(actor: Actor, people: list[Customer]) -> None:
    summary, rejected = run(
        actor, "purchases", rows(({"name": "李娜", "email": ""}, PURCHASE)), customer_key="email"
    )
    assert not summary.written
    assert reasons(rejected) == [(2, "customer.email", "is empty: it names no customer")]


def test_bad_dates_and_amounts_name_their_line_and_nothing_is_written(
    actor: Actor, people: list[Customer], counts: Counts
) -> None:
    before = counts()
    link = {"name": "张伟"}
    summary, rejected = run(
        actor,
        "purchases",
        rows(
            (link, PURCHASE),
            (link, {**PURCHASE, "date": "2025-02-30"}),
            (link, {**PURCHASE, "amount": "十元", "quantity": "-1"}),
            (link, {"product": "no date, no amount"}),
            ({"name": "无名"}, {**PURCHASE, "currency": "元"}),
        ),
    )
    assert (summary.written, summary.rejected) == (False, 4)
    assert [(r.line, r.field) for r in rejected] == [
        (3, "date"),
        (4, "quantity"),
        (4, "amount"),
        (5, "date"),
        (5, "amount"),
        (6, "customer.name"),
        (6, "currency"),
    ]
    assert rejected[4].reason == "is required"
    assert counts() == before
    assert m.ImportBatch.select().count() == 0


def test_skip_invalid_imports_the_good_rows_and_dry_run_writes_nothing(
    actor: Actor, people: list[Customer], counts: Counts
) -> None:
    given = rows(({"name": "张伟"}, PURCHASE), ({"name": "张伟"}, {**PURCHASE, "amount": "x"}))
    before = counts()
    dry, rejected = run(actor, "purchases", given, dry_run=True)
    assert (dry.dry_run, dry.written, dry.created, dry.rejected) == (True, False, 1, 1)
    assert [r.line for r in rejected] == [3]
    assert counts() == before
    summary, rejected = run(actor, "purchases", given, skip_invalid=True)
    assert (summary.written, summary.created, summary.rejected) == (True, 1, 1)
    assert len(purchases_of(actor, people[0])) == 1


def test_communications_name_their_user_and_move_the_last_contact_and_undo_puts_it_back(
    actor: Actor, people: list[Customer], make_actor: Callable[..., Actor]
) -> None:
    make_actor("li.na", "sales")
    make_actor("gone", "sales", active=False)
    first = people[0]
    timeline.add_record(
        actor, timeline.COMMUNICATION, first.id, {"at": "2025-01-01 09:00", "summary": "首次拜访"}
    )
    summary, rejected = run(
        actor,
        "communications",
        rows(
            ({"name": "张伟"}, {"at": "2025-03-02 09:30:00Z", "summary": "续约", "user": "li.na"}),
            ({"name": "张伟"}, {"at": "2025年2月1日", "summary": "电话", "channel": "WeChat"}),
        ),
    )
    assert rejected == [] and summary.created == 2
    page = timeline.list_records(actor, timeline.COMMUNICATION, first.id).rows
    assert [(c.at, c.summary, c.channel) for c in page] == [
        (dt.datetime(2025, 3, 2, 9, 30), "续约", "call"),
        (dt.datetime(2025, 2, 1, 9, 0), "电话", "wechat"),
        (dt.datetime(2025, 1, 1, 9, 0), "首次拜访", "call"),
    ]
    users = {u.id: u.name for u in m.User.select()}
    assert [users[c.user_id] for c in page[:2]] == [
        "li.na",
        actor.name,
    ]  # the importer's, unless named
    assert customers.get_customer(actor, first.id).last_contact_at == dt.datetime(2025, 3, 2, 9, 30)

    _unknown, rejected = run(
        actor,
        "communications",
        rows(
            ({"name": "张伟"}, {"at": "2025-04-01", "summary": "x", "user": "ghost"}),
            ({"name": "张伟"}, {"at": "2025-04-01", "summary": "x", "user": "gone"}),
            ({"name": "张伟"}, {"at": "soon", "summary": ""}),
        ),
    )
    assert reasons(rejected)[:2] == [
        (2, "user", "no active user named 'ghost'"),
        (3, "user", "no active user named 'gone'"),
    ]
    assert sorted(r.field for r in rejected[2:]) == ["at", "summary"]

    undone = imports.undo_import(actor, summary.batch_id)
    assert (undone.removed, undone.restored, undone.kept, undone.kind) == (
        2, 0, (), "communications"
    )  # fmt: skip
    assert [
        c.summary for c in timeline.list_records(actor, timeline.COMMUNICATION, first.id).rows
    ] == ["首次拜访"]
    assert customers.get_customer(actor, first.id).last_contact_at == dt.datetime(2025, 1, 1, 9, 0)


def test_undoing_the_only_communications_clears_the_last_contact(
    actor: Actor, people: list[Customer]
) -> None:
    summary, _rejected = run(
        actor, "communications", rows(({"name": "李娜"}, {"at": "2025-03-01", "summary": "x"}))
    )
    assert customers.get_customer(actor, people[1].id).last_contact_at is not None
    imports.undo_import(actor, summary.batch_id)
    assert customers.get_customer(actor, people[1].id).last_contact_at is None


def test_followups_take_their_assignee_and_state(
    actor: Actor, people: list[Customer], make_actor: Callable[..., Actor]
) -> None:
    make_actor("li.na", "sales")
    summary, rejected = run(
        actor,
        "followups",
        rows(
            ({"email": "zw@example.com"},
             {"title": "回访", "due_at": "2025-05-01 10:00", "assignee": "li.na",
              "priority": "High", "recurrence": "Monthly"}),
            ({"email": "zw@example.com"},
             {"title": "报价", "due_at": "2025-04-01 01:00:00Z", "status": "done",
              "done_at": "2025-04-02 03:00:00Z", "outcome": "已报价"}),
        ),
    )  # fmt: skip
    assert rejected == [] and summary.created == 2
    done = followups.list_followups(actor, customer_id=people[0].id, status="done").rows
    [open_one] = followups.list_followups(actor, customer_id=people[0].id).rows
    assert (open_one.title, open_one.assignee, open_one.priority, open_one.recurrence) == (
        "回访", "li.na", "high", "monthly"
    )  # fmt: skip
    assert [(f.title, f.assignee, f.done_at, f.outcome) for f in done] == [
        ("报价", actor.name, dt.datetime(2025, 4, 2, 3, 0), "已报价")
    ]
    _bad, rejected = run(
        actor,
        "followups",
        rows(({"name": "张伟"}, {"title": "x", "due_at": "2025-05-01", "status": "finished"})),
    )
    assert [(r.field, r.reason) for r in rejected] == [
        ("status", "'finished' is not one of: open, done, snoozed, cancelled")
    ]


def test_undo_removes_the_records_and_keeps_those_changed_since(
    actor: Actor, people: list[Customer]
) -> None:
    summary, _rejected = run(
        actor,
        "purchases",
        rows(({"name": "张伟"}, PURCHASE), ({"name": "李娜"}, {**PURCHASE, "product": "B"})),
    )
    [edited] = timeline.list_records(actor, timeline.PURCHASE, people[1].id).rows
    timeline.update_record(actor, timeline.PURCHASE, edited.id, {"notes": "改过"}, 1)
    undone = imports.undo_import(actor, summary.batch_id)
    assert (undone.removed, undone.restored, undone.kind) == (1, 0, "purchases")
    assert undone.kept == (
        f"purchase {edited.id} of customer {people[1].id} was changed after the import; kept",
    )
    assert purchases_of(actor, people[0]) == []
    assert [p[1] for p in purchases_of(actor, people[1])] == ["B"]
    deleted = m.History.select().where(
        (m.History.entity == "purchase") & (m.History.action == "delete")
    )
    assert deleted.count() == 1
    with pytest.raises(StoreError, match="already undone"):
        imports.undo_import(actor, summary.batch_id)


def test_a_customer_deleted_between_checking_and_writing_fails_the_whole_import(
    actor: Actor, people: list[Customer], counts: Counts
) -> None:
    def progress(stage: str, _done: int) -> None:
        if stage == "checked":  # someone else deletes a customer once the rows are checked
            customers.delete_customer(actor, people[1].id)

    given = rows(({"name": "张伟"}, PURCHASE), ({"name": "李娜"}, PURCHASE))
    before = counts()
    with pytest.raises(ValidationError, match=f"line 3: customer {people[1].id} was deleted"):
        run(actor, "purchases", given, progress=progress)
    after = counts()
    assert after["Purchase"] == 0 and after["ImportBatch"] == 0
    assert after["Customer"] == before["Customer"] - 1


def test_permissions_and_options_are_checked_before_anything_is_read(
    people: list[Customer], make_actor: Callable[..., Actor], counts: Counts
) -> None:
    reader = make_actor("viewer", "readonly")
    before = counts()
    for kind in history_imports.KINDS:
        with pytest.raises(PermissionDeniedError):
            run(reader, kind, rows(({"name": "张伟"}, PURCHASE)))
    assert counts() == before
    with pytest.raises(ValidationError, match="kind: must be one of purchases"):
        history_imports.import_history(reader, "contacts", [])
    writer = make_actor("writer", "sales")
    with pytest.raises(ValidationError, match="customer_key: must be one of id, external-id"):
        history_imports.import_history(writer, "purchases", [], customer_key="wechat")
