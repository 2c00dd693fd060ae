"""`crmtui import`: customers, and their purchases, communications and follow-ups, from CSV
or XLSX files; all or nothing, and undo."""

import sys
from collections.abc import Callable
from typing import Any

import click

from crmtui.cli.common import acting_user, counted, echo_json, json_option, progress_bars
from crmtui.i18n import _
from crmtui.store import history_imports, imports
from crmtui.store.validation import is_region
from crmtui.tabular.headers import KINDS
from crmtui.transfer.errors import TransferError
from crmtui.transfer.importing import (
    DEFAULT_ON_DUPLICATE,
    ImportOptions,
    noun,
    record_kind,
    run_import,
)


@click.group(
    "import",
    help=_(
        "Import customers, or their purchases, communications or follow-ups, from a CSV or "
        "XLSX file. By default an import is all or nothing: if any row is invalid, nothing is "
        "written, the rows and reasons go to a reject file and the exit status is 1. Every "
        "import is a batch that `crmtui import undo` takes back."
    ),
)
def import_group() -> None:
    pass


def _check_region(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not is_region(value):
        raise click.BadParameter(
            _("{value!r} is not a region code such as CN, US or GB").format(value=value)
        )
    return None if value is None else value.upper()


Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _together(*decorators: Decorator) -> Decorator:
    """Click's decorators as one, applied in the order listed (the order --help shows)."""

    def apply(command: Callable[..., None]) -> Callable[..., None]:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


# How every import reads its file, and what it says of its columns.
_file_options = _together(
    click.argument("source", metavar="FILE|-"),
    click.option(
        "--format",
        "file_format",
        type=click.Choice(["csv", "xlsx"]),
        help=_("The file's format (default: from its extension; - is CSV)."),
    ),
    click.option(
        "--encoding",
        help=_("The CSV file's encoding (default: detected; UTF-8, UTF-16 or GB18030)."),
    ),
    click.option(
        "--delimiter",
        help=_(
            "The CSV file's delimiter, one character or `tab` (default: detected; comma, "
            "semicolon or tab)."
        ),
    ),
    click.option("--sheet", help=_("The XLSX sheet to read (default: the first).")),
    click.option(
        "--map",
        "mapping_file",
        type=click.Path(dir_okay=False),
        help=_('A TOML file whose [columns] table maps headers to fields: "客户名" = "name".'),
    ),
    click.option(
        "--show-mapping",
        is_flag=True,
        help=_("Print which column goes to which field (on stderr)."),
    ),
    click.option(
        "--region",
        callback=_check_region,
        help=_(
            "Region of phones written without a country code (default: from the config, else CN)."
        ),
    ),
)
# What every import does with bad rows, and how it reports.
_outcome_options = _together(
    click.option(
        "--dry-run",
        is_flag=True,
        help=_("Check every row and say what would happen; write nothing."),
    ),
    click.option(
        "--skip-invalid",
        is_flag=True,
        help=_("Import the valid rows even when others are rejected."),
    ),
    click.option(
        "--rejects",
        "rejects_path",
        type=click.Path(dir_okay=False),
        help=_("Where to write rejected rows (default: FILE.rejects.csv beside the file)."),
    ),
    json_option,
)


def _run_import(kind: str, options: dict[str, Any], **chosen: Any) -> None:
    """Import as click's `options` and the command's `chosen` ones say, and report; exit
    status 1 when rows were rejected and not skipped."""
    show_mapping = options.pop("show_mapping")
    as_json = options.pop("as_json")
    given = ImportOptions(kind=kind, **options, **chosen)

    def show(lines: list[str]) -> None:
        for line in lines:
            click.echo(line, err=True)

    try:
        with progress_bars(_("rows")) as bars:
            result = run_import(
                acting_user(),
                given,
                progress=counted(bars),
                on_mapping=show if show_mapping else None,
            )
    except TransferError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(result.as_json())
    else:
        written = result.summary.written or result.summary.dry_run
        click.echo(result.text(), err=not written)
    if result.failed:
        sys.exit(1)


@import_group.command(
    "customers",
    help=_(
        "Import customers from FILE (CSV or XLSX; - reads CSV from standard input). Headers "
        "are matched to fields in Chinese or English (客户名称, 联系电话, Email, …); a column "
        "that matches nothing fills the custom field of that key or label, else goes to the "
        "notes. Empty cells leave a customer's field as it is."
    ),
)
@_file_options
@click.option(
    "--key",
    type=click.Choice(list(imports.KEYS)),
    help=_("Match rows to saved customers by this (default: every row is a new customer)."),
)
@click.option(
    "--on-duplicate",
    type=click.Choice(list(imports.ON_DUPLICATE)),
    default=DEFAULT_ON_DUPLICATE,
    show_default=True,
    help=_(
        "What a row matching a saved customer does: skip it, update the customer, or reject "
        "the row."
    ),
)
@_outcome_options
def import_customers(
    region: str | None, key: str | None, on_duplicate: str, **options: Any
) -> None:
    _run_import("customers", options, region=region, key=key, on_duplicate=on_duplicate)


def _history_command(kind: str, what: str, example: str) -> click.Command:
    """`crmtui import purchases|communications|followups`: records of saved customers."""

    @import_group.command(
        kind,
        help=_(
            "Import {what} from FILE (CSV or XLSX; - reads CSV from standard input), each row "
            "one new record of a saved customer. The customer is named by a link column: "
            "customer_id, external id, email, phone, or name (with company); by default each "
            "row by the first of those it fills, in that order. A row naming no customer, an "
            "unknown one or several is rejected. Headers are matched in Chinese or English "
            "({example}); columns that match nothing go to the {extras}. A file that `crmtui "
            "export {kind}` wrote imports as it is."
        ).format(
            what=what, example=example, kind=kind, extras=KINDS[record_kind(kind)].extras_field
        ),
    )
    @_file_options
    @click.option(
        "--customer-key",
        type=click.Choice(list(history_imports.CUSTOMER_KEYS)),
        help=_(
            "Find each row's customer by this column only (default: the most specific the "
            "row fills: id, external-id, email, phone, name+company, name)."
        ),
    )
    @_outcome_options
    def command(region: str | None, customer_key: str | None, **options: Any) -> None:
        _run_import(kind, options, region=region, customer_key=customer_key)

    return command


import_purchases = _history_command("purchases", _("purchases"), "日期, 产品, 金额, Amount, …")
import_communications = _history_command(
    "communications", _("communications"), "沟通时间, 方式, 内容, Summary, …"
)
import_followups = _history_command("followups", _("follow-ups"), "标题, 截止日期, 负责人, Due, …")


@import_group.command(
    "undo",
    help=_(
        "Take back import BATCH: the customers (or purchases, communications, follow-ups) it "
        "added are deleted, fields it changed get their old values; what was changed since "
        "is kept."
    ),
)
@click.argument("batch", type=int)
@json_option
def undo(batch: int, as_json: bool) -> None:
    summary = imports.undo_import(acting_user(), batch)
    if as_json:
        echo_json(summary)
        return
    click.echo(
        _("Undid batch {b}: removed {r:,} {noun}, restored {f:,} fields.").format(
            b=batch,
            r=summary.removed,
            noun=noun(summary.kind, summary.removed),
            f=summary.restored,
        )
    )
    for line in summary.kept:
        click.echo(line)
