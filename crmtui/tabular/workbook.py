"""XLSX sheets as numbered rows of text, streamed by openpyxl's read-only mode.

Cells come out as the text a person sees in Excel: dates as ISO (`2024-03-05`,
`2024-03-05 14:30`), whole numbers without `.0` (a phone typed as a number stays
`13812345678`), other numbers to Excel's 15 significant digits, formulas as their last
computed value (openpyxl's `data_only`). A spreadsheet program stores that value with each
formula; a workbook another program wrote may have none, and openpyxl would read those cells
as empty: such a sheet is refused, naming a cell, rather than imported with the values lost.
"""

import datetime as dt
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from crmtui.i18n import _
from crmtui.tabular.dates import moment_text, time_text
from crmtui.tabular.errors import TableError

_SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a piped workbook larger than this waits on disk
# A cell of the sheet's XML holding a formula and no value: <c r="B2"><f>A2*2</f></c>, a
# shared formula's <f t="shared" si="0"/>, or an empty value (<v/>, as openpyxl writes one),
# which only a text result (t="str") may have (formula text has its "<" escaped).
_UNCOMPUTED = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_TEXT_RESULT = re.compile(rb'\bt="str"')
_CELL_REFERENCE = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_XML_CHUNK = 1 << 20
_XML_OVERLAP = 1 << 15  # kept from one chunk for the next: a cell cut in two is still found


def open_sheet(
    stream: BinaryIO, sheet: str | None, stack: ExitStack
) -> tuple[str, dt.datetime, Iterator[tuple[int, list[str]]]]:
    """The sheet's title, the workbook's date epoch, and its rows as (row number, cells).

    The first sheet unless `sheet` names one. Trailing empty cells are left off each row.
    The workbook is closed when `stack` closes.
    """
    if not stream.seekable():  # a zip file is read from its end: a pipe is copied first
        spool = stack.enter_context(tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY))  # noqa: SIM115
        shutil.copyfileobj(stream, spool)
        spool.seek(0)
        stream = spool  # type: ignore[assignment]
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        raise TableError(
            _("not a readable XLSX workbook ({reason})").format(reason=reason)
        ) from None
    stack.callback(book.close)
    if sheet is None:
        if not book.worksheets:
            raise TableError(_("the workbook has no worksheet"))
        worksheet = book.worksheets[0]
    elif sheet in book.sheetnames and isinstance(book[sheet], ReadOnlyWorksheet):
        worksheet = book[sheet]
    else:
        raise TableError(
            _("the workbook has no sheet {sheet!r}; its sheets are: {sheets}").format(
                sheet=sheet, sheets=", ".join(book.sheetnames)
            )
        )
    _refuse_uncomputed_formulas(worksheet)
    return worksheet.title, book.epoch, _rows(worksheet)


def _refuse_uncomputed_formulas(worksheet: ReadOnlyWorksheet) -> None:
    """Refuse a sheet with a formula whose value was never computed (see the module's
    docstring). The sheet's XML is searched as it is, a chunk at a time: openpyxl's
    `data_only` reading cannot tell such a cell from an empty one."""
    with worksheet._get_source() as source:  # the sheet's XML in the zip file
        kept = b""
        while chunk := source.read(_XML_CHUNK):
            data = kept + chunk
            found = next(_uncomputed(data), None)  # 1% of reading a sheet of 50,000 rows
            if found is not None:
                reference = _CELL_REFERENCE.search(found)
                raise TableError(
                    _(
                        "cell {cell} holds a formula whose value was never computed (a program "
                        "wrote the workbook, not a spreadsheet): open it in Excel or WPS and "
                        "save it, so the values are stored, then import it"
                    ).format(cell=reference[1].decode() if reference else "?")
                )
            kept = data[-_XML_OVERLAP:]


def _uncomputed(xml: bytes) -> Iterator[bytes]:
    """The attributes of each cell in `xml` whose formula has no value."""
    for cell in _UNCOMPUTED.finditer(xml):
        if cell[2] is None or not _TEXT_RESULT.search(cell[1]):
            yield cell[1]


def _rows(worksheet: ReadOnlyWorksheet) -> Iterator[tuple[int, list[str]]]:
    # The size written in the file is wrong in some generators' output and would cut rows
    # off; without it openpyxl reads every row there is.
    worksheet.reset_dimensions()
    rows = worksheet.iter_rows(min_row=1, min_col=1, values_only=True)
    for number, values in enumerate(rows, start=1):
        cells = [cell_text(value) for value in values]
        while cells and not cells[-1]:
            cells.pop()
        yield number, cells


def cell_text(value: object) -> str:
    """A cell's value as text, the way a spreadsheet shows it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")  # 0.1 + 0.2 shows as 0.3, as in Excel
    if isinstance(value, dt.datetime):
        return moment_text(value)
    if isinstance(value, dt.time):
        return time_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)  # int, or a duration (timedelta)
