"""Export of the table's view and import of a file from the customer table, driven by keys on
each backend: what the dialogs show, what the files and the database hold afterwards, and that
the table answers keys while the work runs in its thread."""

import csv
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select, Static

from crmtui.app import CrmApp
from crmtui.screens.confirm import ConfirmScreen
from crmtui.screens.export_dialog import ExportScreen
from crmtui.screens.import_dialog import ImportScreen
from crmtui.screens.import_report import ImportReportScreen
from crmtui.store import customers
from crmtui.store.types import Actor, CustomerQuery
from crmtui.widgets.customer_table import CustomerTable
from crmtui.widgets.transfer_bar import TransferBar
from tests.app.screen import notifications, screen_text

SIZE = (80, 24)


async def until(pilot: Pilot, condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (the worker thread ends in its own time)."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)


async def fill_path(pilot: Pilot, path: Path | str) -> None:
    """Type a file name into the open dialog's file line (as a paste: paths are long)."""
    line = pilot.app.screen.query_one("#path", Input)
    line.value = str(path)
    line.focus()
    await pilot.pause()


def table_names(app: CrmApp) -> list[str]:
    table = app.screen.query_one(CustomerTable)
    return [table.render_line(y).text for y in range(1, table.size.height)]


@pytest.fixture
def people(actor: Actor) -> None:
    for name, stage in [
        ("Ada Lovelace", "active"),
        ("张伟", "active"),
        ("Alan Turing", "prospect"),
        ("Grace Hopper", "active"),
        ("Alonzo Church", "churned"),
    ]:
        customers.add_customer(actor, {"name": name, "stage": stage})


# --- Export ---------------------------------------------------------------------------------


async def test_X_exports_exactly_the_rows_the_view_shows(
    db: str, actor: Actor, people: None, tmp_path: Path
) -> None:
    target = tmp_path / "view.csv"
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await pilot.press("slash", *"al", "enter", "S")  # "al": two of five, by name Z→A
        await pilot.pause(0.3)
        table = app.screen.query_one(CustomerTable)
        query = table.query
        assert query == CustomerQuery(search="al", descending=True)
        await pilot.press("X")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        text = await screen_text(pilot)
        assert "2 matches · search: al" in text
        await fill_path(pilot, target)
        await pilot.press("enter")
        await until(pilot, lambda: bool(seen), "the export's message")
        assert seen == [f"exported 2 records to {target}"]
        assert not app.screen.query_one(TransferBar).has_class("-running")

    shown = [c.name for c in customers.list_customers(actor, query, limit=None).rows]
    assert shown == ["Alonzo Church", "Alan Turing"]
    with target.open(encoding="utf-8", newline="") as file:
        assert [row["name"] for row in csv.DictReader(file)] == shown


async def test_a_filtered_view_exports_the_rows_on_the_screen(
    db: str, actor: Actor, people: None, tmp_path: Path
) -> None:
    target = tmp_path / "active.csv"
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#stage", Select).value = "active"
        await pilot.press("ctrl+s", "S")  # only active customers, by name Z→A (not id order)
        await pilot.pause(0.3)
        table = app.screen.query_one(CustomerTable)
        assert table.query == CustomerQuery(stage="active", descending=True)
        on_screen = [line.split()[0] for line in table_names(app) if line.strip()]
        await pilot.press("X")
        await fill_path(pilot, target)
        await pilot.press("enter")
        await until(pilot, lambda: bool(seen), "the export's message")
    with target.open(encoding="utf-8", newline="") as file:
        exported = [row["name"] for row in csv.DictReader(file)]
    assert [name.split()[0] for name in exported] == on_screen
    assert exported == ["张伟", "Grace Hopper", "Ada Lovelace"]


async def test_the_format_follows_the_extension_typed(
    db: str, actor: Actor, people: None, tmp_path: Path
) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await pilot.press("X")
        await pilot.pause()
        dialog = app.screen
        offered = dialog.query_one("#path", Input).value
        assert offered.endswith(".csv") and "customers-" in offered
        assert dialog.query_one("#format", Select).value == "csv"
        await fill_path(pilot, tmp_path / "all.json")
        assert dialog.query_one("#format", Select).value == "json"
        assert dialog.query_one("#excel", Checkbox).disabled  # a byte-order mark is for CSV
        await pilot.press("enter")
        await until(pilot, lambda: bool(seen), "the export's message")
    records = json.loads((tmp_path / "all.json").read_text("utf-8"))
    assert sorted(r["name"] for r in records) == sorted(
        ["Ada Lovelace", "张伟", "Alan Turing", "Grace Hopper", "Alonzo Church"]
    )


async def test_an_existing_file_is_replaced_only_when_the_user_says_so(
    db: str, actor: Actor, people: None, tmp_path: Path
) -> None:
    target = tmp_path / "old.csv"
    target.write_text("keep me\n")
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await pilot.press("X")
        await fill_path(pilot, target)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"{target} exists. Replace it?"
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen | ExportScreen)
        assert target.read_text() == "keep me\n"

        await pilot.press("X")
        await fill_path(pilot, target)
        await pilot.press("enter", "y")
        await until(pilot, lambda: bool(seen), "the export's message")
    assert seen == [f"exported 5 records to {target}"]
    assert target.read_text("utf-8").startswith("id,name,")


