"""`crmtui import purchases|communications|followups` from a script's point of view: Chinese
sheets, reject files and exit statuses, undo, and an exported file imported back."""

import contextlib
import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crmtui.store import customers, followups, timeline, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.types import Actor
from tests.cli.conftest import Run

Snapshot = Callable[[], dict[str, list[tuple]]]


@pytest.fixture
def store(db_target: str) -> Callable[[], Iterator[Actor]]:
    """`with store() as actor:` works in the test database directly, then closes it."""

    @contextlib.contextmanager
    def session() -> Iterator[Actor]:
        store_db.open_database(db_target)
        try:
            yield users.local_actor()
        finally:
            store_db.close_database()

    return session


@pytest.fixture
def people(crm: Run) -> list[dict]:
    made = []
    for args in (
        ["--name", "张伟", "--company", "华信科技", "--phone", "138 1234 5678",
         "--email", "zw@example.com"],
        ["--name", "李娜", "--company", "星河", "--email", "ln@example.com"],
    ):  # fmt: skip
        result = crm("customer", "add", *args, "--json")
        assert result.exit_code == 0, result.stderr
        made.append(json.loads(result.stdout))
    return made


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        csv.writer(file).writerows(rows)
    return path


def test_purchases_from_a_chinese_gb18030_sheet(
    crm: Run, people: list[dict], tmp_path: Path, store: Callable
) -> None:
    sheet = write_csv(
        tmp_path / "购买记录.csv",
        [
            ["客户名称", "公司名称", "日期", "产品", "金额（元）", "数量", "备注", "业务员微信"],
            ["张伟", "华信科技", "2025年3月5日", "年度服务", "¥12,800.00", "1", "首单", "wx01"],
            ["李娜", "星河", "2025/3/6", "培训", "3000", "2", "", ""],
        ],
        encoding="gb18030",
    )
    result = crm("import", "purchases", str(sheet))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Imported batch ")
    assert "created 2 purchases." in result.stdout and "crmtui import undo" in result.stdout
    with store() as actor:
        [first] = timeline.list_records(actor, timeline.PURCHASE, people[0]["id"]).rows
        [second] = timeline.list_records(actor, timeline.PURCHASE, people[1]["id"]).rows
    assert (first.date, first.product, str(first.amount), first.notes) == (
        dt.date(2025, 3, 5), "年度服务", "12800.00", "首单\n业务员微信: wx01"
    )  # fmt: skip
    assert (second.product, str(second.amount), str(second.quantity)) == (
        "培训",
        "3000.00",
        "2.000",
    )


def test_communications_by_email_with_json_summary_and_undo(
    crm: Run, people: list[dict], tmp_path: Path, store: Callable
) -> None:
    sheet = write_csv(
        tmp_path / "comms.csv",
        [
            ["客户邮箱", "沟通时间", "方式", "内容", "结果"],
            ["ZW@example.com", "2025-03-02 09:30", "wechat", "确认续约", "同意"],
        ],
    )
    result = crm("import", "communications", str(sheet), "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary | {"batch": 0} == {
        "batch": 0, "written": True, "created": 1, "updated": 0, "skipped": 0, "rejected": 0,
        "dry_run": False, "rejects_file": None,
    }  # fmt: skip
    with store() as actor:
        [talk] = timeline.list_records(actor, timeline.COMMUNICATION, people[0]["id"]).rows
        contacted = customers.get_customer(actor, people[0]["id"]).last_contact_at
    assert (talk.channel, talk.summary, talk.outcome) == ("wechat", "确认续约", "同意")
    assert contacted == talk.at

    undone = crm("import", "undo", str(summary["batch"]))
    assert undone.exit_code == 0, undone.stderr
    assert undone.stdout.startswith(f"Undid batch {summary['batch']}: removed 1 communication,")
    with store() as actor:
        assert timeline.list_records(actor, timeline.COMMUNICATION, people[0]["id"]).rows == ()
        assert customers.get_customer(actor, people[0]["id"]).last_contact_at is None


def test_an_unknown_customer_writes_nothing_and_a_reject_file(
    crm: Run, people: list[dict], tmp_path: Path, snapshot: Snapshot
) -> None:
    sheet = write_csv(
        tmp_path / "todo.csv",
        [
            ["客户", "标题", "截止日期", "负责人"],
            ["张伟", "回访", "2025-05-01", ""],
            ["王五", "报价", "2025-05-02", ""],
            ["李娜", "寄样", "下周", ""],
        ],
    )
    before = snapshot()
    result = crm("import", "followups", str(sheet))
    assert result.exit_code == 1
    assert result.stderr.startswith("Nothing imported. 2 rows rejected, see ")
    assert snapshot() == before
    with (tmp_path / "todo.rejects.csv").open(encoding="utf-8-sig", newline="") as file:
        rejects = list(csv.reader(file))
    assert rejects[0] == ["line", "column", "reason", "客户", "标题", "截止日期", "负责人"]
    assert rejects[1] == ["3", "客户", "no saved customer has name '王五'", "王五", "报价",
                          "2025-05-02", ""]  # fmt: skip
    assert rejects[2][:2] == ["4", "截止日期"] and "下周" in rejects[2][2]

    skipped = crm("import", "followups", str(sheet), "--skip-invalid", "--json")
    assert skipped.exit_code == 0, skipped.stderr
    assert json.loads(skipped.stdout)["created"] == 1


