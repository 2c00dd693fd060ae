"""Reading CSV files: delimiters, quoting, line numbers, limits, and every bad shape reported."""

import csv
import io
import os
import re
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmtui.tabular import decoding
from crmtui.tabular.cells import neutralize, restore
from crmtui.tabular.errors import TableError
from crmtui.tabular.reading import FIELD_SIZE_LIMIT, Row, open_table


def _write(tmp_path: Path, data: bytes | str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _rows(path: Path | str | io.BytesIO, **options: str | None) -> list[Row]:
    with open_table(path, **options) as table:
        return list(table.rows)


@pytest.mark.parametrize(
    ("delimiter", "text"),
    [
        (",", 'name,city,notes\nAnn,Paris,"a; b\tc"\n'),
        (";", "name;city;notes\nAnn;Paris;a, b\tc\n"),
        ("\t", "name\tcity\tnotes\nAnn\tParis\ta, b; c\n"),
    ],
)
def test_each_delimiter_is_detected_from_the_header(
    tmp_path: Path, delimiter: str, text: str
) -> None:
    with open_table(_write(tmp_path, text)) as table:
        rows = list(table.rows)

    assert table.delimiter == delimiter
    assert table.header == ("name", "city", "notes")
    assert rows[0].cells[:2] == ("Ann", "Paris")
    assert len(rows[0].cells) == 3


def test_delimiters_inside_quoted_headers_do_not_count(tmp_path: Path) -> None:
    path = _write(tmp_path, '"a;b;c";"d,e";f\n1;2;3\n')

    with open_table(path) as table:
        assert table.delimiter == ";"
        assert table.header == ("a;b;c", "d,e", "f")


def test_a_one_column_file_is_read_as_comma_separated(tmp_path: Path) -> None:
    with open_table(_write(tmp_path, "name\nAnn\nBob\n")) as table:
        assert table.delimiter == ","
        assert [row.cells for row in table.rows] == [("Ann",), ("Bob",)]


@pytest.mark.parametrize("named", ["tab", "TAB", "\\t"])
def test_a_tab_delimiter_can_be_named(tmp_path: Path, named: str) -> None:
    path = _write(tmp_path, "name,notes\tcity\nAnn,a,b\tOslo\n")
    assert _rows(path, delimiter=named)[0].cells == ("Ann,a,b", "Oslo")
    with pytest.raises(TableError, match="the delimiter must be one character or tab, not 'ab'"):
        _rows(path, delimiter="ab")


def test_an_explicit_delimiter_overrides_detection(tmp_path: Path) -> None:
    path = _write(tmp_path, "name|notes\nAnn|a,b,c\n")

    assert _rows(path, delimiter="|")[0].cells == ("Ann", "a,b,c")
    with pytest.raises(TableError, match="one character"):
        _rows(path, delimiter="||")


def test_quoted_newlines_keep_the_line_numbers_of_later_rows_right(tmp_path: Path) -> None:
    text = (
        'name,notes\r\nAnn,"line one\r\nline two\r\nline three"\r\n'
        'Bob,x\r\n\r\nCy,"a\nb"\r\nDi,y\r\n'
    )

    rows = _rows(_write(tmp_path, text))

    assert [(row.line, row.cells[0]) for row in rows] == [
        (2, "Ann"),
        (5, "Bob"),
        (7, "Cy"),
        (9, "Di"),
    ]
    assert rows[0].cells[1] == "line one\r\nline two\r\nline three"


def test_blank_lines_before_the_header_are_skipped_and_counted(tmp_path: Path) -> None:
    with open_table(_write(tmp_path, "\n  \n\nname,phone\nAnn,1\n")) as table:
        rows = list(table.rows)

    assert table.header_line == 4
    assert rows[0].line == 5


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_every_line_ending_is_a_line(tmp_path: Path, newline: str) -> None:
    """Including a lone CR, as Excel for Mac's "CSV (Macintosh)" writes."""
    text = newline.join(["name,notes", "Ann,1", '"Bob",2', "Cy,3"]) + newline

    rows = _rows(_write(tmp_path, text))

    assert [(row.line, row.cells) for row in rows] == [
        (2, ("Ann", "1")),
        (3, ("Bob", "2")),
        (4, ("Cy", "3")),
    ]


def test_other_unicode_line_separators_stay_inside_their_cell(tmp_path: Path) -> None:
    """str.splitlines would break at these; a CSV line does not."""
    rows = _rows(_write(tmp_path, "name,notes\nAnn,a\u2028b\x0cc\nBob,d\n"))

    assert [(row.line, row.cells) for row in rows] == [
        (2, ("Ann", "a\u2028b\x0cc")),
        (3, ("Bob", "d")),
    ]


def test_an_unclosed_quote_is_an_error_at_its_line_not_a_swallowed_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name,notes\nAnn,1\nBob,"never closed\nCy,3\nDi,4\n')

    with pytest.raises(TableError) as caught:
        _rows(path)

    assert caught.value.line == 3
    assert "never closed" in caught.value.reason


def test_text_after_a_closing_quote_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name,notes\nAnn,1\n"Big" Company,2\n')

    with pytest.raises(TableError, match="double a quote") as caught:
        _rows(path)

    assert caught.value.line == 3


def test_a_one_megabyte_cell_is_read(tmp_path: Path) -> None:
    notes = "备注" * 500_000 + "\n" + "x" * 100_000
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["name", "notes"], ["Ann", notes], ["Bob", "short"]])

    rows = _rows(_write(tmp_path, buffer.getvalue()))

    assert rows[0].cells == ("Ann", notes)
    assert rows[1].line == 4


