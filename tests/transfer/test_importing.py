"""An import run as both interfaces run it: the options' defaults, the phone region for one
import only, the first rejects kept to show, and a file no row of which names a customer."""

import threading
from pathlib import Path

import pytest

from crmtui.config import current_settings
from crmtui.store import customers
from crmtui.store.types import Actor
from crmtui.transfer import importing
from crmtui.transfer.errors import TransferError
from crmtui.transfer.importing import ImportOptions


def test_the_defaults_are_the_command_lines() -> None:
    options = ImportOptions("in.csv")
    assert (options.kind, options.key, options.on_duplicate) == ("customers", None, "error")
    assert not options.dry_run and not options.skip_invalid
    assert options.rejects_file == Path("in.rejects.csv")
    assert ImportOptions("-").rejects_file == Path(importing.STDIN_REJECTS)


def test_a_region_holds_for_its_import_only(db: str, actor: Actor, tmp_path: Path) -> None:
    source = tmp_path / "us.csv"
    source.write_text("name,phone\nAnn,(202) 555-0143\n", "utf-8")
    before = current_settings().default_region
    reports: list[tuple[str, int]] = []
    result = importing.run_import(
        actor,
        ImportOptions(str(source), region="us"),
        progress=lambda label, done: reports.append((label, done)),
    )
    assert result.summary.created == 1 and not result.failed
    assert customers.list_customers(actor).rows[0].phone == "+12025550143"
    assert current_settings().default_region == before
    assert reports == [(importing.CHECKING, 1), (importing.writing("customers"), 1)]


def test_an_imports_region_is_not_the_region_of_a_save_made_meanwhile(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    """The TUI imports in a worker thread while the user saves customers in the main one."""
    source = tmp_path / "us.csv"
    source.write_text("name,phone\nAnn,(202) 555-0143\n", "utf-8")
    saved: list[str] = []

    def save_meanwhile(label: str, done: int) -> None:
        if not saved:  # called by the import, in the middle of it
            worker = threading.Thread(
                target=lambda: saved.append(
                    customers.add_customer(actor, {"name": "李雷", "phone": "13812345678"}).phone
                )
            )
            worker.start()
            worker.join()

    importing.run_import(actor, ImportOptions(str(source), region="us"), progress=save_meanwhile)
    assert saved == ["+8613812345678"]  # the configured region (CN), not the import's


def test_the_first_rejects_are_kept_with_the_files_column_names(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    rows = "".join(f"P{i},not-an-email-{i}\n" for i in range(8))
    source.write_text("客户名称,邮箱\n" + rows, "utf-8")
    result = importing.run_import(actor, ImportOptions(str(source)))
    assert result.failed and result.summary.rejected == 8
    assert result.rejects_file == tmp_path / "bad.rejects.csv"
    assert [(r.line, r.column) for r in result.first_rejects] == [
        (line, "邮箱") for line in range(2, 2 + importing.FIRST_REJECTS)
    ]
    assert customers.count_customers(actor) == 0


def test_history_without_a_column_naming_the_customer_is_refused(
    db: str, actor: Actor, tmp_path: Path
) -> None:
    source = tmp_path / "p.csv"
    source.write_text("product,amount\nTea,3\n", "utf-8")
    with pytest.raises(TransferError, match="no column names the customer"):
        importing.run_import(actor, ImportOptions(str(source), kind="purchases"))
