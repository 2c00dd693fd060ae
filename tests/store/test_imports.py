"""Importing customers (`store.imports`): all or nothing, rejects, matching, undo; both backends."""

from collections.abc import Iterable

import pytest

from crmtui.store import changes, custom_fields, customers, imports
from crmtui.store import models as m
from crmtui.store.errors import FieldProblem, NotFoundError, StoreError, ValidationError
from crmtui.store.imports import Rejected, SourceRow
from crmtui.store.types import Actor, CustomerQuery


def rows(*values: dict[str, object]) -> list[SourceRow]:
    """Rows as a file gives them: the header is line 1, so the first row is line 2."""
    return [
        SourceRow(line, row, tuple(str(v) for v in row.values()))
        for line, row in enumerate(values, start=2)
    ]


def names(actor: Actor) -> list[str]:
    return [c.name for c in customers.list_customers(actor).rows]


def import_all(
    actor: Actor, given: Iterable[SourceRow], **options: object
) -> tuple[imports.ImportSummary, list[Rejected]]:
    rejected: list[Rejected] = []
    summary = imports.import_customers(actor, given, reject=rejected.append, **options)  # type: ignore[arg-type]
    return summary, rejected


def test_rows_become_customers_with_their_values_tags_and_search(actor: Actor) -> None:
    custom_fields.define_field(actor, "wechat", "WeChat ID", "text")
    summary, rejected = import_all(
        actor,
        rows(
            {"name": "王小明", "company": "华信科技", "phone": "138 1234 5678", "tags": "vip，b2b",
             "custom": {"wechat": "wxm88"}},
            {"name": "Ada Lovelace", "email": "Ada@Example.com", "key_account": "yes"},
        ),
        source="customers.csv",
    )  # fmt: skip
    assert rejected == []
    assert (summary.created, summary.updated, summary.skipped, summary.rejected) == (2, 0, 0, 0)
    assert summary.written and not summary.dry_run
    wang = customers.list_customers(actor, CustomerQuery(search="小明")).rows[0]
    assert (wang.company, wang.phone, wang.phone_raw, wang.phone_display) == (
        "华信科技", "+8613812345678", "138 1234 5678", "+86 138 1234 5678"
    )  # fmt: skip
    assert wang.tags == ("b2b", "vip") and wang.custom == {"wechat": "wxm88"}
    ada = customers.list_customers(actor, CustomerQuery(search="ada@example")).rows[0]
    assert (ada.email, ada.email_raw, ada.key_account, ada.version) == (
        "ada@example.com", "Ada@Example.com", True, 1
    )  # fmt: skip
    history = list(m.History.select().where(m.History.batch_id == summary.batch_id))
    assert sorted((h.entity_id, h.action) for h in history) == [
        (wang.id, "create"),
        (ada.id, "create"),
    ]
    batch = m.ImportBatch.get_by_id(summary.batch_id)
    assert (batch.kind, batch.source, batch.created, batch.user_name) == (
        "customers", "customers.csv", 2, actor.name
    )  # fmt: skip


def test_one_bad_row_writes_nothing_and_names_its_line_field_and_reason(actor: Actor) -> None:
    summary, rejected = import_all(
        actor,
        rows(
            {"name": "Good"},
            {"name": "Bad", "email": "not-an-email", "phone": "12345"},
            {"company": "Nameless"},
        ),
    )
    assert not summary.written and summary.rejected == 2
    assert [(r.line, r.field) for r in rejected] == [(3, "phone"), (3, "email"), (4, "name")]
    assert "not a valid email address" in rejected[1].reason
    assert rejected[0].cells == ("Bad", "not-an-email", "12345")
    assert rejected[2].reason == "is required"
    assert names(actor) == [] and m.ImportBatch.select().count() == 0


def test_skip_invalid_imports_the_good_rows(actor: Actor) -> None:
    summary, rejected = import_all(
        actor, rows({"name": "Good"}, {"name": "Bad", "email": "x@"}), skip_invalid=True
    )
    assert (summary.created, summary.rejected, summary.written) == (1, 1, True)
    assert [r.line for r in rejected] == [3]
    assert names(actor) == ["Good"]


