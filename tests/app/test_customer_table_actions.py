"""Sorting, filtering, columns, saved views, search and bulk actions on the customer table,
driven by keys through Textual's Pilot on each backend. Each test checks what the user sees
and what the database holds."""

import datetime as dt
from collections.abc import Callable

import pytest
from rich.cells import cell_len
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from crmtui.app import CrmApp
from crmtui.screens.confirm import ConfirmScreen
from crmtui.store import customers, timeline, users, views
from crmtui.store import models as m
from crmtui.store.types import Actor, Customer, CustomerQuery
from crmtui.widgets.customer_table import COLUMN_BY_KEY, CustomerTable, column_widths

SIZE = (80, 24)


def table_of(app: App) -> CustomerTable:
    return app.screen.query_one(CustomerTable)


def cells(line: str, table: CustomerTable) -> list[str]:
    """The text of each column shown in a painted table line."""
    found, chars = [], iter(line)
    keys = tuple(column.key for column in table.columns)
    for width in column_widths(table.scrollable_content_region.width, keys):
        next(chars)  # the blank (or the mark) before each column
        cell, used = "", 0
        while used < width:
            char = next(chars)
            cell, used = cell + char, used + cell_len(char)
        found.append(cell.strip())
    return found


def header(app: App) -> list[str]:
    table = table_of(app)
    return cells(table.render_line(0).text, table)


def rows(app: App) -> list[list[str]]:
    """The rows on screen, as the user reads them."""
    table = table_of(app)
    lines = [table.render_line(y).text for y in range(1, table.size.height)]
    return [cells(line, table) for line in lines if line.strip()]


def expected_rows(actor: Actor, app: App, query: CustomerQuery) -> list[list[str]]:
    """The first screen of rows the store lists for `query`, in the table's columns."""
    table = table_of(app)
    listed = customers.list_customers(actor, query, limit=table.size.height - 1).rows
    return [[column.value(c) for column in table.columns] for c in listed]


def status(app: App) -> str:
    return str(app.screen.query_one("#table-status", Static).content)


async def settle(pilot: Pilot) -> None:
    """Let the search timer fire and the screens catch up (a dialog's worker waits on it)."""
    await pilot.pause(0.25)
    await pilot.pause()


def stored(actor: Actor, ids: list[int]) -> list[Customer]:
    return [customers.get_customer(actor, cid) for cid in ids]


def changes_of(ids: list[int]) -> list[tuple[int, str | None, str | None, str | None]]:
    query = m.History.select().where(
        m.History.customer_id.in_(ids) & (m.History.action != "create")
    )
    return [
        (r.customer_id, r.field, r.old_value, r.new_value) for r in query.order_by(m.History.id)
    ]


@pytest.fixture
def make_actor(db: str) -> Callable[[str, str], Actor]:
    """Create a user with a role and return it as an acting user."""

    def make(name: str, role: str) -> Actor:
        return Actor(users.ensure_users([(name, name, role)])[name], name, role)

    return make


@pytest.fixture
def crowd(actor: Actor, make_actor: Callable[..., Actor]) -> list[Customer]:
    """40 customers with repeated values in every column shown, some never contacted."""
    make_actor("wang", "sales")
    make_actor("li", "sales")
    stages = ["new", "prospect", "active", "dormant", "churned"]
    owners = ["wang", "li", ""]
    added = []
    for n in range(40):
        values = {
            "name": f"Customer {(n * 17) % 40:03d}",
            "company": f"Firm {n % 7}",
            "phone": f"138{n % 9:08d}",
            "stage": stages[n % 5],
            "owner": owners[n % 3],
            "tags": ["vip"] if n % 4 == 0 else [],
        }
        customer = customers.add_customer(actor, values)
        if n % 6:
            timeline.add_record(
                actor,
                timeline.COMMUNICATION,
                customer.id,
                {"at": dt.datetime(2025, 1, 1 + n % 11, 9), "summary": "call"},
            )
        added.append(customers.get_customer(actor, customer.id))
    return added


async def test_sorting_by_each_column_both_ways(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app)[0] == "Name ▴"
        assert rows(app) == expected_rows(actor, app, CustomerQuery())
        shown = [column.key for column in table_of(app).columns]
        # s moves the sort to the next column shown (wrapping round); S turns it round.
        for key in [*shown[1:], shown[0]]:
            await pilot.press("s")
            label = COLUMN_BY_KEY[key].label
            position = shown.index(key)
            assert header(app)[position] == f"{label} ▴"
            ascending = rows(app)
            assert ascending == expected_rows(actor, app, CustomerQuery(sort=key))
            await pilot.press("S")
            assert header(app)[position] == f"{label} ▾"
            descending = rows(app)
            assert descending == expected_rows(actor, app, CustomerQuery(sort=key, descending=True))
            assert descending != ascending
            await pilot.press("S")  # and back
            assert rows(app) == ascending


