"""`crmtui import customers` on the files people really bring, written here byte by byte:
each one either imports exactly the values it holds, or fails with one clear line, exit status
1, and a database left as it was."""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Run

Snapshot = Callable[[], dict[str, list[tuple]]]

ROWS = (
    "客户名称,公司名称,联系电话,邮箱,城市,备注\n"
    "张伟,上海华信科技,138 1234 5678,ZW@Example.com,上海,老客户\n"
)
EXPECTED = {
    "name": "张伟",
    "company": "上海华信科技",
    "phone": "+8613812345678",
    "phone_raw": "138 1234 5678",
    "email": "zw@example.com",
    "email_raw": "ZW@Example.com",
    "city": "上海",
    "notes": "老客户",
}


def customers(crm: Run) -> list[dict]:
    result = crm("export", "customers", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def imported(crm: Run, path: Path, *args: str) -> dict:
    """The JSON summary of an import that succeeded."""
    result = crm("import", "customers", str(path), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def settled(crm: Run, snapshot: Snapshot) -> dict[str, list[tuple]]:
    """The database before a command, once made and given its first user by any command."""
    crm("customer", "list")
    return snapshot()


def refused(crm: Run, snapshot: Snapshot, path: Path, *args: str) -> str:
    """The one line an import that fails writes on stderr, having changed nothing."""
    before = settled(crm, snapshot)
    result = crm("import", "customers", str(path), *args)
    assert result.exit_code == 1, result.output
    assert snapshot() == before
    assert "Traceback" not in result.output
    return result.stderr.strip()


def picked(record: dict, keys: object = EXPECTED) -> dict:
    return {key: record[key] for key in keys}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le-bom", "utf-16-be"]
)
def test_each_encoding_imports_the_same_values(crm: Run, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "sheet.csv"
    if encoding == "utf-16-le-bom":
        path.write_bytes(b"\xff\xfe" + ROWS.encode("utf-16-le"))
    elif encoding == "utf-16-be":
        path.write_bytes(b"\xfe\xff" + ROWS.encode("utf-16-be"))
    else:
        path.write_bytes(ROWS.encode(encoding))
    assert imported(crm, path)["created"] == 1
    assert [picked(c) for c in customers(crm)] == [EXPECTED]


def test_a_name_only_gb18030_can_write_is_not_mistaken_for_anything_else(
    crm: Run, tmp_path: Path
) -> None:
    path = tmp_path / "rare.csv"
    path.write_bytes("客户名称,城市\n王䶮,杭州\n".encode("gb18030"))  # 䶮 is not in GBK
    imported(crm, path)
    assert [picked(c, ["name", "city"]) for c in customers(crm)] == [
        {"name": "王䶮", "city": "杭州"}
    ]


def test_an_undecodable_byte_is_named_by_its_line(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"name,city\nAnn,Oslo\nRen\xe9,Paris\n")
    message = refused(crm, snapshot, path)
    assert message.startswith("Error: line 3:") and "encoding" in message
    # Told the encoding, the same file is read that way.
    imported(crm, path, "--encoding", "latin-1")
    assert [c["name"] for c in customers(crm)] == ["Ann", "René"]


def test_a_western_file_that_gb18030_would_garble_is_refused(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    """Windows-1252 "Müller" decodes as GB18030 too ("M黮ler"): refused, not imported so."""
    path = tmp_path / "western.csv"
    path.write_bytes("name,city\nAnn,Oslo\nMüller,Zürich\nJosée,São Paulo\n".encode("cp1252"))
    message = refused(crm, snapshot, path)
    assert message.startswith("Error: line 3:") and "M黮ler" in message and "cp1252" in message
    imported(crm, path, "--encoding", "cp1252")
    assert [c["name"] for c in customers(crm)] == ["Ann", "Müller", "Josée"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_is_detected(crm: Run, tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(ROWS.replace(",", delimiter), encoding="utf-8")
    imported(crm, path)
    assert [picked(c) for c in customers(crm)] == [EXPECTED]


def test_first_and_last_names_are_joined_and_english_headers_map(crm: Run, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "First Name,Last Name,Company,Phone 1,Phone 2,E-mail,Country,Shoe size\n"
        "Ada,Lovelace,Analytical Engines,+44 20 7946 0958,138 0013 8000,ada@example.com,UK,38\n",
        encoding="utf-8",
    )
    imported(crm, path)
    [ada] = customers(crm)
    assert picked(ada, ["name", "company", "phone", "alt_phone", "email", "country"]) == {
        "name": "Ada Lovelace",
        "company": "Analytical Engines",
        "phone": "+442079460958",
        "alt_phone": "+8613800138000",
        "email": "ada@example.com",
        "country": "UK",
    }
    assert ada["notes"] == "Shoe size: 38"  # a column that maps to nothing is kept, and named


def test_quoted_cells_keep_their_newlines_commas_and_quotes(crm: Run, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text(
        'name,notes\r\nAnn,"first line\nsecond, with a comma\nand ""quotes"""\r\nBob,x\r\n',
        encoding="utf-8",
    )
    imported(crm, path)
    assert [picked(c, ["name", "notes"]) for c in customers(crm)] == [
        {"name": "Ann", "notes": 'first line\nsecond, with a comma\nand "quotes"'},
        {"name": "Bob", "notes": "x"},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'name,notes\nAnn,ok\nBob,"never closed\nCy,x\n', "Error: line 3: a quote opened here"),
        (b"name,notes\nAnn,a\x00b\n", "Error: line 2: the file contains a NUL byte"),
        (b"", "Error: the file is empty"),
        (b"name,phone\r\n", "Error: the file has a header but no rows"),
    ],
    ids=["unclosed quote", "NUL byte", "empty file", "header only"],
)
def test_a_broken_file_is_refused_whole(
    crm: Run, snapshot: Snapshot, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    assert refused(crm, snapshot, path).startswith(message)


def test_a_megabyte_field_is_read_and_refused_by_its_line_and_column(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "long.csv"
    path.write_text(f'name,notes\nAnn,"{"备注" * (512 * 1024)}"\n', encoding="utf-8")
    assert refused(crm, snapshot, path).startswith("Nothing imported. 1 row rejected")
    rejects = (tmp_path / "long.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[1].startswith("2,notes,is longer than 32767 characters,Ann,")
    # As long as a spreadsheet's cell can be, it is imported whole.
    notes = "备注" * (32_767 // 2)
    path.write_text(f'name,notes\nAnn,"{notes}"\n', encoding="utf-8")
    imported(crm, path)
    assert customers(crm)[0]["notes"] == notes


def test_one_invalid_row_rejects_the_file_and_writes_the_reject_file(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "客户名称,手机,邮箱\n张伟,138 1234 5678,zw@example.com\n李娜,12,bad@\n,139 0000 1111,\n",
        encoding="utf-8",
    )
    assert refused(crm, snapshot, path) == (
        "Nothing imported. 2 rows rejected, see " + str(tmp_path / "people.rejects.csv") + "."
    )
    with (tmp_path / "people.rejects.csv").open(encoding="utf-8-sig", newline="") as rejects:
        lines = list(csv.reader(rejects))
    assert lines[0] == ["line", "column", "reason", "客户名称", "手机", "邮箱"]
    assert [line[:2] for line in lines[1:]] == [["3", "手机"], ["3", "邮箱"], ["4", "客户名称"]]
    assert lines[1][3:] == ["李娜", "12", "bad@"]
    # A script reading --json is told nothing was written, and what would have been.
    refusal = crm("import", "customers", str(path), "--json")
    assert refusal.exit_code == 1
    assert json.loads(refusal.stdout) | {"rejects_file": None} == {
        "batch": None, "written": False, "created": 1, "updated": 0, "skipped": 0, "rejected": 2,
        "dry_run": False, "rejects_file": None,
    }  # fmt: skip

    summary = imported(crm, path, "--skip-invalid")
    assert (summary["created"], summary["rejected"]) == (1, 2)
    assert [c["name"] for c in customers(crm)] == ["张伟"]


def test_a_dry_run_says_what_would_happen_and_writes_nothing(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(ROWS, encoding="utf-8")
    before = settled(crm, snapshot)
    summary = imported(crm, path, "--dry-run")
    assert (summary["dry_run"], summary["created"], summary["batch"]) == (True, 1, None)
    assert summary["written"] is False
    assert snapshot() == before


def test_formula_payloads_are_kept_as_text_and_survive_export_then_import(
    crm: Run, tmp_path: Path
) -> None:
    payload = '=HYPERLINK("http://evil.example","click")'
    path = tmp_path / "evil.csv"
    quoted = payload.replace('"', '""')
    path.write_text(f'name,phone,notes\nMallory,+8613800000000,"{quoted}"\n', encoding="utf-8")
    imported(crm, path)
    exported = crm("export", "customers", "-o", str(tmp_path / "out.csv"))
    assert exported.exit_code == 0, exported.stderr
    written = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert "'+8613800000000" in written and "'=HYPERLINK" in written  # a spreadsheet runs none

    crm("customer", "delete", "1", "--yes")
    imported(crm, tmp_path / "out.csv")
    [again] = customers(crm)
    assert (again["phone"], again["phone_raw"], again["notes"]) == (
        "+8613800000000",
        "+8613800000000",
        payload,
    )


def test_xlsx_dates_written_as_serial_numbers_become_dates(crm: Run, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户名称", "手机", "同意营销", "同意日期"])
    sheet.append(["张伟", 13812345678, "是", 45721])  # a number as Excel stores 2025-03-05
    sheet.append(["李娜", "139 0000 1111", "否", dt.date(2024, 2, 29)])  # a date cell
    book.save(tmp_path / "sheet.xlsx")
    imported(crm, tmp_path / "sheet.xlsx")
    assert [
        picked(c, ["name", "phone", "marketing_consent", "consent_date"]) for c in customers(crm)
    ] == [
        {
            "name": "张伟",
            "phone": "+8613812345678",
            "marketing_consent": True,
            "consent_date": "2025-03-05",
        },
        {
            "name": "李娜",
            "phone": "+8613900001111",
            "marketing_consent": False,
            "consent_date": "2024-02-29",
        },
    ]


def test_duplicates_by_key_are_skipped_updated_or_refused(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("name,email,city\nAnn,ann@example.com,Oslo\n", encoding="utf-8")
    imported(crm, first)
    again = tmp_path / "again.csv"
    again.write_text(
        "name,email,city\nAnn B.,ANN@example.com,Rome\nCy,cy@example.com,\n", encoding="utf-8"
    )

    message = refused(crm, snapshot, again, "--key", "email")
    assert message.startswith("Nothing imported. 1 row rejected")
    assert imported(crm, again, "--key", "email", "--on-duplicate", "skip")["skipped"] == 1
    summary = imported(crm, again, "--key", "email", "--on-duplicate", "update")
    assert (summary["created"], summary["updated"]) == (0, 2)  # Cy came in with the skip
    names = {c["email"]: (c["name"], c["city"]) for c in customers(crm)}
    assert names == {"ann@example.com": ("Ann B.", "Rome"), "cy@example.com": ("Cy", "")}
    history = crm("customer", "history", "1", "--json")
    changed = {row["field"] for row in json.loads(history.stdout) if row["action"] == "update"}
    assert changed == {"name", "city"}


def test_undo_takes_a_batch_back(crm: Run, snapshot: Snapshot, tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(ROWS, encoding="utf-8")
    before = [picked(c, ["id", "name"]) for c in customers(crm)]
    batch = imported(crm, path)["batch"]
    result = crm("import", "undo", str(batch))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Undid batch {batch}: removed 1 customer,")
    assert [picked(c, ["id", "name"]) for c in customers(crm)] == before
    again = crm("import", "undo", str(batch))
    assert (again.exit_code, again.stderr.strip()) == (
        1,
        f"Error: import batch {batch} was already undone",
    )


def test_standard_input_is_read_as_csv(crm: Run) -> None:
    result = crm("import", "customers", "-", "--json", input=ROWS)
    assert result.exit_code == 0, result.output
    assert [picked(c) for c in customers(crm)] == [EXPECTED]


# --- Export, then import into an empty database: the same customers -------------------------

_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"), max_size=12
)
# Notes may run over lines, as a spreadsheet cell's text does (the form keeps "\n").
_lines = st.lists(_text.map(str.strip), max_size=3).map("\n".join).map(str.strip)
_people = st.lists(
    st.fixed_dictionaries(
        {
            "name": _text.filter(lambda s: s.strip() == s and s != ""),
            "company": _text.map(str.strip),
            "notes": _lines,
            "city": st.sampled_from(["", "上海", "=1+1", "-3", "@x", "'quoted"]),
            "phone": st.sampled_from(
                ["", "138 1234 5678", "+86 139-0000-1111", "+1 202 555 0143", "010-6552 9988 转 8"]
            ),
            "email": st.sampled_from(["", "ann@example.com", "Wei.Zhang@Example.CN", "+x@y.cn"]),
            "stage": st.sampled_from(["new", "prospect", "active", "dormant", "churned"]),
            "key-account": st.booleans(),
            "tier": st.sampled_from(["", "gold", "=SUM(A1)", "金牌"]),
            "tags": st.lists(st.sampled_from(["vip", "重点", "+x", "=y"]), unique=True),
        }
    ),
    min_size=1,
    max_size=5,
)
COMPARED = (
    "name", "company", "notes", "city", "phone", "phone_raw", "email", "email_raw", "tags",
    "stage", "key_account", "custom",
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=_people, fmt=st.sampled_from(["csv", "xlsx"]))
def test_export_then_import_into_an_empty_database_gives_the_same_customers(
    tmp_path_factory: pytest.TempPathFactory, people: list[dict], fmt: str
) -> None:
    from click.testing import CliRunner

    from crmtui.cli import main

    folder = tmp_path_factory.mktemp("roundtrip")
    runner = CliRunner()

    def crm(db: str, *args: str) -> dict | list:
        result = runner.invoke(main, ["--db", str(folder / db), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout) if "--json" in args or "json" in args else {}

    for db in ("one.db", "two.db"):  # two.db holds no customer: only the field's definition
        crm(db, "field", "add", "tier", "--label", "等级")
    for person in people:
        tags = [arg for tag in person["tags"] for arg in ("--tag", tag)]
        flag = "--key-account" if person["key-account"] else "--no-key-account"
        plain = {k: v for k, v in person.items() if k not in ("tags", "key-account", "tier")}
        values = [f"--{k}={v}" for k, v in plain.items()]
        tier = ["--set", f"tier={person['tier']}"] if person["tier"] else []
        crm("one.db", "customer", "add", *values, *tags, flag, *tier, "--json")
    out = folder / f"out.{fmt}"
    crm("one.db", "export", "customers", "-o", str(out))
    crm("two.db", "import", "customers", str(out), "--json")
    before = crm("one.db", "export", "customers", "--format", "json")
    after = crm("two.db", "export", "customers", "--format", "json")
    assert [picked(c, COMPARED) for c in after] == [picked(c, COMPARED) for c in before]


def test_a_reject_file_opens_in_excel_and_fixed_imports_again(crm: Run, tmp_path: Path) -> None:
    """A reject file holds the rows as they were, in UTF-8 with a BOM for Excel."""
    path = tmp_path / "people.csv"
    path.write_bytes("客户名称,手机\n李娜,12\n".encode("gb18030"))
    crm("import", "customers", str(path))
    rejects = (tmp_path / "people.rejects.csv").read_bytes()
    assert rejects.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    fixed = io.StringIO(rejects.decode("utf-8-sig"), newline="")
    rows = list(csv.reader(fixed))
    (tmp_path / "fixed.csv").write_text(
        "客户名称,手机\n" + ",".join([rows[1][3], "139 0000 1111"]) + "\n", encoding="utf-8"
    )
    imported(crm, tmp_path / "fixed.csv")
    assert [c["name"] for c in customers(crm)] == ["李娜"]


def test_a_contact_column_becomes_the_customers_contact_person(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "客户名称,联系人,联系人电话\n上海华信科技,王经理,139 0000 2222\n北方重工,,\n",
        encoding="utf-8",
    )
    imported(crm, path)
    [contact] = snapshot()["contact"]  # the second customer names none
    assert {"王经理", "+8613900002222", "139 0000 2222"} <= set(contact)
    found = crm("customer", "list", "--search", "王经理", "--json")
    assert [c["name"] for c in json.loads(found.stdout)] == ["上海华信科技"]


def test_a_bad_contact_phone_rejects_the_row_naming_its_column(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("客户名称,联系人,联系人电话\n上海华信科技,王经理,12\n", encoding="utf-8")
    refused(crm, snapshot, path)
    rejects = (tmp_path / "accounts.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[1].startswith("2,联系人电话,'12' is not a valid phone number")


def test_a_contact_given_to_an_updated_customer_goes_with_an_undo(
    crm: Run, snapshot: Snapshot, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("客户名称,邮箱\n上海华信科技,hx@example.com\n", encoding="utf-8")
    imported(crm, first)
    again = tmp_path / "again.csv"
    again.write_text("客户名称,邮箱,联系人\n上海华信科技,hx@example.com,王经理\n", encoding="utf-8")
    batch = imported(crm, again, "--key", "email", "--on-duplicate", "update")["batch"]
    assert imported(crm, again, "--key", "email", "--on-duplicate", "update")["updated"] == 1
    [contact] = snapshot()["contact"]  # the second import found it there already
    assert "王经理" in contact
    found = crm("customer", "list", "--search", "王经理", "--json")
    assert [c["name"] for c in json.loads(found.stdout)] == ["上海华信科技"]

    assert crm("import", "undo", str(batch)).exit_code == 0
    assert snapshot()["contact"] == []
    found = crm("customer", "list", "--search", "王经理", "--json")
    assert json.loads(found.stdout) == []


def test_a_mapping_file_and_a_region_as_the_command_line_takes_them(
    crm: Run, tmp_path: Path
) -> None:
    """--map fixes headers nothing recognizes, --show-mapping prints what each column became
    (on stderr: stdout stays the summary), and --region reads phones of that region."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Kunde" = "name"\n"Intern" = ""\n', encoding="utf-8")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Kunde,Intern,Phone,微信\nAcme,x1,(650) 253-0000,acme_wx\n", encoding="utf-8")

    result = crm(
        "import", "customers", str(sheet), "--map", str(mapping), "--show-mapping",
        "--region", "US", "--json",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[:4] == [
        "Kunde → name",
        "Intern → (skipped)",
        "Phone → phone",
        '微信 → notes ("微信: …")',
    ]
    assert json.loads(result.stdout)["created"] == 1
    [acme] = customers(crm)
    assert (acme["name"], acme["phone"], acme["phone_raw"]) == (
        "Acme",
        "+16502530000",
        "(650) 253-0000",
    )
    assert "微信: acme_wx" in acme["notes"]
