"""A database that fails under the app ends it with one line, not a traceback."""

import pytest

from crmtui.app import CrmApp, DatabaseStopped
from crmtui.store import customers
from crmtui.store.db import current_database
from crmtui.store.types import Actor


async def test_a_failing_database_stops_the_app_with_one_line(db: str, actor: Actor) -> None:
    customers.add_customer(actor, {"name": "张伟"})
    app = CrmApp(actor=actor, db_label=db)
    with pytest.raises(DatabaseStopped) as stopped:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            # What a lost table looks like to every query from now on.
            current_database().execute_sql("ALTER TABLE customer RENAME TO gone")
            await pilot.press("r")  # reload the table
            await pilot.pause()
    assert app.return_code == 1
    shown = stopped.value.__rich__()
    assert shown.startswith("crmtui stopped: the database failed: ")
    assert "customer" in shown and "\n" not in shown
