"""`crmtui import`: customers from CSV or XLSX files, all or nothing, and undo."""

import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from crmtui.cli.common import Progress, acting_user, echo_json, json_option, progress_bars
from crmtui.config import override_settings
from crmtui.i18n import _, ngettext
from crmtui.store import custom_fields, imports
from crmtui.store.errors import FieldProblem
from crmtui.store.imports import ImportSummary, Rejected, SourceRow
from crmtui.store.validation import is_region
from crmtui.tabular.errors import TableError
from crmtui.tabular.mapping import ColumnPlan, MappingError, load_mapping_file, plan_columns
from crmtui.tabular.reading import STDIN, Table, open_table

STDIN_REJECTS = "crmtui-rejects.csv"  # where rejects of standard input go, unless told


@click.group(
    "import",
    help=_(
        "Import customers from a CSV or XLSX file. By default an import is all or nothing: if "
        "any row is invalid, nothing is written, the rows and reasons go to a reject file and "
        "the exit status is 1. Every import is a batch that `crmtui import undo` takes back."
    ),
)
def import_group() -> None:
    pass


def _rows(table: Table, plan: ColumnPlan) -> Iterator[SourceRow]:
    for row in table.rows:
        mapped = plan.map_row(row)
        values: dict[str, object] = dict(mapped.fields)
        if mapped.custom:
            values["custom"] = mapped.custom
        yield SourceRow(
            mapped.line,
            values,
            mapped.original,
            tuple(FieldProblem(p.column, p.reason) for p in mapped.problems),
        )


class _RejectFile:
    """The reject file, made when the first row is rejected: line, column, reason, the row."""

    def __init__(self, path: Path, header: tuple[str, ...], labels: dict[str, str]) -> None:
        self.path = path
        self._header = header
        self._labels = labels  # field -> the column it came from
        self._writer: object | None = None
        self._file = None
        self.count = 0

    def add(self, rejected: Rejected) -> None:
        if self._file is None:
            # UTF-8 with a byte-order mark: Excel, where most users open it, then reads Chinese.
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow([_("line"), _("column"), _("reason"), *self._header])
        column = self._labels.get(rejected.field, rejected.field)
        self._writer.writerow([rejected.line, column, rejected.reason, *rejected.cells])
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _labels(plan: ColumnPlan) -> dict[str, str]:
    """Each field's column in the file, so a reject names the column the user knows."""
    labels = {}
    for column in plan.columns:
        if column.role == "field":
            labels.setdefault(column.target.removeprefix("custom:"), column.label)
    return labels


def _default_rejects(source: str) -> Path:
    if source == STDIN:
        return Path(STDIN_REJECTS)
    path = Path(source)
    return path.with_name(path.stem + ".rejects.csv")


def _stages(bars: Progress) -> Callable[[str, int], None]:
    labels = {"checked": _("Checking rows"), "written": _("Writing customers")}
    return lambda stage, done: bars(labels[stage], done, None)


def _summary_text(summary: ImportSummary, rejects: _RejectFile) -> str:
    if summary.dry_run:
        head = _("Dry run, nothing written: would create {c:,}, update {u:,}, skip {s:,}.")
    elif summary.written:
        head = _("Imported batch {b}: created {c:,}, updated {u:,}, skipped {s:,}.")
    else:
        head = _("Nothing imported.")
    text = head.format(b=summary.batch_id, c=summary.created, u=summary.updated, s=summary.skipped)
    if summary.rejected:
        text += " " + ngettext(
            "{n:,} row rejected, see {path}.", "{n:,} rows rejected, see {path}.", summary.rejected
        ).format(n=summary.rejected, path=rejects.path)
    if summary.written:
        text += " " + _("Undo with: crmtui import undo {b}").format(b=summary.batch_id)
    return text