def test_a_cell_over_the_limit_is_refused_at_its_line(tmp_path: Path) -> None:
    text = "name,notes\nAnn,1\nBob," + "x" * (FIELD_SIZE_LIMIT + 1) + "\n"

    with pytest.raises(TableError, match="longer than 4,194,304 characters") as caught:
        _rows(_write(tmp_path, text))

    assert caught.value.line == 3


def test_an_unclosed_quote_in_a_large_file_stops_at_the_limit_not_the_end(tmp_path: Path) -> None:
    """The quote would swallow every row after it; the cell limit stops it (and its memory)."""
    rows = "".join(f"Customer {n},{n}\n" for n in range(300_000))
    text = 'name,phone\nAnn,1\nBob,"2\n' + rows

    with pytest.raises(TableError, match="is a quote opened here never closed") as caught:
        _rows(_write(tmp_path, text))

    assert caught.value.line == 3


def test_the_csv_modules_field_limit_is_put_back(tmp_path: Path) -> None:
    before = csv.field_size_limit()

    _rows(_write(tmp_path, "name\nAnn\n"))

    assert csv.field_size_limit() == before != FIELD_SIZE_LIMIT


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_an_empty_file_is_reported(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(TableError, match=r"^the file is empty$") as caught:
        _rows(_write(tmp_path, data))

    assert caught.value.line is None


@pytest.mark.parametrize("data", ["name,phone", "name,phone\n", "name,phone\n\n,\n"])
def test_a_header_without_rows_is_reported(tmp_path: Path, data: str) -> None:
    with pytest.raises(TableError, match=r"^the file has a header but no rows$"):
        _rows(_write(tmp_path, data))


def test_formula_cells_neutralized_by_our_export_are_restored(tmp_path: Path) -> None:
    payloads = ['=HYPERLINK("http://evil.example","click")', "+8613812345678", "-5", "@SUM(A1)"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "phone", "notes", "more"])
    writer.writerow([neutralize(text) for text in payloads])
    writer.writerow(["'Tis", "O'Brien", "'", "''=x"])

    rows = _rows(_write(tmp_path, buffer.getvalue()))

    assert rows[0].cells == tuple(payloads)
    assert rows[0].original == tuple(neutralize(text) for text in payloads)
    # A quote goes only before a formula character, after any other quotes: `''=x` is how
    # `'=x` was exported.
    assert rows[1].cells == ("'Tis", "O'Brien", "'", "'=x")


def test_ragged_rows_are_read_as_they_are(tmp_path: Path) -> None:
    """The mapping reports them, row by row; reading does not stop the file for one."""
    rows = _rows(_write(tmp_path, "name,phone,city\nAnn,1\nBob,2,Rome,extra\nCy,3,Oslo\n"))

    assert [row.cells for row in rows] == [
        ("Ann", "1"),
        ("Bob", "2", "Rome", "extra"),
        ("Cy", "3", "Oslo"),
    ]


