"""The customer detail screen driven by keys through Pilot on both backends: the header card,
the overview figures, adding, editing and deleting records in their tabs, paging, and
restoring from history. Each test checks the screen and the database."""

import datetime as dt
from decimal import Decimal

import pytest
from textual.pilot import Pilot

from crmtui.app import CrmApp
from crmtui.screens.confirm import ConfirmScreen
from crmtui.screens.customer_detail import (
    CustomerDetailScreen,
    HistoryPane,
    OverviewPane,
    RecordPane,
)
from crmtui.screens.customers import CustomersScreen
from crmtui.screens.record_form import RecordFormScreen
from crmtui.store import changes, customers, followups, timeline, users
from crmtui.store.types import Actor, Customer
from crmtui.widgets.customer_table import CustomerTable
from tests.app.screen import notifications, painted_lines, screen_text, type_text

SIZE = (80, 24)


def pane(app: CrmApp, tab: str) -> RecordPane:
    return app.screen.query_one(f"#{tab}", RecordPane)


@pytest.fixture
def customer(actor: Actor) -> Customer:
    return customers.add_customer(
        actor,
        {
            "name": "张伟",
            "company": "北京星河科技有限公司",
            "stage": "active",
            "phone": "13812345678",
            "email": "Zhang.Wei@Example.CN",
            "owner": actor.name,
            "tags": ["vip", "重点"],
            "marketing_consent": True,
            "consent_source": "官网表单",
            "consent_date": "2025-03-05",
        },
    )


async def open_detail(pilot: Pilot) -> CustomerDetailScreen:
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    detail = pilot.app.screen
    assert isinstance(detail, CustomerDetailScreen)
    return detail


async def test_enter_opens_the_customer_with_its_card_and_figures(
    db: str, actor: Actor, customer: Customer
) -> None:
    for day, amount in (("2024-06-01", "1000.10"), ("2025-01-15", "299.95")):
        timeline.add_record(
            actor, timeline.PURCHASE, customer.id, {"date": day, "product": "W", "amount": amount}
        )
    timeline.add_record(actor, timeline.FEEDBACK, customer.id, {"date": "2025-02-01", "score": 4})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        card = [line.strip() for line in (await screen_text(pilot)).splitlines()[1:4]]
        assert card == [
            "张伟 · 北京星河科技有限公司  [active]",
            f"Owner {actor.name}   Tags vip, 重点   Consent yes (2025-03-05, 官网表单)",
            "Phone +86 138 1234 5678   Email zhang.wei@example.cn",
        ]
        overview = str(detail.query_one(OverviewPane).query_one("#overview-text").content)
        for line in (
            "Total spend       CNY 1,300.05",
            "Orders            2",
            "Average order     CNY 650.03",
            "Last purchase     2025-01-15  (first 2024-06-01)",
            "Last contact      —",
            "Satisfaction      4.00 / 5 (1 rating)",
        ):
            assert line in overview
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)


