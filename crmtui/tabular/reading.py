"""Table files to numbered rows of text: CSV or XLSX in, a header and its rows out, streamed.

`open_table` reads the header (and peeks at the first row, so an empty or header-only file is
an error at once, before any work starts); the rows are read as the caller iterates them, so a
file of a million rows takes no more memory than one of ten.

Every problem of the file is a `TableError` naming its line: an undecodable byte, a NUL byte,
a quote never closed, a cell longer than `FIELD_SIZE_LIMIT`. A row whose number of cells
differs from the header's is not an error here: it is the mapping's per-row problem, so one
bad row is rejected, not the file.

Line numbers: for CSV, the physical line where a record starts (1-based; a quoted cell with
line breaks makes a record span lines, and the next record's number counts them all); for
XLSX, the sheet's row number. The header's line is usually 1; blank lines or rows before it
are skipped and still counted.
"""

import csv
import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import BinaryIO, NamedTuple

from crmtui.i18n import _
from crmtui.tabular.cells import restore
from crmtui.tabular.decoding import DecodedLines
from crmtui.tabular.errors import TableError

FORMATS = ("csv", "xlsx")
STDIN = "-"
DELIMITERS = ("\t", ";", ",")  # detected from the header line; a tie goes to the first
FIELD_SIZE_LIMIT = 4 * 1024 * 1024  # characters: notes of a megabyte pass, a runaway quote stops
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}

Source = str | os.PathLike[str] | BinaryIO
# A tab by name: a terminal's field moves on at the key, and a shell argument hides it.
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t"}


def delimiter_named(text: str) -> str:
    """The delimiter `text` names: one character, or `tab` (`\\t`); else a TableError."""
    delimiter = _DELIMITER_NAMES.get(text.lower(), text)
    if len(delimiter) != 1:
        raise TableError(_("the delimiter must be one character or tab, not {d!r}").format(d=text))
    return delimiter


class Row(NamedTuple):
    """One record: where it is in the file, its cells as text, and its cells as written.

    `cells` have crmtui's formula guard taken off (`cells.restore`); `original` is the row as
    the file has it, for a reject file. An XLSX row is padded with empty cells to the header's
    width; a CSV row has the cells the file gives it.
    """

    line: int
    cells: tuple[str, ...]
    original: tuple[str, ...]


@dataclass
class Table:
    """An open table file: what it is, its header, and its rows (an iterator, read once)."""

    format: str
    header: tuple[str, ...]
    header_line: int
    rows: Iterator[Row]
    delimiter: str | None = None  # CSV
    sheet: str | None = None  # XLSX: the sheet read
    excel_epoch: dt.datetime | None = None  # XLSX: day 0 of the workbook's date numbers
    lines: DecodedLines | None = field(default=None, repr=False)  # CSV

    @property
    def encoding(self) -> str | None:
        """A CSV file's encoding; while only ASCII has been read it is "utf-8"."""
        return self.lines.encoding if self.lines is not None else None


