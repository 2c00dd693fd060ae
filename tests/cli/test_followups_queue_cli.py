"""`crmtui followups` (the queue) and `crmtui followup wait|reschedule` for scripts and cron."""

import datetime as dt
import json
from collections.abc import Callable

from rich.cells import cell_len

from tests.cli.conftest import Run


def _json(crm: Run, *args: str) -> object:
    result = crm(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _customer(crm: Run, name: str) -> int:
    return _json(crm, "customer", "add", "--name", name)["id"]  # type: ignore[index]


def _followup(crm: Run, customer_id: int, due: str, title: str, *more: str) -> int:
    created = _json(crm, "followup", "add", str(customer_id), "--due", due, "--title", title, *more)
    return created["id"]  # type: ignore[index]


def test_an_empty_queue_exits_0(crm: Run) -> None:
    for args in [(), ("--overdue",), ("--today",), ("--week",), ("--all",)]:
        result = crm("followups", *args)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
        assert _json(crm, "followups", *args) == []


def test_queue_in_text_and_json(crm: Run) -> None:
    zhang = _customer(crm, "张伟")
    ada = _customer(crm, "Ada")
    later = _followup(crm, ada, "+30d", "renewal")
    week = _followup(crm, zhang, "+3d", "送报价")
    # Two days and an hour ago, to the minute: "-2d" means 09:00 two days ago, which is less
    # than two days before a clock reading before 09:00.
    two_days_ago = dt.datetime.now() - dt.timedelta(days=2, hours=1)
    late = _followup(
        crm, ada, two_days_ago.strftime("%Y-%m-%d %H:%M"), "call back", "--priority", "urgent"
    )
    older = _followup(crm, zhang, "-3d", "visit", "--priority", "low")

    listed = _json(crm, "followups")
    assert [(i["section"], i["id"]) for i in listed] == [  # type: ignore[index]
        ("overdue", late),  # urgent beats a day's lateness
        ("overdue", older),
        ("week", week),
        ("later", later),
    ]
    first = listed[0]  # type: ignore[index]
    assert {"kind", "id", "version", "customer_id", "customer_name", "title", "due_at",
            "priority", "assignee", "section", "score", "terms"} <= set(first)  # fmt: skip
    assert (first["kind"], first["customer_name"], first["priority"]) == (
        "followup",
        "Ada",
        "urgent",
    )
    assert first["terms"][0]["label"] == "2 days overdue"
    assert first["score"] == round(sum(t["points"] for t in first["terms"]), 1)

    text = crm("followups")
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == [
        "section", "due", "kind", "id", "customer", "title", "priority", "score", "assignee",
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == ["overdue", "overdue", "week", "later"]
    # Columns line up, the Chinese names included.
    starts = {cell_len(line[: line.index("followup")]) for line in lines[1:]}
    assert len(starts) == 1

    assert [i["id"] for i in _json(crm, "followups", "--overdue")] == [late, older]  # type: ignore[index]
    assert len(_json(crm, "followups", "--week")) == 3  # type: ignore[arg-type]
    assert len(_json(crm, "followups", "--limit", "1")) == 3  # type: ignore[arg-type]


def test_wait_hides_and_brings_back(crm: Run, snapshot: Callable[[], dict]) -> None:
    customer_id = _customer(crm, "Ada")
    followup_id = _followup(crm, customer_id, "-1d", "call")
    waited = crm("followup", "wait", str(followup_id), "+2d")
    assert waited.exit_code == 0, waited.stderr
    assert waited.stdout.startswith(f"follow-up {followup_id} waits until ")
    assert _json(crm, "followups") == []
    back = crm("followup", "wait", str(followup_id), "")
    assert back.stdout == f"follow-up {followup_id} is in the queue again\n"
    assert [i["id"] for i in _json(crm, "followups")] == [followup_id]  # type: ignore[index]

    before = snapshot()
    for args, message in [
        (("followup", "wait", str(followup_id), "yesterday"), "until: is not in the future"),
        (("followup", "wait", str(followup_id), "someday"), "until: 'someday' is not a date"),
        (("followup", "snooze", str(followup_id), "2020-01-01"), "until: is not in the future"),
        (("followup", "reschedule", str(followup_id), "2025-02-30"), "when: '2025-02-30' is not"),
        (("followup", "wait", "999999", "+1d"), "no follow-up with id 999999"),
        (("followups", "--user", "ghost"), "user: no user named 'ghost'"),
    ]:
        result = crm(*args)
        assert result.exit_code == 1, args
        assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert snapshot() == before
    both = crm("followups", "--user", "x", "--all")
    assert both.exit_code == 2 and "use either --user or --all" in both.stderr

    # A past date is allowed here (`--` before a WHEN that starts with a minus sign).
    moved = crm("followup", "reschedule", "--json", str(followup_id), "--", "-5d")
    assert json.loads(moved.stdout)["version"] == 4  # waited, back, rescheduled
    assert json.loads(moved.stdout)["due_at"].startswith(str(dt.date.today() - dt.timedelta(5)))
    # To the minute, so the lateness is five whole days at any time of day ("-5d" is 09:00).
    five_days_ago = (dt.datetime.now() - dt.timedelta(days=5, hours=1)).strftime("%Y-%m-%d %H:%M")
    crm("followup", "reschedule", str(followup_id), five_days_ago)
    assert _json(crm, "followups")[0]["terms"][0]["label"] == "5 days overdue"  # type: ignore[index]
