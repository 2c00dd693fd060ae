"""The README's pictures of the main screens: `.venv/bin/python docs/screenshots.py`.

Loads demo customers (seed 1) into a database in a temporary folder, runs the app headless at
120×32 and saves SVG screenshots in docs/screenshots/. The clock, the time zone, the user and
the database name shown are fixed, so a second run changes a picture only if its screen
changed.
"""

import asyncio
import datetime as dt
import html
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import Input

from crmtui import config
from crmtui.app import CrmApp
from crmtui.messages import OpenCustomer
from crmtui.screens.customer_detail import CustomerDetailScreen
from crmtui.screens.customer_form import CustomerFormScreen
from crmtui.screens.customers import CustomersScreen
from crmtui.screens.help import HelpScreen
from crmtui.store import customers, demo, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.types import Actor, CustomerQuery

OUT = Path(__file__).resolve().parent / "screenshots"
SIZE = (120, 32)
CUSTOMERS = 300
NOW = dt.datetime(2025, 6, 16, 1, 30)  # UTC: 09:30 in Beijing, a Monday
USER = "lina"  # one of the demo's salespeople, here the admin of their own file
DB_LABEL = "~/.local/share/crmtui/crmtui.db"  # the default database, as the header shows it

# Rich sizes each run of text in its SVG by characters, not terminal cells, so a browser
# squeezes Chinese into half its width (Rich issue #2742); the runs are given their cells.
_TEXT_LENGTH = re.compile(r'textLength="([\d.]+)"([^>]*)>([^<]*)</text>')
CELL_WIDTH = 12.2  # Rich's SVG: a cell is 0.61 of its 20-unit line height


def widen_wide_text(svg: str) -> str:
    def widen(match: re.Match[str]) -> str:
        text = html.unescape(match.group(3))
        if cell_len(text) == len(text):
            return match.group(0)
        length = f"{CELL_WIDTH * cell_len(text):g}"
        return f'textLength="{length}"{match.group(2)}>{match.group(3)}</text>'

    return _TEXT_LENGTH.sub(widen, svg)


async def settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def save(pilot: Pilot, name: str) -> None:
    await settle(pilot)
    path = Path(pilot.app.save_screenshot(f"{name}.svg", str(OUT)))
    path.write_text(widen_wide_text(path.read_text("utf-8")), "utf-8")
    print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


def search_term(actor: Actor) -> str:
    """A two-character Chinese name that more than one demo customer has."""
    names = [c.name for c in customers.list_customers(actor, limit=None).rows]
    two = [n for n in names if len(n) == 2 and cell_len(n) == 4]
    return max(sorted(set(two)), key=two.count)


def busiest_key_account(actor: Actor) -> int:
    """The key account contacted last: a detail screen with something in every tab."""
    query = CustomerQuery(key_account=True, sort="last_contact_at", descending=True)
    return customers.list_customers(actor, query, limit=1).rows[0].id


async def shoot(actor: Actor) -> None:
    term = search_term(actor)
    customer_id = busiest_key_account(actor)
    app = CrmApp(actor=actor, db_label=DB_LABEL)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, CustomersScreen)
        await save(pilot, "customers")

        await pilot.press("slash")
        search = app.screen.query_one("#search", Input)
        search.cursor_blink = False  # the cursor shows in the picture, not half the time
        await pilot.press(*term)
        table = app.screen.table
        for _wait in range(100):  # the table follows the search box after a pause
            if table.query.search == term:
                break
            await pilot.pause(0.05)
        else:
            raise RuntimeError(f"the table never showed the search {term!r}")
        await save(pilot, "search")
        await pilot.press("escape")

        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await save(pilot, "help")
        await pilot.press("escape")

        app.post_message(OpenCustomer(customer_id))
        await settle(pilot)
        assert isinstance(app.screen, CustomerDetailScreen)
        await save(pilot, "customer")

        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, CustomerFormScreen)
        for editor in app.screen.query(Input):
            editor.cursor_blink = False
        await save(pilot, "form")


def main() -> None:
    os.environ["TZ"] = "CST-8"  # Beijing time, as the demo's people live in
    time.tzset()
    os.environ["LOGNAME"] = USER  # getpass.getuser(): the acting user
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, mock.patch.object(m, "utcnow", lambda: NOW):
        os.environ["CRMTUI_CONFIG"] = str(Path(folder) / "config.toml")  # default settings
        config.reset_settings()
        store_db.open_database(str(Path(folder) / "demo.db"))
        try:
            actor = users.local_actor()
            demo.load_demo(actor, CUSTOMERS, seed=1)
            asyncio.run(shoot(actor))
        finally:
            store_db.close_database()


if __name__ == "__main__":
    sys.exit(main())
