"""`crmtui export` from a script's point of view: stdout or a file, the format by extension,
exit statuses and one-line errors, and a file never left half-written."""

import csv
import io
import json
import os
import pty
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from crmtui.cli import main
from crmtui.store import db as store_db
from crmtui.store import exports, timeline, users
from crmtui.store.errors import DatabaseFailure
from crmtui.tabular import writing
from tests.cli.conftest import Run


def added(crm: Run, *args: str) -> dict:
    result = crm("customer", "add", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def two(crm: Run) -> list[dict]:
    return [
        added(crm, "--name", "张伟", "--phone", "138 1234 5678", "--stage", "active",
              "--tag", "vip", "--notes", "=cmd|' /C calc'!A0"),
        added(crm, "--name", "Ada", "--email", "ada@example.com"),
    ]  # fmt: skip


def lines(data: bytes) -> list[str]:
    """CSV lines as written (CliRunner's `stdout` and `read_text` would turn CRLF into LF)."""
    return data.decode("utf-8").split("\r\n")


def test_customers_go_to_stdout_as_csv_by_default(crm: Run, two: list[dict]) -> None:
    result = crm("export", "customers")
    assert (result.exit_code, result.stderr) == (0, "")
    header, first, second, end = lines(result.stdout_bytes)
    assert header.startswith("id,name,company,title,phone,phone_raw,")
    assert first.startswith(f"{two[0]['id']},张伟,,,'+8613812345678,138 1234 5678,")
    assert ",'=cmd|' /C calc'!A0," in first  # a spreadsheet shows it, and runs nothing
    assert second.startswith(f"{two[1]['id']},Ada,") and end == ""


def test_json_has_the_keys_and_values_of_customer_show(crm: Run, two: list[dict]) -> None:
    result = crm("export", "customers", "--format", "json")
    assert result.exit_code == 0, result.stderr
    shown = [json.loads(crm("customer", "show", str(c["id"]), "--json").stdout) for c in two]
    assert json.loads(result.stdout) == shown
    assert json.loads(result.stdout)[0]["notes"] == "=cmd|' /C calc'!A0"  # JSON is not guarded


def read(path: Path, fmt: str) -> list[dict]:
    """The records of an exported file."""
    if fmt == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if fmt == "xlsx":
        header, *rows = openpyxl.load_workbook(path).active.iter_rows(values_only=True)
    else:
        header, *rows = csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline=""))
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("out.csv", "csv"), ("OUT.XLSX", "xlsx"), ("out.json", "json"), ("customers", "csv")],
)
def test_a_file_gets_the_format_its_extension_names(
    crm: Run, two: list[dict], tmp_path: Path, name: str, fmt: str
) -> None:
    path = tmp_path / name
    result = crm("export", "customers", "-o", str(path), "--tag", "vip")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"exported 1 record to {path}\n"
    assert [(str(r["id"]), r["name"], r["phone"]) for r in read(path, fmt)] == [
        (str(two[0]["id"]), "张伟", "'+8613812345678" if fmt == "csv" else "+8613812345678")
    ]


def test_an_extension_naming_no_format_is_refused_unless_format_is_given(
    crm: Run, two: list[dict], folder: Path
) -> None:
    path = folder / "out.xls"
    refused = crm("export", "customers", "-o", str(path))
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: cannot tell the format from the extension '.xls': "
        "name a .csv, .xlsx or .json file, or give --format\n"
    )
    assert list(folder.iterdir()) == []
    chosen = crm("export", "customers", "-o", str(path), "--format", "csv")
    assert chosen.exit_code == 0 and path.read_text(encoding="utf-8").startswith("id,name,")


def test_excel_csv_starts_with_a_byte_order_mark(crm: Run, two: list[dict]) -> None:
    result = crm("export", "customers", "--excel")
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbfid,name,")
    assert "张伟".encode() in result.stdout_bytes


