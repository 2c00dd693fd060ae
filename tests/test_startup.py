"""The way to the first screen imports only what the first screen needs (start-up time).

Each check runs in a fresh Python process, so what this test run imported does not count.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crmtui.store import customers, users
from crmtui.store import db as store_db

# Not needed until the user types a date or an e-mail address, opens a customer, a form or a
# dialog, runs a subcommand, or opens a PostgreSQL database (psycopg alone takes about 90 ms).
LATER = (
    "psycopg",
    "phonenumbers",
    "email_validator",
    "dateutil.parser",
    "dateutil.tz",
    "crmtui.screens.customer_detail",
    "crmtui.screens.customer_form",
    "crmtui.screens.record_form",
    "crmtui.screens.columns",
    "crmtui.screens.confirm",
    "crmtui.screens.customer_filter",
    "crmtui.screens.prompts",
    "crmtui.screens.views",
    "crmtui.cli.customers",
    "crmtui.cli.demo",
    "crmtui.cli.doctor",
    "crmtui.cli.fields",
    "crmtui.cli.followups",
    "crmtui.cli.reindex",
    "crmtui.store.demo",
)
# Not needed until the first screen is painted (the header's count of overdue follow-ups), nor
# unless there is a config file.
# crmtui.store.record_types: the values of a customer's records and history, made when first
# used (the follow-ups' for that count).
# crmtui.store.backup (with pyrage): the header's age of the newest backup.
AFTER_FIRST_PAINT = (
    "crmtui.screens.backup",
    "crmtui.store.backup",
    "pyrage",
    "crmtui.store.followups",
    "crmtui.store.queue",
    "crmtui.store.record_types",
    "tomllib",
)


PRELUDE = "import json, sys\ndef print_modules(*_):\n    print(json.dumps(sorted(sys.modules)))\n"


def _modules(code: str) -> set[str]:
    """The modules imported by `code`, which prints them with `print_modules()`."""
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], later: tuple[str, ...] = LATER + AFTER_FIRST_PAINT) -> list[str]:
    return sorted(name for name in later if name in modules)


def test_importing_the_app_imports_nothing_for_later() -> None:
    assert _loaded(_modules("import crmtui.app\nprint_modules()")) == []


def test_the_crmtui_command_opens_the_app_without_anything_for_later(tmp_path: Path) -> None:
    """`crmtui` with no subcommand, on SQLite, up to the moment the app would start."""
    code = (
        "import crmtui.app\n"
        "crmtui.app.CrmApp.run = print_modules\n"
        "from crmtui.cli import main\n"
        f"main(['--db', {str(tmp_path / 'crm.db')!r}], standalone_mode=False)\n"
    )
    modules = _modules(code)
    assert "crmtui.app" in modules and "peewee" in modules
    assert _loaded(modules) == []


def test_the_first_screen_shows_phones_without_importing_for_later(tmp_path: Path) -> None:
    """The customer table painted with a customer's phone on it, in international layout
    (stored beside the number, so painting it needs no phonenumbers)."""
    path = str(tmp_path / "crm.db")
    store_db.open_database(path)
    customers.add_customer(users.local_actor(), {"name": "王小明", "phone": "13812345678"})
    store_db.close_database()
    code = (
        "import asyncio\n"
        "from crmtui.app import CrmApp\n"
        "from crmtui.store import db, users\n"
        "from crmtui.widgets.customer_table import CustomerTable\n"
        f"db.open_database({path!r})\n"
        "async def paint():\n"
        "    app = CrmApp(actor=users.local_actor(), db_label='crm.db')\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        await pilot.pause()\n"
        "        table = app.screen.query_one(CustomerTable)\n"
        "        print(table.render_line(1).text)\n"
        "        print_modules()\n"
        "asyncio.run(paint())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, check=True
    )
    row, modules = result.stdout.strip().splitlines()[-2:]
    assert "王小明" in row and "+86 138 1234 5678" in row
    assert _loaded(set(json.loads(modules)), LATER) == []


def test_postgresql_works_when_peewee_was_imported_without_psycopg(pg_target: str) -> None:
    """crmtui imports peewee with psycopg hidden; opening PostgreSQL imports psycopg itself."""

    def crmtui(*args: str) -> str:
        command = [sys.executable, "-m", "crmtui", "--db", pg_target, *args]
        result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        assert result.returncode == 0, result.stderr
        return result.stdout

    added = json.loads(
        crmtui(
            "customer", "add", "--name", "Startup", "--phone", "+86 138 1234 5678",
            "--email", "Startup@Example.com", "--json",
        )
    )  # fmt: skip
    assert added["phone"] == "+8613812345678" and added["email"] == "startup@example.com"
    listed = json.loads(crmtui("customer", "list", "--search", "Startup", "--json"))
    assert [row["id"] for row in listed] == [added["id"]]


@pytest.mark.parametrize("first", ["psycopg", "peewee"])
def test_peewee_imported_before_crmtui_is_left_alone(first: str) -> None:
    """A program (or test run) that imported psycopg or peewee itself gets them as they are."""
    code = f"import {first}\nimport crmtui.store.db, peewee\n"
    code += "assert peewee.psycopg is sys.modules['psycopg']\nprint_modules()"
    assert "psycopg" in _modules(code)


def test_the_record_values_come_through_the_types_module() -> None:
    """`crmtui.store.types` hands out the values it makes on first use as its own."""
    from crmtui.store import record_types, types

    assert types.HistoryEntry is record_types.HistoryEntry
    assert {name for name in types.__all__ if not hasattr(record_types, name)} <= set(vars(types))
    with pytest.raises(AttributeError):
        types.NoSuchValue  # noqa: B018
