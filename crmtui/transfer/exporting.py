"""Exports to a file or a stream: the format, the default file name, a file never half-written,
and progress, for `crmtui export` and the customer table's export alike."""

import contextlib
import datetime as dt
import os
import stat
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TypeVar

from crmtui.i18n import _, ngettext
from crmtui.store import exports
from crmtui.store.types import Actor, CustomerQuery
from crmtui.tabular import writing
from crmtui.transfer.errors import TransferError
from crmtui.transfer.progress import Progress

T = TypeVar("T")

FORMATS = writing.FORMATS
STDOUT = "-"
PROGRESS_EVERY = 1000  # rows between two progress reports: often enough for a bar to move
EXPORTING = _("Exporting")  # the one stage an export reports
_BY_SUFFIX = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}


def format_for(chosen: str | None, output: str | os.PathLike[str]) -> str:
    """The format `chosen`, else the one the output file's extension names; CSV on stdout or
    for a file without an extension. Any other extension is refused rather than guessed at:
    CSV in `customers.xls` would open in Excel with a warning, and wrongly."""
    if chosen:
        return chosen
    suffix = "" if str(output) == STDOUT else Path(output).suffix.lower()
    if suffix and suffix not in _BY_SUFFIX:
        raise TransferError(
            _(
                "cannot tell the format from the extension {suffix!r}: "
                "name a .csv, .xlsx or .json file, or give --format"
            ).format(suffix=suffix)
        )
    return _BY_SUFFIX.get(suffix, "csv")


def named_format(path: str) -> str | None:
    """The format `path`'s extension names, None for none or another (to keep a choice)."""
    return _BY_SUFFIX.get(Path(path).suffix.lower())


def with_format(path: str, fmt: str) -> str:
    """`path` with the extension of `fmt` instead of a format's extension it had."""
    if named_format(path) is not None:
        path = path[: -len(Path(path).suffix)]
    return f"{path}.{fmt}"


def default_path(kind: str, today: dt.date, folder: Path | None = None) -> Path:
    """Where an export goes unless told: `customers-2025-03-05.csv` in `folder` (the current
    directory by default, where the user started crmtui)."""
    return (folder or Path.cwd()) / f"{kind}-{today.isoformat()}.csv"


@dataclass(frozen=True)
class Export:
    """An export checked and ready: `write(stream)` writes it and returns the count of records;
    `rows` is what it reads, to close when stopping before the end."""

    write: Callable[[IO[bytes]], int]
    rows: Generator[object, None, None]


def _reported(rows: Iterable[T], progress: Progress) -> Iterator[T]:
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % PROGRESS_EVERY == 0:
            progress(EXPORTING, done)
    progress(EXPORTING, done)


def prepare_export(
    actor: Actor,
    kind: str,
    fmt: str,
    query: CustomerQuery,
    *,
    excel: bool = False,
    in_table_order: bool = False,
    progress: Progress | None = None,
) -> Export:
    """What writes `kind` of the customers `query` chooses as `fmt`. The store checks the
    request here (permissions, the filter), before any file is made; raises StoreError."""
    if excel and fmt != "csv":
        raise TransferError(_("the Excel option applies to CSV only"))
    if fmt == "json":
        records = exports.export_records(actor, kind, query, in_table_order=in_table_order)
        shown = records if progress is None else _reported(records, progress)
        return Export(partial(writing.write_json, records=shown), records)
    table = exports.export_table(actor, kind, query, in_table_order=in_table_order)
    rows = table.rows if progress is None else _reported(table.rows, progress)
    if fmt == "xlsx":
        write = partial(writing.write_xlsx, title=table.title, columns=table.columns, rows=rows)
    else:
        write = partial(writing.write_csv, columns=table.columns, rows=rows, excel=excel)
    return Export(write, table.rows)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `path`, renamed over it once written, removed on failure: `path`
    is never half-written. A new file is readable by its owner only, like the database (it
    holds the same personal data); a file replaced keeps its permissions."""
    if path.is_dir():
        raise IsADirectoryError(21, os.strerror(21), str(path))
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, or removed on failure)
        "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            # The file itself, not the wrapper, opened for writing only: a write through the
            # wrapper's attribute lookup, and a text layer resetting a decoder it has for a
            # readable file at every write, cost 5% of a CSV export's time.
            yield handle.file
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(handle.name, stat.S_IMODE(path.stat().st_mode))
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def write_file(export: Export, path: Path) -> int:
    """Write `export` to `path`, replacing it only once complete; the count of records. A path
    that cannot be written (no such folder, no permission, a folder) is a TransferError, and
    leaves `path` as it was."""
    try:
        with contextlib.closing(export.rows), _replacing(path) as stream:
            return export.write(stream)
    except OSError as exc:
        raise TransferError(
            _("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from None


def export_to_file(
    actor: Actor,
    kind: str,
    path: Path,
    query: CustomerQuery,
    *,
    fmt: str | None = None,
    excel: bool = False,
    in_table_order: bool = False,
    progress: Progress | None = None,
) -> int:
    """Export `kind` of the customers `query` chooses to `path` (as `fmt`, else as its
    extension says); the count of records. Raises TransferError or StoreError, and then leaves
    `path` as it was."""
    export = prepare_export(
        actor,
        kind,
        format_for(fmt, path),
        query,
        excel=excel,
        in_table_order=in_table_order,
        progress=progress,
    )
    return write_file(export, path)


def done_text(count: int, path: str | os.PathLike[str]) -> str:
    """What an export says when done."""
    message = ngettext(
        "exported {count:,} record to {path}", "exported {count:,} records to {path}", count
    )
    return message.format(count=count, path=path)