async def test_a_communication_added_by_keys_is_listed_and_sets_last_contact(
    db: str, actor: Actor, customer: Customer, beijing_time: None
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        await pilot.press("4")  # the communications tab
        records = pane(app, "communications").records
        assert records.has_focus
        assert painted_lines(records)[1].strip() == "None yet. Press n to add a communication."

        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        assert form.row("user").value == actor.name  # who logs it made the contact
        await pilot.press("end", "ctrl+u")  # the time starts as now: type another
        await type_text(pilot, "2025-03-05 14:30")
        assert form.row("at").editor.hint == "→ 2025-03-05 14:30"
        await pilot.press("tab")
        await pilot.press("enter", "w", "e", "enter")  # channel: WeChat
        await pilot.press("tab", "tab")
        await type_text(pilot, "Agreed on a demo")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert app.screen is detail
        assert records.total == 1
        line = painted_lines(records)[1]
        assert line.startswith(" 2025-03-05 14:30 WeChat")
        assert "Agreed on a demo" in line
        overview = str(detail.query_one(OverviewPane).query_one("#overview-text").content)
        assert "Last contact      2025-03-05 14:30" in overview

    [saved] = timeline.list_records(actor, timeline.COMMUNICATION, customer.id).rows
    assert (saved.channel, saved.summary, saved.user_id) == ("wechat", "Agreed on a demo", actor.id)
    assert saved.at == dt.datetime(2025, 3, 5, 6, 30)  # typed in local time, stored in UTC
    assert customers.get_customer(actor, customer.id).last_contact_at == saved.at


async def test_a_purchase_is_edited_and_deleted_by_keys(
    db: str, actor: Actor, customer: Customer
) -> None:
    older, newer = (
        timeline.add_record(
            actor,
            timeline.PURCHASE,
            customer.id,
            {"date": day, "product": product, "amount": "100"},
        )
        for day, product in (("2024-06-01", "Gadget"), ("2025-01-15", "Widget"))
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("3")
        records = pane(app, "purchases").records
        assert [line.split()[:2] for line in painted_lines(records)[1:]] == [
            ["2025-01-15", "Widget"],  # newest first
            ["2024-06-01", "Gadget"],
        ]

        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        assert (form.row("product").value, form.row("amount").value) == ("Widget", "100.00")
        form.row("amount").focus_editor()
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, "¥1,500")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        assert "CNY 1,500.00" in painted_lines(records)[1]
        assert timeline.get_record(actor, timeline.PURCHASE, newer.id).amount == Decimal("1500.00")

        await pilot.press("j", "d")  # the older purchase
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Gadget, 2024-06-01" in await screen_text(pilot)
        await pilot.press("n")  # no: nothing is deleted
        await pilot.pause()
        assert records.total == 2
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        assert records.total == 1
        assert [line.split()[1] for line in painted_lines(records)[1:]] == ["Widget"]

    remaining = timeline.list_records(actor, timeline.PURCHASE, customer.id).rows
    assert [p.id for p in remaining] == [newer.id]
    history = [(e.entity_id, e.action) for e in changes.customer_changes(actor, customer.id)]
    assert history[:2] == [(older.id, "delete"), (newer.id, "update")]


async def test_a_follow_up_is_added_and_deleted(db: str, actor: Actor, customer: Customer) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("7", "n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        await type_text(pilot, "Send the quote")
        await pilot.press("tab")
        await type_text(pilot, "+3d")
        await pilot.press("ctrl+s")
        await pilot.pause()
        records = pane(app, "followups").records
        assert records.total == 1
        assert "Send the quote" in painted_lines(records)[1]
        [followup] = followups.list_followups(actor, customer_id=customer.id).rows
        assert followup.due_at.date() == dt.date.today() + dt.timedelta(days=3)
        assert (followup.assignee, followup.priority) == (actor.name, "normal")

        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert records.total == 0
    assert followups.list_followups(actor, customer_id=customer.id).total == 0


async def test_restoring_from_history_brings_the_value_back_and_records_it(
    db: str, actor: Actor, customer: Customer
) -> None:
    customers.update_customer(actor, customer.id, {"title": "CEO"}, None)
    customers.update_customer(actor, customer.id, {"title": "Chairman"}, None)
    app = CrmApp(actor=actor, db_label=db)
    told = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        await pilot.press("8")
        history = detail.query_one(HistoryPane).records
        assert history.has_focus
        newest = painted_lines(history)[1]
        assert actor.name in newest
        assert "Title" in newest
        assert "CEO → Chairman" in newest

        await pilot.press("r")
        await pilot.pause()
        assert told == ["Title restored."]
        assert customers.get_customer(actor, customer.id).title == "CEO"
        assert "CEO → Chairman" in painted_lines(history)[2]
        assert "restored: Chairman → CEO" in painted_lines(history)[1]
        assert "· CEO" in (await screen_text(pilot)).splitlines()[1]  # the card

        # A creation is not a field change: refused, and said so.
        await pilot.press("G", "r")
        await pilot.pause()
        assert "only a field's old value can be restored" in told[-1]

    newest = changes.customer_changes(actor, customer.id, limit=1)[0]
    assert (newest.action, newest.field, newest.old_value, newest.new_value) == (
        "restore",
        "title",
        "Chairman",
        "CEO",
    )
    assert len(changes.customer_changes(actor, customer.id)) == 4


async def test_lists_fetch_a_page_at_a_time(
    db: str, actor: Actor, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeline.PURCHASE.entity.model.insert_many(
        [
            {
                "customer": customer.id,
                "date": dt.date(2020, 1, 1) + dt.timedelta(days=n),
                "product": f"Item {n:03d}",
                "amount": Decimal(n),
            }
            for n in range(130)
        ]
    ).execute()
    asked: list[tuple[int, int | None]] = []
    real = timeline.list_records

    def recording(actor: Actor, kind: timeline.Kind, customer_id: int, **page: int) -> object:
        if kind is timeline.PURCHASE:
            asked.append((page["offset"], page["limit"]))
        return real(actor, kind, customer_id, **page)

    monkeypatch.setattr(timeline, "list_records", recording)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("3")
        records = pane(app, "purchases").records
        assert records.total == 130
        assert painted_lines(records)[1].split()[1:3] == ["Item", "129"]
        assert asked == [(0, 50)]
        await pilot.press("G")
        await pilot.pause()
        assert records.cursor_row == 129
        assert painted_lines(records)[-1].split()[1:3] == ["Item", "000"]
        assert {offset for offset, _limit in asked} == {0, 100}
        assert all(limit == 50 for _offset, limit in asked)


async def test_tabs_switch_by_arrows_and_digits_and_keys_follow_the_tab(
    db: str, actor: Actor, customer: Customer
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        tabs = detail.query_one("#customer-tabs")
        assert tabs.active == "overview"
        footer = (await screen_text(pilot)).splitlines()[-1]
        assert "e Edit" in footer and "n New" not in footer
        for expected in ("contacts", "purchases", "communications"):
            await pilot.press("right")
            assert tabs.active == expected
        footer = (await screen_text(pilot)).splitlines()[-1]
        assert all(key in footer for key in ("n New", "e Edit", "d Delete"))
        await pilot.press("left", "left", "left", "left")
        assert tabs.active == "history"  # round the end
        assert "r Restore" in (await screen_text(pilot)).splitlines()[-1]
        await pilot.press("2")
        assert tabs.active == "contacts"
        assert pane(app, "contacts").records.has_focus

        # e on the overview edits the customer itself.
        await pilot.press("1", "e")
        await pilot.pause()
        assert app.screen.heading == "Edit customer 张伟"


async def test_a_role_that_may_not_read_history_sees_why(
    db: str, actor: Actor, customer: Customer
) -> None:
    ids = users.ensure_users([("mkt", "Marketing", "marketing")])
    marketer = Actor(id=ids["mkt"], name="mkt", role="marketing")
    app = CrmApp(actor=marketer, db_label=db)
    seen = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        assert "mkt may not read customer history" in await screen_text(pilot)
        await pilot.press("3")
        records = pane(app, "purchases").records
        assert "may not read customer history" in painted_lines(records)[1]
        # Asking for a new purchase is refused before a form that could never be saved.
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is detail
        assert seen == ["mkt may not change customer history"]
        assert detail.customer is not None
    assert timeline.list_records(actor, timeline.PURCHASE, customer.id).total == 0


async def test_the_table_under_the_customer_reloads_when_a_record_changes_it(
    db: str, actor: Actor, customer: Customer
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CustomerTable)
        detail = await open_detail(pilot)
        timeline.add_record(  # elsewhere: the table has not been told
            actor, timeline.COMMUNICATION, customer.id, {"at": "2025-01-01", "summary": "Old"}
        )
        assert table.row_at(0).last_contact_at is None
        await pilot.press("4", "n")
        await pilot.pause()
        await type_text(pilot, "2025-03-05 14:30")
        await pilot.press("tab", "tab", "tab")
        await type_text(pilot, "Call")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is detail  # the table is still underneath, yet reloaded
        assert table.row_at(0).last_contact_at == dt.datetime(2025, 3, 5, 14, 30)


async def test_a_customer_deleted_meanwhile_is_not_opened(
    db: str, actor: Actor, customer: Customer
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    told = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        customers.delete_customer(actor, customer.id)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        assert told == [f"no customer with id {customer.id}"]