def test_whitespace_around_headers_is_trimmed(tmp_path: Path) -> None:
    with open_table(_write(tmp_path, " name , phone ,,\nAnn,1,,\n")) as table:
        assert table.header == ("name", "phone")


def test_standard_input_is_read_as_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO("客户名称;电话\n王小明;138\n".encode("gbk")))
    monkeypatch.setattr(sys, "stdin", stdin)

    with open_table("-") as table:
        assert (table.encoding, table.delimiter) == ("gb18030", ";")
        assert [row.cells for row in table.rows] == [("王小明", "138")]


def test_a_binary_stream_is_csv_unless_told() -> None:
    with open_table(io.BytesIO(b"name\nAnn\n")) as table:
        assert table.format == "csv"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("old.xls", "old Excel .xls workbooks cannot be read"),
        ("data.dat", "cannot tell the format of data.dat"),
    ],
)
def test_a_format_that_cannot_be_read_is_named(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(TableError, match=message):
        _rows(_write(tmp_path, "name\nAnn\n", name))


def test_an_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    assert _rows(_write(tmp_path, "name\nAnn\n", "data.dat"), file_format="CSV")[0].cells == (
        "Ann",
    )
    with pytest.raises(TableError, match="unknown format 'ods'"):
        _rows(tmp_path / "data.dat", file_format="ods")


def test_options_of_the_other_format_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="sheet"):
        _rows(_write(tmp_path, "name\nAnn\n"), sheet="Sheet1")
    workbook = tmp_path / "in.xlsx"
    workbook.write_bytes(b"PK\x03\x04")
    with pytest.raises(TableError, match="encoding or delimiter"):
        _rows(workbook, encoding="gbk")


def test_a_missing_file_is_a_table_error(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"cannot open .*nothing\.csv: No such file"):
        _rows(tmp_path / "nothing.csv")


@pytest.mark.parametrize("name", ["客户表", "no-such-sheet"])
def test_a_folder_or_a_missing_file_is_said_to_be_that_whatever_its_name(
    tmp_path: Path, name: str
) -> None:
    """Not "cannot tell the format of 客户表 from its name", which sends one looking for the
    wrong fix."""
    (tmp_path / "客户表").mkdir()
    reason = "Is a directory" if name == "客户表" else "No such file"
    with pytest.raises(TableError, match=rf"cannot open .*{name}: {reason}"):
        _rows(tmp_path / name)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_the_file_is_closed_when_the_table_is(tmp_path: Path) -> None:
    path = _write(tmp_path, "name\nAnn\nBob\n")
    before = len(os.listdir("/proc/self/fd"))

    with open_table(path) as table:
        next(table.rows)  # rows left unread
        assert len(os.listdir("/proc/self/fd")) == before + 1

    assert len(os.listdir("/proc/self/fd")) == before


_CELL = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    chunk_size=st.sampled_from([4, 5, 64, decoding.CHUNK_SIZE]),
)
def test_any_text_written_by_a_csv_writer_reads_back_with_its_line_numbers(
    rows: list[list[str]], encoding: str, delimiter: str, chunk_size: int
) -> None:
    """Whatever the cells hold (quotes, delimiters, line breaks of every kind, formula-like
    text, any script), every non-empty row comes back, restored, at the line it starts on."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["a", "b", "c"])
    expected = []
    for cells in rows:
        line = len(re.findall(r"\r\n|\r|\n", buffer.getvalue())) + 1
        writer.writerow(cells)
        if any(cells):
            expected.append((line, tuple(restore(cell) for cell in cells), tuple(cells)))
    # A file with no row at all is another test's; GB18030 is given: detection cannot tell
    # short GB18030 text that happens to be valid UTF-8 (test_encodings).
    given_encoding = "gb18030" if encoding == "gb18030" else None
    data = io.BytesIO(buffer.getvalue().encode(encoding))
    with mock.patch.object(decoding, "CHUNK_SIZE", chunk_size):
        if not expected:
            with pytest.raises(TableError, match="header but no rows"):
                _rows(data, encoding=given_encoding)  # type: ignore[arg-type]
            return
        with open_table(data, encoding=given_encoding) as table:
            got = [(row.line, row.cells, row.original) for row in table.rows]

    assert table.delimiter == delimiter
    assert got == expected