async def test_a_filter_narrows_the_rows_and_the_count(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert status(app) == "40 customers"
        await pilot.press("f")  # the stage list has the focus: open it, pick "active"
        await pilot.press("enter", "down", "down", "down", "enter", "ctrl+s")
        await settle(pilot)
        active = customers.count_customers(actor, CustomerQuery(stage="active"))
        assert active == 8
        assert status(app) == "8 matches · stage: active"
        assert table_of(app).total == 8
        assert [row[3] for row in rows(app)] == ["active"] * 8
        assert rows(app) == expected_rows(actor, app, CustomerQuery(stage="active"))

        # A tag as well: tab to the tag field, type it, enter applies.
        await pilot.press("f", "tab", *"vip", "enter")
        await settle(pilot)
        query = CustomerQuery(stage="active", tag="vip")
        assert status(app) == "2 matches · stage: active · tag: vip"
        assert rows(app) == expected_rows(actor, app, query)
        assert len(rows(app)) == customers.count_customers(actor, query) == 2

        # Clear shows everyone again.
        await pilot.press("f", "ctrl+r")
        await settle(pilot)
        assert status(app) == "40 customers"


async def test_hidden_columns_survive_a_restart(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(app) == ["Name ▴", "Company", "Phone", "Stage", "Owner", "Last contact"]
        await pilot.press("c")
        # Name cannot be hidden, so Company is highlighted first: untick it; down to Tags,
        # tick it; apply.
        await pilot.press("space", *["down"] * 6, "space", "enter")
        await settle(pilot)
        assert header(app) == ["Name ▴", "Phone", "Stage", "Owner", "Tags", "Last contact"]
        assert "vip" in [row[4] for row in rows(app)]
    assert views.hidden_columns(actor) == ("company", "email", "key_account")

    again = CrmApp(actor=actor, db_label=db)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert header(again) == ["Name ▴", "Phone", "Stage", "Owner", "Tags", "Last contact"]
        table = table_of(again)
        lines = [table.render_line(y).text for y in range(table.size.height)]
        assert {cell_len(line) for line in lines} == {table.scrollable_content_region.width}


async def test_a_saved_view_restores_filter_sort_and_columns(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f", "tab", *"vip", "enter")  # tag vip
        await settle(pilot)
        await pilot.press("s", "S")  # company, descending
        await pilot.press("c", "down", "space", "enter")  # hide Phone
        await settle(pilot)
        wanted = CustomerQuery(tag="vip", sort="company", descending=True)
        assert table_of(app).query == wanted
        assert header(app) == ["Name", "Company ▾", "Stage", "Owner", "Last contact"]
        seen = rows(app)

        await pilot.press("v", *"VIP by firm", "enter")  # no views yet: the name field
        await settle(pilot)
        [saved] = views.list_views(actor)
        assert (saved.name, saved.query) == ("VIP by firm", wanted)
        assert set(saved.hidden) == {"phone", "email", "key_account", "tags"}
        assert status(app).endswith("view: VIP by firm")

        # Elsewhere: no filter, another sort, every column.
        await pilot.press("f", "ctrl+r", "s")
        await settle(pilot)
        await pilot.press("c", "down", "space", "enter")
        await settle(pilot)
        assert table_of(app).query == CustomerQuery(sort="stage")
        assert "view:" not in status(app)

        await pilot.press("v", "enter")  # the list has the focus, on the only view
        await settle(pilot)
        assert table_of(app).query == wanted
        assert header(app) == ["Name", "Company ▾", "Stage", "Owner", "Last contact"]
        assert rows(app) == seen
        assert status(app) == "10 matches · tag: vip · view: VIP by firm"


async def test_slash_searches_as_you_type(db: str, actor: Actor, crowd: list[Customer]) -> None:
    customers.add_customer(actor, {"name": "张伟", "company": "北京星河科技有限公司"})
    customers.add_customer(actor, {"name": "Alice Smith"})
    customers.add_customer(actor, {"name": "Alicia Keys"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"Alic")
        await settle(pilot)
        assert [row[0] for row in rows(app)] == ["Alice Smith", "Alicia Keys"]
        assert status(app) == "2 matches · search: Alic"
        await pilot.press("e")  # each key narrows further
        await settle(pilot)
        assert [row[0] for row in rows(app)] == ["Alice Smith"]
        assert status(app) == "1 match · search: Alice"

        # Enter goes back to the table, keeping the search.
        await pilot.press("enter")
        await settle(pilot)
        assert table_of(app).has_focus
        assert len(rows(app)) == 1

        # A new search: the Chinese name, found by one character.
        await pilot.press("slash", *["backspace"] * 5, "张")
        await settle(pilot)
        [found] = rows(app)
        assert found[0] == "张伟"
        assert found[1].startswith("北京星河") and found[1].endswith("…")  # cut to the column
        assert status(app) == "1 match · search: 张"

        # Escape clears the search and goes back to the table.
        await pilot.press("escape")
        await settle(pilot)
        assert table_of(app).has_focus
        assert status(app) == "43 customers"
        assert table_of(app).query == CustomerQuery()


async def test_mark_three_and_change_their_stage(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = table_of(app)
        first_five = customers.list_customers(actor, limit=5).rows
        marked = [c.id for c in first_five[:3]]
        assert [c.stage for c in first_five[:3]] != ["active"] * 3
        await pilot.press("space", "space", "space")
        assert set(table.marked) == set(marked)
        assert status(app) == "40 customers · 3 marked"
        assert [table.render_line(y).text[0] for y in range(1, 5)] == ["✔", "✔", "✔", " "]

        await pilot.press("p", "down", "down", "enter")  # new, prospect, active
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        already = sum(c.stage == "active" for c in first_five[:3])
        count = 3 - already
        assert app.screen.question == f"Set the stage of {count} customers to “active”?"
        before = {c.id: c for c in stored(actor, [c.id for c in crowd])}
        await pilot.press("y")
        await settle(pilot)

        after = {c.id: c for c in stored(actor, [c.id for c in crowd])}
        changed = [cid for cid in after if after[cid] != before[cid]]
        assert sorted(changed) == sorted(c.id for c in first_five[:3] if c.stage != "active")
        assert all(after[cid].stage == "active" for cid in marked)
        assert all(after[cid].version == before[cid].version + 1 for cid in changed)
        assert sorted(changes_of(marked)) == sorted(
            (cid, "stage", before[cid].stage, "active") for cid in changed
        )
        assert table.marked == {}
        assert [row[3] for row in rows(app)[:3]] == ["active"] * 3
        assert status(app) == "40 customers"


async def test_cancelling_changes_nothing(db: str, actor: Actor, crowd: list[Customer]) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = stored(actor, [c.id for c in crowd])
        await pilot.press("space", "space", "space", "p", "down", "down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert stored(actor, [c.id for c in crowd]) == before
        assert changes_of([c.id for c in crowd]) == []
        assert len(table_of(app).marked) == 3  # still marked, to try something else


async def test_bulk_delete(db: str, actor: Actor, crowd: list[Customer]) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        doomed = [c.id for c in customers.list_customers(actor, limit=2).rows]
        await pilot.press("space", "space", "d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question.startswith("Delete 2 customers and everything recorded")
        await pilot.press("enter")  # the focus starts on "No": an absent-minded enter is safe
        await settle(pilot)
        assert customers.count_customers(actor) == 40
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert customers.count_customers(actor) == 38
        assert [
            cid
            for cid in doomed
            if customers.count_customers(actor)
            and cid in {c.id for c in customers.list_customers(actor, limit=None).rows}
        ] == []
        assert [(cid, field) for cid, field, _old, _new in changes_of(doomed)] == [
            (cid, None) for cid in doomed
        ]
        assert status(app) == "38 customers"
        assert table_of(app).total == 38


async def test_tagging_from_the_bulk_menu(db: str, actor: Actor, crowd: list[Customer]) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = customers.list_customers(actor, limit=2).rows
        await pilot.press("space", "space", "x", "enter")  # the first action: add a tag
        await settle(pilot)
        await pilot.press(*"重点客户", "enter")
        await settle(pilot)
        assert app.screen.question == "Add the tag “重点客户” to 2 customers?"
        await pilot.press("y")
        await settle(pilot)
        assert [set(c.tags) for c in stored(actor, [c.id for c in first])] == [
            {*c.tags, "重点客户"} for c in first
        ]


async def test_a_customer_changed_since_marking_refuses_the_change(
    db: str, actor: Actor, crowd: list[Customer]
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = customers.list_customers(actor, limit=2).rows
        await pilot.press("space", "space")
        # Someone else saves the second customer meanwhile.
        customers.update_customer(actor, first[1].id, {"company": "Elsewhere Ltd"}, None)
        before = stored(actor, [c.id for c in crowd])
        await pilot.press("p", "end", "enter")  # churned
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert stored(actor, [c.id for c in crowd]) == before
        messages = [n.message for n in app._notifications]
        assert any("was changed by someone else" in text for text in messages)
        # The marks now hold the customers as they are: trying again works.
        await pilot.press("p", "end", "enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert [c.stage for c in stored(actor, [c.id for c in first])] == ["churned"] * 2


async def test_a_role_that_may_not_write_is_told_so(
    db: str, actor: Actor, crowd: list[Customer], make_actor: Callable[..., Actor]
) -> None:
    reader = make_actor("reader", "readonly")
    app = CrmApp(actor=reader, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("space", "p")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert [n.message for n in app._notifications] == ["reader may not change customers"]