async def test_a_path_that_cannot_be_written_says_why_and_writes_nothing(
    db: str, actor: Actor, people: None, tmp_path: Path
) -> None:
    target = tmp_path / "no such folder" / "x.csv"
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await pilot.press("X")
        await fill_path(pilot, target)
        await pilot.press("enter")
        await until(pilot, lambda: bool(seen), "the export's message")
        assert seen == [f"cannot write {target}: No such file or directory"]
        assert app.is_running
    assert not target.parent.exists()


# --- Import ---------------------------------------------------------------------------------


async def open_import(pilot: Pilot, path: Path, **choices: str) -> None:
    """`i`, the file, then any Select (by id) set to a value; enter checks the file."""
    await pilot.press("i")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ImportScreen)
    await fill_path(pilot, path)
    for select_id, value in choices.items():
        pilot.app.screen.query_one(f"#{select_id}", Select).value = value
    await pilot.press("enter")


async def test_a_chinese_gb18030_file_is_checked_then_imported(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    source = tmp_path / "客户表.csv"
    source.write_bytes(
        "客户名称,联系电话,邮箱,城市\n张伟,138 1234 5678,zhang@example.cn,北京\n"
        "李娜,139 8765 4321,li@example.cn,上海\n䶮,,yan@example.cn,广州\n".encode("gb18030")
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await open_import(pilot, source)
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        words = " ".join((await screen_text(pilot)).split())
        assert "would create 3, update 0, skip 0" in words
        assert "客户名称 → name" in words
        assert customers.count_customers(actor) == 0  # the check wrote nothing

        await pilot.press("y")
        await until(pilot, lambda: bool(seen), "the import's summary")
        assert seen[0].startswith("Imported batch ")
        assert "created 3, updated 0, skipped 0." in seen[0]
        await until(pilot, lambda: app.screen.query_one(CustomerTable).total == 3, "reload")
        in_order = [c.name for c in customers.list_customers(actor).rows]
        assert [line.split()[0] for line in table_names(app)[:3]] == in_order

    saved = customers.list_customers(actor, limit=None).rows
    assert {(c.name, c.phone, c.city) for c in saved} == {
        ("张伟", "+8613812345678", "北京"),
        ("李娜", "+8613987654321", "上海"),
        ("䶮", "", "广州"),
    }


async def test_a_match_by_email_updates_the_saved_customer_and_adds_the_rest(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    saved = customers.add_customer(
        actor, {"name": "张伟", "email": "zw@example.com", "city": "北京"}
    )
    source = tmp_path / "update.csv"
    source.write_text(
        "name,email,city\n张伟,ZW@example.com,上海\n李娜,ln@example.com,广州\n", "utf-8"
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await open_import(pilot, source, key="email", **{"on-duplicate": "update"})
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        assert "would create 1, update 1, skip 0" in " ".join((await screen_text(pilot)).split())
        await pilot.press("y")
        await until(pilot, lambda: bool(seen), "the import's summary")
        assert "created 1, updated 1, skipped 0." in seen[0]
    assert customers.get_customer(actor, saved.id).city == "上海"
    assert customers.count_customers(actor) == 2


async def test_the_reading_options_open_from_the_keyboard_and_reach_the_import(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    """Format, encoding, delimiter, sheet and mapping file sit folded under one line; opened,
    they are `crmtui import`'s options: here a mapping file and a delimiter the file's
    header gives no sign of."""
    source = tmp_path / "kunden.dat"
    source.write_text("Kunde|Stadt\nAcme|Oslo\n", encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"Kunde" = "name"\n"Stadt" = "city"\n', encoding="utf-8")
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        await fill_path(pilot, source)
        dialog = app.screen
        assert isinstance(dialog, ImportScreen)
        assert "Delimiter" not in await screen_text(pilot)  # folded away
        while not dialog.query_one("#reading CollapsibleTitle").has_focus:
            await pilot.press("tab")
        await pilot.press("enter")  # unfolds
        await pilot.pause()
        assert "Delimiter" in await screen_text(pilot)
        for field, text in (("#delimiter", "ab"), ("#map", str(mapping))):
            dialog.query_one(field, Input).value = text
        dialog.query_one("#format", Select).value = "csv"  # a .dat name says nothing
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "the delimiter must be one character or tab, not 'ab'" in await screen_text(pilot)
        assert dialog.query_one("#delimiter", Input).has_focus

        # Folded again with the bad delimiter in it, the check opens it to show the field.
        await pilot.click("#reading CollapsibleTitle")
        await pilot.pause()
        assert "Delimiter" not in await screen_text(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Delimiter" in await screen_text(pilot)
        assert dialog.query_one("#delimiter", Input).has_focus

        dialog.query_one("#delimiter", Input).value = "|"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        words = " ".join((await screen_text(pilot)).split())
        assert "Kunde → name" in words and "would create 1" in words
        await pilot.press("y")
        await until(pilot, lambda: customers.count_customers(actor) == 1, "the import")
    [acme] = customers.list_customers(actor).rows
    assert (acme.name, acme.city) == ("Acme", "Oslo")


async def test_a_bad_row_stops_an_all_or_nothing_import_and_names_the_reject_file(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    source = tmp_path / "sheet.csv"
    source.write_text("name,email\nAnn,ann@example.com\nBob,not an address\n", "utf-8")
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_import(pilot, source)
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        assert app.screen.mode == "failed"
        text = await screen_text(pilot)
        assert "Nothing was imported from sheet.csv" in text
        assert "No row was written" in text and "Close" in text
        rejects = str(app.screen.query_one("#rejects", Static).content)
        assert f"1 row rejected; every reason is in {tmp_path / 'sheet.rejects.csv'}" in rejects
        assert "3     email" in text  # line 3, the column, then why
        assert "Import" not in [b.label.plain for b in app.screen.query("Button")]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ImportReportScreen)
    assert customers.count_customers(actor) == 0
    with (tmp_path / "sheet.rejects.csv").open(encoding="utf-8-sig") as file:
        rejected = list(csv.reader(file))
    assert rejected[1][:2] == ["3", "email"] and rejected[1][-2:] == ["Bob", "not an address"]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, {}, "cannot open {path}: No such file or directory"),
        (b'name,email\n"Ann,ann@example.com\nBob,b@example.com\n', {}, "a quote opened here"),
        (b"name,email\nAnn,\xff\xfe\x80\n", {}, "byte 0xFF is neither UTF-8 nor GB18030"),
    ],
    ids=["missing", "unclosed quote", "undecodable"],
)
async def test_a_file_that_cannot_be_read_is_named_with_its_problem(
    db: str,
    actor: Actor,
    tmp_path: Path,
    content: bytes | None,
    options: dict[str, str],
    message: str,
) -> None:
    source = tmp_path / "in.csv"
    if content is not None:
        source.write_bytes(content)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        await open_import(pilot, source, **options)
        await until(pilot, lambda: bool(seen), "the message")
        assert message.format(path=source) in seen[0]
        assert app.is_running and not isinstance(app.screen, ImportReportScreen)
    assert customers.count_customers(actor) == 0


async def test_customers_imported_as_purchases_are_refused_row_by_row(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("name,email\nAnn,ann@example.com\n", "utf-8")
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_import(pilot, source, kind="purchases")
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        assert app.screen.mode == "failed"
        assert "no saved customer has email" in await screen_text(pilot)
    assert customers.count_customers(actor) == 0


async def test_the_table_answers_keys_while_an_import_runs(
    db: str, actor: Actor, people: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "more.csv"
    source.write_text("name\n" + "".join(f"New {i:02}\n" for i in range(20)), "utf-8")
    # The worker thread stops at its first report of the real import until the test lets it
    # go: the import is certainly running while the keys are pressed.
    reached, release = threading.Event(), threading.Event()
    report = TransferBar.report

    def held(bar: TransferBar, label: str, done: int) -> None:
        if bar.has_class("-running") and bar._totals and not reached.is_set():
            reached.set()
            assert release.wait(20)
        report(bar, label, done)

    monkeypatch.setattr(TransferBar, "report", held)
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        seen = notifications(app)
        table = app.screen.query_one(CustomerTable)
        await open_import(pilot, source)
        await until(pilot, lambda: isinstance(app.screen, ImportReportScreen), "the check")
        await pilot.press("y")
        await until(pilot, reached.is_set, "the import's first report")

        before = table.cursor_row
        await pilot.press("j", "j")
        await pilot.pause()
        assert table.cursor_row == before + 2
        bar = app.screen.query_one(TransferBar)
        assert bar.has_class("-running") and "Checking rows" in await screen_text(pilot)
        await pilot.press("i")  # a second import waits its turn
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
        assert seen == ["An import or export is running: wait for it to end."]
        await pilot.press("q")  # the process would wait for the thread with the screen gone
        await pilot.pause()
        assert app.is_running
        assert seen[-1] == "An import or export is running: quit once it has ended."

        release.set()
        await until(pilot, lambda: len(seen) == 3, "the import's summary")
        assert "created 20" in seen[2]
        await until(pilot, lambda: table.total == 25, "reload")
    assert customers.count_customers(actor) == 25
