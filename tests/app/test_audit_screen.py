"""The audit screen, by keys: admins open it with `A` from anywhere; opening a customer in the
app is itself a row there; `V` verifies the chain; other roles are not offered it."""

from pathlib import Path

from crmtui.app import CrmApp
from crmtui.screens.audit import AuditScreen
from crmtui.screens.customer_detail import CustomerDetailScreen
from crmtui.screens.customers import CustomersScreen
from crmtui.store import audit, customers
from crmtui.store import backup as store_backup
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.types import Actor
from crmtui.widgets.record_list import RecordList
from tests.app.screen import notifications, painted_lines
from tests.tampering import edit_behind_crmtuis_back

SIZE = (80, 24)


async def test_an_admin_sees_what_was_done_and_verifies_it(db: str, actor: Actor) -> None:
    created = customers.add_customer(actor, {"name": "张伟"})
    app = CrmApp(actor=actor, db_label=db)
    seen = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # open the customer: a view the log records
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        lines = painted_lines(app.screen.query_one(RecordList))
        assert "What" in lines[0] and "Record" in lines[0]
        assert "customer.view" in lines[1] and "customer.create" in lines[2]
        assert f"customer:{created.id}" in lines[1]

        await pilot.press("V")
        await pilot.pause()
        assert seen[-1] == (
            "Audit log intact: 2 rows, each in its place. No backup recorded a head to hold it to."
        )
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
    assert [row.action for row in m.AuditEntry.select().order_by(m.AuditEntry.seq)] == [
        "customer.create",
        "customer.view",
    ]


async def test_verify_names_a_backup_whose_head_the_log_lost(db: str, actor: Actor) -> None:
    customers.add_customer(actor, {"name": "张伟"})
    made = Path(store_backup.create_backup(actor, db).path)  # in the usual place
    app = CrmApp(actor=actor, db_label=db)
    seen = notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("V")
        await pilot.pause()
        assert seen[-1].endswith("It holds the head 1 backup recorded.")
        # The log cut back to nothing, head and all: only the backup's head tells.
        edit_behind_crmtuis_back(db, "DELETE FROM audit_log")
        store_db.open_database(db)  # as the app's next store call would, triggers put back
        edit_behind_crmtuis_back(db, "DELETE FROM audit_head")
        store_db.open_database(db)
        await pilot.press("V")
        await pilot.pause()
        assert seen[-1] == f"row 1, recorded by backup {made.name}, is not in the log"


async def test_other_roles_are_not_offered_the_audit_log(db: str, actor: Actor) -> None:
    row = m.User.create(name="li", role="manager")
    manager = Actor(row.id, row.name, "manager")
    app = CrmApp(actor=manager, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Audit log" not in titles
    assert audit.head().seq == 0
