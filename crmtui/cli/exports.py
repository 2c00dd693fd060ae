"""`crmtui export KIND`: customers or their history as CSV, XLSX or JSON, on stdout or in a file."""

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from functools import partial
from pathlib import Path
from typing import IO

import click

from crmtui.cli.common import acting_user
from crmtui.i18n import _, ngettext
from crmtui.store import exports
from crmtui.store.types import CustomerQuery
from crmtui.store.vocabulary import STAGES
from crmtui.tabular import writing

_BY_SUFFIX = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}


def _format(chosen: str | None, output: str) -> str:
    """The format named by --format, else by the output file's extension; CSV on stdout or for
    a file without an extension. Any other extension is refused rather than guessed at: CSV
    in `customers.xls` would open in Excel with a warning, and wrongly."""
    if chosen:
        return chosen
    suffix = "" if output == "-" else Path(output).suffix.lower()
    if suffix and suffix not in _BY_SUFFIX:
        raise click.ClickException(
            _(
                "cannot tell the format from the extension {suffix!r}: "
                "name a .csv, .xlsx or .json file, or give --format"
            ).format(suffix=suffix)
        )
    return _BY_SUFFIX.get(suffix, "csv")


@contextlib.contextmanager
def _file(path: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside `path`, renamed over it once written, removed on failure: `path`
    is never half-written. A new file is readable by its owner only, like the database (it
    holds the same personal data); a file replaced keeps its permissions."""
    if path.is_dir():
        raise IsADirectoryError(21, os.strerror(21), str(path))
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, or removed on failure)
        dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(handle.name, stat.S_IMODE(path.stat().st_mode))
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def _writer(
    kind: str, fmt: str, query: CustomerQuery, excel: bool
) -> tuple[Callable[[IO[bytes]], int], Generator[object, None, None]]:
    """What writes the export to a stream, and the rows it takes (to close if it stops early).
    The store checks the request here, before anything is written."""
    actor = acting_user()
    if fmt == "json":
        records = exports.export_records(actor, kind, query)
        return partial(writing.write_json, records=records), records
    table = exports.export_table(actor, kind, query)
    if fmt == "xlsx":
        write = partial(
            writing.write_xlsx, title=table.title, columns=table.columns, rows=table.rows
        )
    else:
        write = partial(writing.write_csv, columns=table.columns, rows=table.rows, excel=excel)
    return write, table.rows


@click.command(
    help=_(
        "Export customers, or the purchases, communications or follow-ups of customers, as CSV, "
        "XLSX or JSON. The filters choose the customers (for history, the customers whose "
        "records are exported); customers come in id order, their records oldest first. CSV "
        "is UTF-8 with CRLF line ends; its cells a spreadsheet would run as a formula get a "
        "leading ' (crmtui's import takes it off). Exit status 1 when the export is refused or "
        "cannot be written; a file named with -o is then left as it was."
    )
)
@click.argument("kind", type=click.Choice(exports.KINDS))
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="FILE|-",
    help=_("Write to FILE (replaced only once complete) instead of stdout (-)."),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(writing.FORMATS),
    help=_("File format (default: from FILE's extension; CSV on stdout or without one)."),
)
@click.option(
    "--excel",
    is_flag=True,
    help=_("CSV for Excel: with a byte-order mark, without which Excel garbles Chinese text."),
)
@click.option("--search", "-s", default="", help=_("Only customers matching this text or phone."))
@click.option("--stage", type=click.Choice(STAGES), help=_("Only customers in this stage."))
@click.option("--tag", help=_("Only customers with this tag."))
@click.option("--owner", help=_("Only customers owned by this user (an unknown user is an error)."))
@click.option(
    "--key-account/--no-key-account",
    default=None,
    help=_("Only key accounts, or only the other customers."),
)
def export(
    kind: str,
    output: str,
    fmt: str | None,
    excel: bool,
    search: str,
    stage: str | None,
    tag: str | None,
    owner: str | None,
    key_account: bool | None,
) -> None:
    fmt = _format(fmt, output)
    if excel and fmt != "csv":
        raise click.UsageError(_("--excel applies to CSV only"))
    to_stdout = output == "-"
    if to_stdout and fmt == "xlsx" and sys.stdout.isatty():
        raise click.ClickException(_("XLSX is not for a terminal: give -o FILE, or pipe it"))
    query = CustomerQuery(search=search, stage=stage, tag=tag, owner=owner, key_account=key_account)
    write, rows = _writer(kind, fmt, query, excel)
    try:
        with contextlib.closing(rows):
            if to_stdout:
                sys.stdout.flush()
                write(sys.stdout.buffer)
                sys.stdout.buffer.flush()
                return
            with _file(Path(output)) as stream:
                count = write(stream)
    except BrokenPipeError:
        # The reader went away (`… | head`): stop quietly, as shell tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        click.get_current_context().exit(1)
    except OSError as exc:
        raise click.ClickException(
            _("cannot write {path}: {error}").format(path=output, error=exc.strerror or exc)
        ) from None
    message = ngettext(
        "exported {count:,} record to {path}", "exported {count:,} records to {path}", count
    )
    click.echo(message.format(count=count, path=output), err=True)
