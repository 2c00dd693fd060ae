"""Reading XLSX workbooks: cells as the text a spreadsheet shows, rows by their sheet number."""

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH

from crmtui.tabular.errors import TableError
from crmtui.tabular.reading import open_table
from crmtui.tabular.workbook import cell_text


def _save(tmp_path: Path, rows: list[list[object]], name: str = "in.xlsx") -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "客户"
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _read(path: Path, **options: str) -> None:
    with open_table(path, **options) as table:
        list(table.rows)


def test_cells_read_as_the_text_a_spreadsheet_shows(tmp_path: Path) -> None:
    path = _save(
        tmp_path,
        [
            ["客户名称", "电话", "签约日期", "拜访时间", "金额", "重点客户", "备注"],
            [
                "王小明",
                13812345678.0,  # a phone typed as a number, stored as a float
                dt.datetime(2024, 3, 5),
                dt.datetime(2024, 3, 5, 14, 30),
                0.1 + 0.2,
                True,
                None,
            ],
            [
                "李四",
                13900000000,
                dt.date(2024, 1, 2),
                dt.datetime(2024, 1, 2, 9, 5, 7),
                12.5,
                False,
            ],
        ],
    )

    with open_table(path) as table:
        rows = [row.cells for row in table.rows]

    assert table.format == "xlsx"
    assert table.sheet == "客户"
    assert rows == [
        ("王小明", "13812345678", "2024-03-05", "2024-03-05 14:30", "0.3", "TRUE", ""),
        ("李四", "13900000000", "2024-01-02", "2024-01-02 09:05:07", "12.5", "FALSE", ""),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (45356.0, "45356"),
        (-3.0, "-3"),
        (1e20, "100000000000000000000"),
        (1234.5678, "1234.5678"),
        (dt.time(9, 15), "09:15"),
        (dt.timedelta(hours=26), "1 day, 2:00:00"),
        (7, "7"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_the_header_is_the_first_row_with_text_and_rows_keep_their_sheet_numbers(
    tmp_path: Path,
) -> None:
    path = _save(
        tmp_path,
        [
            [],
            [None, None],
            ["name", "phone", None, None],
            ["Ann", 1],
            [],
            [None, None, None],
            ["Bob", 2],
        ],
    )

    with open_table(path) as table:
        rows = [(row.line, row.cells) for row in table.rows]

    assert table.header_line == 3
    assert table.header == ("name", "phone")
    assert rows == [(4, ("Ann", "1")), (7, ("Bob", "2"))]


def test_short_rows_are_padded_and_cells_past_the_header_kept(tmp_path: Path) -> None:
    """A spreadsheet row has no length: a short one is padded. A value beyond the header's
    last column stays, so the mapping reports it instead of losing it."""
    path = _save(tmp_path, [["name", "phone", "city"], ["Ann"], ["Bob", 2, "Rome", None, "stray"]])

    with open_table(path) as table:
        rows = [row.cells for row in table.rows]

    assert rows == [("Ann", "", ""), ("Bob", "2", "Rome", "", "stray")]


def test_a_formula_cell_neutralized_by_our_export_is_restored(tmp_path: Path) -> None:
    path = _save(tmp_path, [["name", "phone"], ['\'=HYPERLINK("http://x")', "'+8613800000000"]])

    with open_table(path) as table:
        row = next(table.rows)

    assert row.cells == ('=HYPERLINK("http://x")', "+8613800000000")
    assert row.original == ('\'=HYPERLINK("http://x")', "'+8613800000000")


def test_a_named_sheet_is_read_and_a_missing_one_named(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["first"])
    book.active.append(["x"])
    other = book.create_sheet("往来记录")
    other.append(["日期", "内容"])
    other.append([dt.datetime(2024, 3, 5), "拜访"])
    path = tmp_path / "book.xlsx"
    book.save(path)

    with open_table(path, sheet="往来记录") as table:
        assert table.header == ("日期", "内容")
        assert [row.cells for row in table.rows] == [("2024-03-05", "拜访")]
    with pytest.raises(TableError, match="no sheet 'Nope'; its sheets are: Sheet, 往来记录"):
        _read(path, sheet="Nope")


@pytest.mark.parametrize(("calendar", "epoch"), [(None, WINDOWS_EPOCH), (CALENDAR_MAC_1904, None)])
def test_the_workbooks_date_epoch_is_given_for_excel_date_numbers(
    tmp_path: Path, calendar: dt.datetime | None, epoch: dt.datetime | None
) -> None:
    book = Workbook()
    if calendar is not None:
        book.epoch = calendar
    book.active.append(["date"])
    book.active.append([45356])
    path = tmp_path / "dates.xlsx"
    book.save(path)

    with open_table(path) as table:
        assert next(table.rows).cells == ("45356",)  # a plain number; the mapping knows dates

    assert table.excel_epoch == (epoch or CALENDAR_MAC_1904)


def test_an_empty_sheet_and_a_header_only_sheet_are_reported(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="the file is empty"):
        _read(_save(tmp_path, []))
    with pytest.raises(TableError, match="header but no rows"):
        _read(_save(tmp_path, [["name"], [None]], "header.xlsx"))


def test_a_workbook_from_a_pipe_is_read(tmp_path: Path) -> None:
    data = _save(tmp_path, [["name"], ["Ann"]]).read_bytes()

    class Pipe(io.RawIOBase):
        """A stream that cannot seek, like standard input from a pipe."""

        def __init__(self) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with open_table(io.BufferedReader(Pipe()), file_format="xlsx") as table:  # type: ignore[arg-type]
        assert [row.cells for row in table.rows] == [("Ann",)]


def test_a_file_that_is_no_workbook_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("name\nAnn\n")

    with pytest.raises(TableError, match="not a readable XLSX workbook"):
        _read(path)


def _with_sheet_xml(path: Path, old: bytes, new: bytes) -> Path:
    """The workbook with `old` replaced by `new` in its sheet's XML, as another program (or a
    spreadsheet, storing a formula's value) would have written it."""
    copy = path.with_name("edited.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert old in data
                data = data.replace(old, new)
            target.writestr(item, data)
    return copy


def test_a_formula_never_computed_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    """openpyxl (a program, not a spreadsheet) writes a formula with no value: data_only reading
    would give an empty cell, and an import would lose it without a word."""
    path = _save(tmp_path, [["客户名称", "备注"], ["王小明", "=1+1"], ["李娜", "ok"]])

    with pytest.raises(TableError, match="cell B2 holds a formula whose value was never computed"):
        _read(path)

    # Saved by a spreadsheet, the value is stored with it, and that is what is read.
    computed = _with_sheet_xml(path, b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
    with open_table(computed) as table:
        assert [row.cells for row in table.rows] == [("王小明", "2"), ("李娜", "ok")]
    # A text result may be empty, as Excel stores "" (t="str").
    empty = _with_sheet_xml(path, b'<c r="B2"><f>1+1</f><v />', b'<c r="B2" t="str"><f>""</f><v/>')
    with open_table(empty) as table:
        assert [row.cells for row in table.rows] == [("王小明", ""), ("李娜", "ok")]