def _check_region(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not is_region(value):
        raise click.BadParameter(
            _("{value!r} is not a region code such as CN, US or GB").format(value=value)
        )
    return None if value is None else value.upper()


@import_group.command(
    "customers",
    help=_(
        "Import customers from FILE (CSV or XLSX; - reads CSV from standard input). Headers "
        "are matched to fields in Chinese or English (客户名称, 联系电话, Email, …); columns "
        "that match nothing go to the notes. Empty cells leave a customer's field as it is."
    ),
)
@click.argument("source", metavar="FILE|-")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx"]),
    help=_("The file's format (default: from its extension; - is CSV)."),
)
@click.option(
    "--encoding", help=_("The CSV file's encoding (default: detected; UTF-8, UTF-16 or GB18030).")
)
@click.option(
    "--delimiter", help=_("The CSV file's delimiter (default: detected; comma, semicolon or tab).")
)
@click.option("--sheet", help=_("The XLSX sheet to read (default: the first)."))
@click.option(
    "--map",
    "mapping_file",
    type=click.Path(dir_okay=False),
    help=_('A TOML file whose [columns] table maps headers to fields: "客户名" = "name".'),
)
@click.option(
    "--show-mapping", is_flag=True, help=_("Print which column goes to which field (on stderr).")
)
@click.option(
    "--region",
    callback=_check_region,
    help=_("Region of phones written without a country code (default: from the config, else CN)."),
)
@click.option(
    "--key",
    type=click.Choice(list(imports.KEYS)),
    help=_("Match rows to saved customers by this (default: every row is a new customer)."),
)
@click.option(
    "--on-duplicate",
    type=click.Choice(list(imports.ON_DUPLICATE)),
    default="error",
    show_default=True,
    help=_(
        "What a row matching a saved customer does: skip it, update the customer, or reject "
        "the row."
    ),
)
@click.option(
    "--dry-run", is_flag=True, help=_("Check every row and say what would happen; write nothing.")
)
@click.option(
    "--skip-invalid", is_flag=True, help=_("Import the valid rows even when others are rejected.")
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False),
    help=_("Where to write rejected rows (default: FILE.rejects.csv beside the file)."),
)
@json_option
def import_customers(
    source: str,
    file_format: str | None,
    encoding: str | None,
    delimiter: str | None,
    sheet: str | None,
    mapping_file: str | None,
    show_mapping: bool,
    region: str | None,
    key: str | None,
    on_duplicate: str,
    dry_run: bool,
    skip_invalid: bool,
    rejects_path: str | None,
    as_json: bool,
) -> None:
    actor = acting_user()
    if region is not None:
        override_settings(default_region=region)
    try:
        mapping = load_mapping_file(mapping_file) if mapping_file else None
        defined = [(d.key, d.label) for d in custom_fields.list_fields(actor)]
        with open_table(
            source, file_format=file_format, encoding=encoding, delimiter=delimiter, sheet=sheet
        ) as table:
            plan = plan_columns(
                "customer",
                table.header,
                mapping=mapping,
                custom_fields=defined,
                excel_epoch=table.excel_epoch,
            )
            if show_mapping:
                for line in plan.describe():
                    click.echo(line, err=True)
            rejects = _RejectFile(
                Path(rejects_path) if rejects_path else _default_rejects(source),
                table.header,
                _labels(plan),
            )
            try:
                with progress_bars(_("rows")) as bars:
                    summary = imports.import_customers(
                        actor,
                        _rows(table, plan),
                        key=key,
                        on_duplicate=on_duplicate,
                        dry_run=dry_run,
                        skip_invalid=skip_invalid,
                        source=source,
                        reject=rejects.add,
                        progress=None if bars is None else _stages(bars),
                    )
            finally:
                rejects.close()
    except (TableError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(
            {
                "batch": summary.batch_id,
                "created": summary.created,
                "updated": summary.updated,
                "skipped": summary.skipped,
                "rejected": summary.rejected,
                "dry_run": summary.dry_run,
                "rejects_file": str(rejects.path) if rejects.count else None,
            }
        )
    else:
        click.echo(_summary_text(summary, rejects), err=not summary.written and not summary.dry_run)
    if summary.rejected and not skip_invalid:
        sys.exit(1)


@import_group.command(
    "undo",
    help=_(
        "Take back import BATCH: customers it added are deleted, fields it changed get their "
        "old values; what was changed since is kept."
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
        _("Undid batch {b}: removed {r:,} customers, restored {f:,} fields.").format(
            b=batch, r=summary.removed, f=summary.restored
        )
    )
    for line in summary.kept:
        click.echo(line)
