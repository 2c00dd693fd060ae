"""XLSX sheets as numbered rows of text, streamed by openpyxl's read-only mode.

Cells come out as the text a person sees in Excel: dates as ISO (`2024-03-05`,
`2024-03-05 14:30`), whole numbers without `.0` (a phone typed as a number stays
`13812345678`), other numbers to Excel's 15 significant digits, formulas as their last
computed value (openpyxl's `data_only`; a workbook never opened in a spreadsheet program has
none, and those cells read as empty).
"""

import datetime as dt
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
    return worksheet.title, book.epoch, _rows(worksheet)


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
