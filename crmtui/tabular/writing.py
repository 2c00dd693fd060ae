"""Writing tables and records to files: CSV, XLSX and JSON, a row at a time.

Each writer takes a binary stream and writes rows as they come, so a file of any length takes
the memory of one row (XLSX: openpyxl's write-only mode, which streams each worksheet to a
temporary file and zips it at the end). Rows hold text, whole numbers and exact decimals;
records are JSON objects whose dates, times and decimals are written as `crmtui … --json`
writes them.

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula. CSV text cells are neutralized (`cells.neutralize`); XLSX text cells are written as
text, which no spreadsheet evaluates; numbers are neither, since a number holds no formula.
JSON is read by programs, not spreadsheets, and is written as it is.
"""

import contextlib
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from crmtui.tabular.cells import FORMULA_STARTS, neutralize

Cell = str | int | Decimal

FORMATS = ("csv", "xlsx", "json")
# The first characters of the cells `neutralize` changes: checked first, as a set, since a call
# per cell costs a third of the time of writing a CSV row.
_RISKY_FIRST = frozenset(start[0] for start in (*FORMULA_STARTS, "'"))
# A worksheet's rows, the header's included; longer tables go on to further worksheets.
XLSX_MAX_ROWS = 1_048_576
_SHEET_TITLE_LENGTH = 31
# Characters an XLSX file cannot hold (XML 1.0 forbids them; openpyxl refuses them): left out.
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Text openpyxl would store as a formula (`=…`) or an error value (`#N/A`) unless told it is text.
_XLSX_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})


@contextlib.contextmanager
def _text(stream: IO[bytes], encoding: str) -> Iterator[io.TextIOWrapper]:
    """`stream` as text, handed back unclosed (a wrapper closes its stream when it goes)."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield text
        text.flush()
    finally:
        text.detach()


def write_csv(
    stream: IO[bytes],
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    excel: bool = False,
) -> int:
    """Write a header and rows as UTF-8 CSV; return the number of rows.

    Lines end in CRLF, as RFC 4180 and Excel have them. Not LF: Python's writer quotes a cell
    for the characters of its line end only, so with LF a carriage return inside a cell would go
    out unquoted and end the record there for any reader. `excel` adds a byte-order mark, as
    Excel's own "CSV UTF-8" has: without it Excel reads the file in the system's code page (GBK
    on a Chinese Windows) and garbles Chinese text.
    """
    count = 0
    with _text(stream, "utf-8-sig" if excel else "utf-8") as text:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [neutralize(c) if c.__class__ is str and c[:1] in _RISKY_FIRST else c for c in row]
            )
            count += 1
    return count


def _sheet_title(title: str, number: int) -> str:
    """The title of the table's `number`th worksheet: `customers`, `customers (2)`, …"""
    suffix = "" if number == 1 else f" ({number})"
    return title[: _SHEET_TITLE_LENGTH - len(suffix)] + suffix


def write_xlsx(
    stream: IO[bytes], title: str, columns: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> int:
    """Write a header and rows as an XLSX workbook; return the number of rows.

    Text is written as text cells (`=1+1` stays those three characters), numbers as numbers.
    Beyond a worksheet's 1,048,576 rows the table goes on in `title (2)`, with the header again.
    Characters XLSX cannot hold (control characters but tab and line breaks) are left out.
    """
    from openpyxl import Workbook  # here, not at the top: it takes ~100 ms to import
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)

    def new_sheet() -> Any:
        sheet = workbook.create_sheet(_sheet_title(title, len(workbook.worksheets) + 1))
        sheet.append(list(columns))
        return sheet

    def cell(value: Cell) -> object:
        if value.__class__ is not str:
            return value
        text = _NOT_IN_XLSX.sub("", value)  # type: ignore[arg-type]
        if text.startswith("=") or text in _XLSX_ERRORS:
            forced = WriteOnlyCell(sheet, text)
            forced.data_type = "s"
            return forced
        return text

    sheet = new_sheet()
    filled = count = 0
    for row in rows:
        if filled == XLSX_MAX_ROWS - 1:
            sheet, filled = new_sheet(), 0
        sheet.append([cell(value) for value in row])
        filled += 1
        count += 1
    workbook.save(stream)
    return count


def _json_value(value: object) -> str:
    """Dates, times and decimals as `crmtui … --json` writes them."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(stream: IO[bytes], records: Iterable[Mapping[str, Any]]) -> int:
    """Write records as one JSON array, an object per line; return the number of records."""
    count = 0
    with _text(stream, "utf-8") as text:
        text.write("[")
        for record in records:
            text.write(",\n" if count else "\n")
            text.write(json.dumps(record, ensure_ascii=False, default=_json_value))
            count += 1
        text.write("\n]\n" if count else "]\n")
    return count