def test_a_problem_found_while_reading_rejects_the_row(actor: Actor) -> None:
    ragged = SourceRow(
        2,
        {"name": "Ragged"},
        ("Ragged", "x", "y"),
        (FieldProblem("", "3 cells, the header has 1"),),
    )
    summary, rejected = import_all(actor, [ragged])
    assert summary.rejected == 1 and rejected[0].reason == "3 cells, the header has 1"
    assert names(actor) == []


def test_dry_run_says_what_would_happen_and_writes_nothing(actor: Actor) -> None:
    customers.add_customer(actor, {"name": "Old", "email": "old@example.com"})
    summary, _rejected = import_all(
        actor,
        rows({"name": "Old again", "email": "OLD@example.com"}, {"name": "New"}),
        key="email",
        on_duplicate="update",
        dry_run=True,
    )
    assert (summary.created, summary.updated, summary.dry_run, summary.written) == (
        1,
        1,
        True,
        False,
    )
    assert names(actor) == ["Old"]


def test_update_on_a_key_changes_only_the_fields_the_row_gives_with_history(actor: Actor) -> None:
    old = customers.add_customer(
        actor, {"name": "Old", "email": "old@example.com", "city": "上海", "phone": "13812345678"}
    )
    summary, _rejected = import_all(
        actor,
        rows(
            {
                "name": "Old Name Fixed",
                "email": "old@example.com",
                "city": "",
                "phone": "139 1234 5678",
            }
        ),
        key="email",
        on_duplicate="update",
    )
    assert (summary.created, summary.updated) == (0, 1)
    now = customers.get_customer(actor, old.id)
    assert (now.name, now.city, now.phone, now.version) == (
        "Old Name Fixed",
        "上海",
        "+8613912345678",
        2,
    )
    changed = {
        (h.field, h.old_value, h.new_value)
        for h in m.History.select().where(m.History.batch_id == summary.batch_id)
    }
    assert changed == {
        ("name", "Old", "Old Name Fixed"),
        ("phone", "13812345678", "139 1234 5678"),  # as typed
    }


@pytest.mark.parametrize(
    ("key", "given"),
    [
        ("phone", {"name": "x", "phone": "+86 138-1234-5678"}),
        ("external-id", {"name": "x", "external_id": "C-1"}),
        ("name+company", {"name": "张伟", "company": "华信"}),
    ],
)
def test_each_key_finds_the_saved_customer(
    actor: Actor, key: str, given: dict[str, object]
) -> None:
    customers.add_customer(
        actor, {"name": "张伟", "company": "华信", "phone": "13812345678", "external_id": "C-1"}
    )
    summary, _rejected = import_all(actor, rows(given), key=key, on_duplicate="skip")
    assert (summary.created, summary.skipped) == (0, 1)
    assert names(actor) == ["张伟"]


def test_on_duplicate_error_rejects_the_row(actor: Actor) -> None:
    saved = customers.add_customer(actor, {"name": "Old", "email": "old@example.com"})
    summary, rejected = import_all(
        actor, rows({"name": "Old", "email": "old@example.com"}), key="email"
    )
    assert not summary.written
    assert [(r.line, r.field, r.reason) for r in rejected] == [
        (2, "email", f"customer {saved.id} already has this email")
    ]


def test_two_rows_with_the_same_key_reject_the_second(actor: Actor) -> None:
    summary, rejected = import_all(
        actor,
        rows({"name": "A", "email": "a@example.com"}, {"name": "B", "email": "A@example.com"}),
        key="email",
        on_duplicate="update",
    )
    assert [(r.line, r.reason) for r in rejected] == [(3, "the same email as line 2")]
    assert not summary.written


def test_a_customer_saved_between_checking_and_writing_is_matched_not_doubled(actor: Actor) -> None:
    def someone_else_saves(stage: str, _rows: int) -> None:
        # The rows are checked (none matched): another user now saves the same customer.
        if stage == "checked":
            customers.add_customer(actor, {"name": "Late", "email": "late@example.com"})

    summary = imports.import_customers(
        actor,
        rows({"name": "Late", "email": "late@example.com", "city": "北京"}),
        key="email",
        on_duplicate="update",
        progress=someone_else_saves,
    )
    assert (summary.created, summary.updated) == (0, 1)
    [late] = customers.list_customers(actor).rows
    assert late.city == "北京"


