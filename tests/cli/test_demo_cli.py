"""`crmtui demo` from a script's point of view: JSON summary, text line, refusals."""

import json
from collections.abc import Callable

import pytest

from crmtui.store import models as m
from crmtui.store.db import open_database
from tests.cli.conftest import Run

KINDS = {
    "users",
    "customers",
    "tags",
    "contacts",
    "purchases",
    "communications",
    "service_items",
    "feedback",
    "followups",
    "history",
}


def test_json_summary_counts_what_was_written(crm: Run, db_target: str) -> None:
    result = crm("demo", "--customers", "50", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # no progress bar outside a terminal
    summary = json.loads(result.stdout)
    assert set(summary) == KINDS | {"total", "seconds"}
    assert summary["customers"] == 50 and summary["history"] == 50
    assert summary["total"] == sum(summary[kind] for kind in KINDS)
    open_database(db_target)
    assert m.Customer.select().count() == 50
    assert m.Purchase.select().count() == summary["purchases"] > 0
    assert m.FollowUp.select().count() == summary["followups"] > 0


def test_text_summary_is_one_line_and_the_seed_repeats_the_people(crm: Run, db_target: str) -> None:
    for _run in range(2):
        result = crm("demo", "--customers", "20", "--seed", "42")
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout.splitlines()) == 1
        assert result.stdout.startswith("Created 20 customers with ")
    open_database(db_target)
    names = [c.name for c in m.Customer.select().order_by(m.Customer.id)]
    assert names[:20] == names[20:]


@pytest.mark.parametrize("count", ["0", "-3", "2000001"])
def test_a_bad_count_exits_1_with_one_line_and_writes_nothing(
    crm: Run, snapshot: Callable[[], dict[str, list[tuple]]], count: str
) -> None:
    crm("doctor")  # create the database first, so the snapshot has something to compare
    before = snapshot()
    result = crm("demo", "--customers", count)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "customers" in lines[0] and "2,000,000" in lines[0]
    assert "Traceback" not in result.output
    assert snapshot() == before


def test_customers_is_required(crm: Run) -> None:
    result = crm("demo")
    assert result.exit_code == 2
    assert "--customers" in result.stderr