@pytest.mark.parametrize(
    "args",
    [
        ["customers", "--excel", "--format", "json"],
        ["customers", "--excel", "-o", "x.xlsx"],
        ["customers", "--stage", "asleep"],
        ["customers", "--format", "xls"],
        ["contacts"],
    ],
)
def test_usage_errors_exit_2_and_write_nothing(
    crm: Run, args: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)
    result = crm("export", *args)
    assert result.exit_code == 2
    assert result.stdout == "" and list(folder.iterdir()) == []


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder for exports alone (the SQLite database is in tmp_path)."""
    path = tmp_path / "exports"
    path.mkdir()
    return path


@pytest.fixture
def existing(folder: Path) -> Path:
    path = folder / "customers.csv"
    path.write_text("the export of last week\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def assert_untouched(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == "the export of last week\n"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_an_unknown_owner_is_one_error_line_and_the_file_is_left_as_it_was(
    crm: Run, two: list[dict], existing: Path
) -> None:
    result = crm("export", "purchases", "--owner", "nobody", "-o", str(existing))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: owner: no user named 'nobody'\n"
    assert_untouched(existing)


def test_a_path_that_cannot_be_written_is_one_error_line(crm: Run, tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "out.csv"
    result = crm("export", "customers", "-o", str(missing))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {missing}: No such file or directory\n"
    folder = crm("export", "customers", "-o", str(tmp_path))
    assert folder.exit_code == 1
    assert folder.stderr == f"Error: cannot write {tmp_path}: Is a directory\n"


def test_a_failure_while_writing_leaves_the_file_as_it_was(
    crm: Run, two: list[dict], existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(stream: io.BufferedIOBase, *args: object, **kwargs: object) -> int:
        stream.write(b"id,name\r\n1,half a row")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing, "write_csv", full_disk)
    result = crm("export", "customers", "-o", str(existing))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {existing}: No space left on device\n"
    assert_untouched(existing)


def test_a_database_failure_mid_export_leaves_the_file_as_it_was(
    crm: Run, two: list[dict], existing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: object) -> Iterator[list[object]]:
        yield [1, "first row"]
        raise DatabaseFailure("disk I/O error")

    monkeypatch.setattr(exports, "_customer_rows", failing)
    result = crm("export", "customers", "-o", str(existing))
    assert result.exit_code == 1
    assert result.stderr == "Error: the database refused the request: disk I/O error\n"
    assert_untouched(existing)


def test_a_new_file_is_private_and_a_replaced_one_keeps_its_permissions(
    crm: Run, two: list[dict], existing: Path
) -> None:
    new = existing.with_name("new.csv")
    assert crm("export", "customers", "-o", str(new)).exit_code == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600  # personal data, like the database
    assert crm("export", "customers", "-o", str(existing)).exit_code == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert existing.read_text(encoding="utf-8") == new.read_text(encoding="utf-8")


def test_history_is_exported_for_the_filtered_customers(
    crm: Run, two: list[dict], db_target: str
) -> None:
    store_db.open_database(db_target)
    actor = users.local_actor()
    for customer, product in [(two[0], "Widget"), (two[1], "Gadget"), (two[0], "=2+2")]:
        values = {"date": "2025-01-15", "product": product, "amount": "1299.90"}
        timeline.add_record(actor, timeline.PURCHASE, customer["id"], values)
    store_db.close_database()
    result = crm("export", "purchases", "--stage", "active")
    assert result.exit_code == 0, result.stderr
    header, *rows, _end = lines(result.stdout_bytes)
    assert header.startswith(
        "id,customer_id,customer_external_id,customer_name,customer_company,"
        "customer_email,customer_phone,date,product,category,quantity,amount,"
    )
    assert [row.split(",")[1:12] for row in rows] == [
        [str(two[0]["id"]), "", "张伟", "", "", "'+8613812345678", "2025-01-15", product, "",
         "1.000", "1299.90"]
        for product in ("Widget", "'=2+2")
    ]  # fmt: skip


# --- As a separate process: pipes and terminals -----------------------------------------------


@pytest.fixture
def command(sqlite_target: str) -> list[str]:
    """crmtui's export as a command line of its own, on a SQLite database of a few hundred
    customers (more CSV than a pipe holds)."""
    made = CliRunner().invoke(main, ["--db", sqlite_target, "demo", "--customers", "400"])
    assert made.exit_code == 0, made.output
    return [sys.executable, "-m", "crmtui", "--db", sqlite_target, "export", "customers"]


def test_a_reader_that_goes_away_ends_the_export_quietly(command: list[str]) -> None:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"id,name,")
    process.stdout.close()  # `crmtui export customers | head -1`
    error = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert error == b""


def test_xlsx_can_go_down_a_pipe(command: list[str]) -> None:
    result = subprocess.run([*command, "--format", "xlsx"], capture_output=True, check=True)
    sheet = openpyxl.load_workbook(io.BytesIO(result.stdout)).active
    assert sheet.max_row == 401 and sheet["B1"].value == "name"


def test_xlsx_is_not_written_to_a_terminal(command: list[str]) -> None:
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [*command, "--format", "xlsx"], stdout=follower, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert result.returncode == 1
    assert result.stderr == b"Error: XLSX is not for a terminal: give -o FILE, or pipe it\n"
