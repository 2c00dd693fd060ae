"""Running the real `crmtui` command in-process against a real database on each backend."""

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from crmtui.cli import main
from crmtui.store import models as m
from crmtui.store.db import open_database

Run = Callable[..., Result]


@pytest.fixture
def crm(db_target: str) -> Run:
    """`crm("customer", "add", "--name", "X")` runs crmtui on the test database (`env`: more
    environment variables, e.g. CRMTUI_PASSWORD)."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(
            main, ["--db", db_target, *args], input=input, env=env, catch_exceptions=False
        )

    return run


@pytest.fixture
def snapshot(db_target: str) -> Callable[[], dict[str, list[tuple]]]:
    """Everything the database holds, table by table, to prove a refused command wrote nothing."""

    def take() -> dict[str, list[tuple]]:
        open_database(db_target)
        return {
            model._meta.table_name: sorted(model.select().tuples(), key=lambda row: row[0])
            for model in m.ALL_MODELS
        }

    return take
