"""`crmtui export KIND`: customers or their history as CSV, XLSX or JSON, on stdout or in a file."""

import contextlib
import os
import sys
from pathlib import Path

import click

from crmtui.cli.common import acting_user, counted, progress_bars
from crmtui.i18n import _
from crmtui.store import exports
from crmtui.store.types import CustomerQuery
from crmtui.store.vocabulary import STAGES
from crmtui.tabular import writing
from crmtui.transfer import exporting
from crmtui.transfer.errors import TransferError


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
    try:
        fmt = exporting.format_for(fmt, output)
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    if excel and fmt != "csv":
        raise click.UsageError(_("--excel applies to CSV only"))
    to_stdout = output == exporting.STDOUT
    if to_stdout and fmt == "xlsx" and sys.stdout.isatty():
        raise click.ClickException(_("XLSX is not for a terminal: give -o FILE, or pipe it"))
    query = CustomerQuery(search=search, stage=stage, tag=tag, owner=owner, key_account=key_account)
    if not to_stdout:
        try:
            # A bar on a terminal while the file fills (none on stdout: the records go there).
            with progress_bars(_("records")) as bars:
                export = exporting.prepare_export(
                    acting_user(), kind, fmt, query, excel=excel, progress=counted(bars)
                )
                count = exporting.write_file(export, Path(output))
        except TransferError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(exporting.done_text(count, output), err=True)
        return
    export = exporting.prepare_export(acting_user(), kind, fmt, query, excel=excel)
    try:
        with contextlib.closing(export.rows):
            sys.stdout.flush()
            export.write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader went away (`… | head`): stop quietly, as shell tools do.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        click.get_current_context().exit(1)
    except OSError as exc:
        raise click.ClickException(
            _("cannot write {path}: {error}").format(path=output, error=exc.strerror or exc)
        ) from None
