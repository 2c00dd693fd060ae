"""What a role sees in the app (Pilot): a sales user's table, search and follow-up queue
hold only its own customers; marketing's table shows phones masked."""

from crmtui.app import CrmApp
from crmtui.store import customers, followups
from crmtui.store import models as m
from crmtui.store.types import Actor
from crmtui.widgets.customer_table import CustomerTable
from tests.app.screen import screen_text, type_text

SIZE = (80, 24)


def _user(name: str, role: str) -> Actor:
    row = m.User.create(name=name, role=role)
    return Actor(row.id, row.name, role)


async def test_sales_sees_only_its_own_customers(db: str, actor: Actor) -> None:
    wang, _li = _user("wang", "sales"), _user("li", "sales")
    customers.add_customer(actor, {"name": "张伟", "owner": "wang"})
    theirs = customers.add_customer(actor, {"name": "张丽", "owner": "li"})
    # Assigned to Wang, but about Li's customer: not Wang's to see.
    followups.add_followup(actor, theirs.id, {"title": "回访", "due_at": "-1d", "assignee": "wang"})
    app = CrmApp(actor=wang, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(CustomerTable)
        assert table.total == 1
        text = await screen_text(pilot)
        assert "张伟" in text and "张丽" not in text
        await pilot.press("slash")
        await type_text(pilot, "张")
        await pilot.pause(0.5)
        text = await screen_text(pilot)
        assert "张伟" in text and "张丽" not in text
        await pilot.press("escape", "w")  # the queue: the item about Li's customer is not there
        await pilot.pause(0.5)
        text = await screen_text(pilot)
        assert "回访" not in text and "张丽" not in text


async def test_marketing_sees_phones_masked(db: str, actor: Actor) -> None:
    mei = _user("mei", "marketing")
    customers.add_customer(actor, {"name": "王芳", "phone": "13812345678"})
    app = CrmApp(actor=mei, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = await screen_text(pilot)
        assert "138 **** 5678" in text and "1234" not in text


async def test_opening_a_customer_is_no_refused_attempt(db: str, actor: Actor) -> None:
    """Marketing may not read records or history: the tabs say so without trying, so opening
    a customer adds its view to the audit log, and no refused row for each tab."""
    mei = _user("mei", "marketing")
    customers.add_customer(actor, {"name": "王芳"})
    app = CrmApp(actor=mei, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        for tab in "2345678":
            await pilot.press(tab)
            await pilot.pause()
        assert "may not read customer history" in await screen_text(pilot)
    mine = m.AuditEntry.select().where(m.AuditEntry.user_name == "mei")
    assert [(row.action, row.result) for row in mine] == [("customer.view", "ok")]
