"""The way to the first screen imports only what the first screen needs (start-up time).

Each check runs in a fresh Python process, so what this test run imported does not count.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Not needed until the user types a date or an e-mail address, opens a customer, a form or a
# dialog, runs a subcommand, or opens a PostgreSQL database (psycopg alone takes about 90 ms).
LATER = (
    "psycopg",
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


def _modules(code: str) -> set[str]:
    """The modules imported by `code`, which prints them with `print_modules()`."""
    prelude = (
        "import json, sys\ndef print_modules(*_):\n    print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str]) -> list[str]:
    return sorted(name for name in LATER if name in modules)


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