@contextmanager
def open_table(
    source: Source,
    *,
    file_format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> Iterator[Table]:
    """Open a CSV or XLSX file (a path, `-` for standard input, or a binary stream).

    The format comes from `file_format`, else from the file's extension; a stream or `-` is CSV
    unless told. `encoding` and `delimiter` (CSV) override detection; `sheet` (XLSX) names the
    sheet to read instead of the first. Raises TableError.
    """
    with ExitStack() as stack:
        # Opened first: a folder or a missing file is that, whatever its name says.
        stream = _open(source, stack)
        fmt = _format_of(source, file_format)
        if fmt == "csv" and sheet is not None:
            raise TableError(_("a sheet can only be chosen in an XLSX workbook"))
        if fmt == "xlsx" and (encoding is not None or delimiter is not None):
            raise TableError(_("an encoding or delimiter can only be given for CSV"))
        if fmt == "csv":
            yield _csv_table(stream, encoding, delimiter, stack)
        else:
            yield _xlsx_table(stream, sheet, stack)


def _format_of(source: Source, file_format: str | None) -> str:
    if file_format is not None:
        if file_format.lower() not in FORMATS:
            raise TableError(
                _("unknown format {format!r}: use csv or xlsx").format(format=file_format)
            )
        return file_format.lower()
    if source == STDIN or not isinstance(source, str | os.PathLike):
        return "csv"
    suffix = Path(source).suffix.lower()
    if suffix == ".xls":
        raise TableError(_("old Excel .xls workbooks cannot be read; save it as .xlsx or CSV"))
    if suffix not in _EXTENSIONS:
        raise TableError(
            _("cannot tell the format of {name} from its name; give it (csv or xlsx)").format(
                name=Path(source).name
            )
        )
    return _EXTENSIONS[suffix]


def _open(source: Source, stack: ExitStack) -> BinaryIO:
    if source == STDIN:
        return sys.stdin.buffer
    if isinstance(source, str | os.PathLike):
        try:
            return stack.enter_context(open(source, "rb"))  # closed by the stack
        except OSError as exc:
            raise TableError(
                _("cannot open {path}: {reason}").format(path=source, reason=exc.strerror)
            ) from None
    return source


def _csv_table(
    stream: BinaryIO, encoding: str | None, delimiter: str | None, stack: ExitStack
) -> Table:
    if delimiter is not None:
        delimiter = delimiter_named(delimiter)
    lines = DecodedLines(stream, encoding)
    physical = iter(lines)
    skipped = 0
    for first in physical:
        if first.strip():
            break
        skipped += 1
    else:
        raise TableError(_("the file is empty"))
    delimiter = delimiter or _sniff(first)
    records = _csv_records(chain([first], physical), delimiter, skipped)
    stack.callback(records.close)
    header_line, header, rows = _header_and_rows(records, pad=False)
    return Table("csv", header, header_line, rows, delimiter=delimiter, lines=lines)


def _xlsx_table(stream: BinaryIO, sheet: str | None, stack: ExitStack) -> Table:
    from crmtui.tabular import workbook  # openpyxl is imported only when a workbook is read

    title, epoch, records = workbook.open_sheet(stream, sheet, stack)
    header_line, header, rows = _header_and_rows(records, pad=True)
    return Table("xlsx", header, header_line, rows, sheet=title, excel_epoch=epoch)


def _sniff(line: str) -> str:
    """The delimiter the header line uses most outside quotes; a comma if it uses none."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


def _csv_records(
    lines: Iterator[str], delimiter: str, skipped: int
) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) for each record; `skipped` lines came before."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    # The limit is the csv module's, for the whole process: set while this file is read.
    previous_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        while True:
            start = skipped + reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _csv_problem(str(exc), start, skipped + reader.line_num) from None
            yield start, record
    finally:
        csv.field_size_limit(previous_limit)


def _csv_problem(message: str, start: int, current: int) -> TableError:
    if message.startswith("field larger than field limit"):
        return TableError(
            _(
                "a cell is longer than {limit:,} characters; is a quote opened here never closed?"
            ).format(limit=FIELD_SIZE_LIMIT),
            start,
        )
    if message == "unexpected end of data":  # end of file inside a quoted cell
        return TableError(_("a quote opened here is never closed"), start)
    if "expected after" in message:
        return TableError(
            _('text follows the closing quote of a cell; double a quote inside a cell ("")'),
            current,
        )
    return TableError(message, current)


def _header_and_rows(
    records: Iterator[tuple[int, list[str]]], *, pad: bool
) -> tuple[int, tuple[str, ...], Iterator[Row]]:
    """The header (the first row with text in it) and the rows after it, the first one read."""
    for line, cells in records:
        if any(cell.strip() for cell in cells):
            header_line = line
            break
    else:
        raise TableError(_("the file is empty"))
    while not cells[-1].strip():
        cells.pop()  # trailing empty headers: a spreadsheet's formatted but unused columns
    header = tuple(restore(cell.strip()) for cell in cells)
    rows = _rows(records, len(header) if pad else None)
    first = next(rows, None)
    if first is None:
        raise TableError(_("the file has a header but no rows"))
    return header_line, header, chain([first], rows)


def _rows(records: Iterator[tuple[int, list[str]]], width: int | None) -> Iterator[Row]:
    """Rows with text in them; padded to `width` (XLSX, where a row has no length of its own)."""
    for line, cells in records:
        if not any(cells):
            continue
        if width is not None and len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        original = tuple(cells)
        # A cell to restore starts with a quote; NUL never occurs in a cell (decoding refuses
        # it), so this finds one without a Python call per cell.
        if "\0'" in "\0" + "\0".join(cells):
            yield Row(line, tuple(restore(cell) for cell in cells), original)
        else:
            yield Row(line, original, original)