def test_dry_run_and_a_sheet_that_names_no_customer(
    crm: Run, people: list[dict], tmp_path: Path, snapshot: Snapshot
) -> None:
    sheet = write_csv(
        tmp_path / "p.csv",
        [["email", "date", "product", "amount"], ["zw@example.com", "2025-01-01", "x", "1"]],
    )
    before = snapshot()
    dry = crm("import", "purchases", str(sheet), "--dry-run")
    assert (dry.exit_code, dry.stdout.strip()) == (
        0, "Dry run, nothing written: would create 1 purchase."
    )  # fmt: skip
    missing = crm("import", "purchases", str(sheet), "--customer-key", "phone")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        "Error: --customer-key phone: the file has no customer phone column"
    )
    linkless = write_csv(
        tmp_path / "q.csv", [["date", "product", "amount"], ["2025-01-01", "x", "1"]]
    )
    result = crm("import", "purchases", str(linkless))
    assert result.exit_code == 1 and "no column names the customer" in result.stderr
    assert snapshot() == before


HISTORY_SYSTEM = {"id", "created_at", "updated_at"}


def _exported(crm: Run, kind: str, path: Path) -> list[dict[str, str]]:
    result = crm("export", kind, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    with path.open(encoding="utf-8-sig", newline="") as file:
        return [
            {k: v for k, v in row.items() if k not in HISTORY_SYSTEM}
            for row in csv.DictReader(file)
        ]


@pytest.fixture
def history(people: list[dict], store: Callable) -> None:
    """Records of every kind, with the values that are easy to lose on the way: a formula-like
    product, exact amounts, a user who is not the importer, a done follow-up."""
    with store() as actor:
        m.User.create(name="li.na", role="sales")
        first, second = (p["id"] for p in people)
        for customer, values in [
            (first, {"date": "2025-01-15", "product": "=1+1", "amount": "0.10", "quantity": "2.5"}),
            (second, {"date": "2025-02-01", "product": "Gadget", "amount": "-12.50",
                      "status": "lost", "currency": "USD", "notes": "两行\n备注"}),
        ]:  # fmt: skip
            timeline.add_record(actor, timeline.PURCHASE, customer, values)
        timeline.add_record(
            actor,
            timeline.COMMUNICATION,
            first,
            {"at": dt.datetime(2025, 3, 2, 9, 30), "summary": "call", "user": "li.na",
             "channel": "visit", "outcome": "ok"},
        )  # fmt: skip
        renew = {"title": "renew", "due_at": dt.datetime(2025, 5, 1, 1), "assignee": "li.na",
                 "priority": "high", "recurrence": "monthly", "notes": "n"}  # fmt: skip
        followups.add_followup(actor, second, renew)
        done = followups.add_followup(actor, first, {"title": "quote", "due_at": "2025-04-01"})
        followups.complete_followup(actor, done.id, "sent")


def _clear_history(store: Callable) -> None:
    with store():
        for model in (m.Purchase, m.Communication, m.FollowUp):
            model.delete().execute()
        m.Customer.update(last_contact_at=None).execute()


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("kind", ["purchases", "communications", "followups"])
def test_an_exported_history_file_imports_back_as_the_same_records(
    crm: Run, tmp_path: Path, store: Callable, kind: str
) -> None:
    before = _exported(crm, kind, tmp_path / "before.csv")
    assert before, "the fixture made records of this kind"
    _clear_history(store)
    result = crm("import", kind, str(tmp_path / "before.csv"))
    assert result.exit_code == 0, result.stderr
    assert _exported(crm, kind, tmp_path / "after.csv") == before


@pytest.mark.usefixtures("history")
def test_into_customers_made_again_from_their_export_by_a_chosen_key(
    crm: Run, tmp_path: Path, store: Callable
) -> None:
    """Customers exported and imported again get ids of their own (on PostgreSQL at least):
    the purchases find them by name and company instead."""
    assert crm("export", "customers", "-o", str(tmp_path / "customers.csv")).exit_code == 0
    before = _exported(crm, "purchases", tmp_path / "before.csv")
    with store():
        m.Customer.delete().execute()  # their history goes with them
    assert crm("import", "customers", str(tmp_path / "customers.csv")).exit_code == 0
    result = crm(
        "import", "purchases", str(tmp_path / "before.csv"), "--customer-key", "name+company"
    )
    assert result.exit_code == 0, result.stderr
    link = {"customer_id"}
    after = _exported(crm, "purchases", tmp_path / "after.csv")
    assert [{k: v for k, v in r.items() if k not in link} for r in after] == [
        {k: v for k, v in r.items() if k not in link} for r in before
    ]