def test_bad_options_are_refused(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="key: must be one of email, phone"):
        imports.import_customers(actor, [], key="fax")
    with pytest.raises(ValidationError, match="on_duplicate: must be one of skip, update, error"):
        imports.import_customers(actor, [], on_duplicate="merge")


def test_an_owner_column_names_active_users(actor: Actor, make_actor) -> None:
    wang = make_actor("wang", "sales")
    make_actor("gone", "sales", active=False)
    given = [{"name": f"客户{i}", "owner": " wang "} for i in range(3)]
    given += [{"name": "甲", "owner": "gone"}, {"name": "乙", "owner": "nobody"}, {"name": "丙"}]

    summary, rejected = import_all(actor, rows(*given), skip_invalid=True)

    assert [(r.line, r.field, r.reason) for r in rejected] == [
        (5, "owner", "no active user named 'gone'"),
        (6, "owner", "no active user named 'nobody'"),
    ]
    owners = {c.name: c.owner for c in customers.list_customers(actor).rows}  # their names
    assert owners == {"客户0": wang.name, "客户1": wang.name, "客户2": wang.name, "丙": ""}
    assert summary.created == 4


def test_undo_removes_what_was_added_and_restores_what_was_changed(actor: Actor) -> None:
    old = customers.add_customer(actor, {"name": "Old", "email": "old@example.com", "tags": ["a"]})
    summary, _rejected = import_all(
        actor,
        rows(
            {"name": "Old", "email": "old@example.com", "city": "广州", "tags": "b"},
            {"name": "New", "email": "new@example.com"},
        ),
        key="email",
        on_duplicate="update",
    )
    assert sorted(names(actor)) == ["New", "Old"]
    undone = imports.undo_import(actor, summary.batch_id)
    assert (undone.removed, undone.restored, undone.kept) == (1, 2, ())
    [now] = customers.list_customers(actor).rows
    assert (now.id, now.city, now.tags) == (old.id, "", ("a",))
    assert customers.list_customers(actor, CustomerQuery(search="new@")).rows == ()
    actions = [e.action for e in changes.customer_changes(actor, old.id)]
    assert actions.count("restore") == 2
    with pytest.raises(StoreError, match="already undone"):
        imports.undo_import(actor, summary.batch_id)
    with pytest.raises(NotFoundError):
        imports.undo_import(actor, 999)


def test_undo_gives_a_phone_back_as_it_was_typed_with_its_extension(actor: Actor) -> None:
    old = customers.add_customer(
        actor, {"name": "Old", "email": "old@example.com", "phone": "010-6552 9988 分机 8001"}
    )
    summary, _rejected = import_all(
        actor,
        rows({"name": "Old", "email": "old@example.com", "phone": "13912345678"}),
        key="email",
        on_duplicate="update",
    )
    assert customers.get_customer(actor, old.id).phone_raw == "13912345678"

    undone = imports.undo_import(actor, summary.batch_id)

    assert (undone.restored, undone.kept) == (1, ())
    now = customers.get_customer(actor, old.id)
    assert (now.phone, now.phone_raw) == ("+861065529988", "010-6552 9988 分机 8001")


def test_undo_keeps_what_was_changed_since(actor: Actor) -> None:
    old = customers.add_customer(actor, {"name": "Old", "email": "old@example.com"})
    summary, _rejected = import_all(
        actor,
        rows({"name": "Old", "email": "old@example.com", "city": "广州"}, {"name": "New"}),
        key="email",
        on_duplicate="update",
    )
    edited = customers.update_customer(actor, old.id, {"city": "深圳"}, None)
    [new] = customers.list_customers(actor, CustomerQuery(search="New")).rows
    customers.update_customer(actor, new.id, {"notes": "called"}, None)
    undone = imports.undo_import(actor, summary.batch_id)
    assert (undone.removed, undone.restored) == (0, 0)
    assert undone.kept == (
        f"customer {new.id} (New) was changed after the import; kept",
        f"customer {old.id}: city was changed after the import; kept",
    )
    assert customers.get_customer(actor, old.id).city == edited.city == "深圳"
