"""`crmtui import`: customers, and their purchases, communications and follow-ups, from CSV
or XLSX files; all or nothing, and undo."""

import csv
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from crmtui.cli.common import Progress, acting_user, echo_json, json_option, progress_bars
from crmtui.config import override_settings
from crmtui.i18n import _, ngettext
from crmtui.store import custom_fields, history_imports, imports
from crmtui.store.errors import FieldProblem
from crmtui.store.imports import ImportSummary, Rejected, SourceRow
from crmtui.store.types import Actor
from crmtui.store.validation import is_region
from crmtui.tabular.errors import TableError
from crmtui.tabular.headers import KINDS
from crmtui.tabular.mapping import ColumnPlan, MappingError, load_mapping_file, plan_columns
from crmtui.tabular.reading import STDIN, Table, open_table

STDIN_REJECTS = "crmtui-rejects.csv"  # where rejects of standard input go, unless told


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


def _rows(table: Table, plan: ColumnPlan) -> Iterator[SourceRow]:
    for row in table.rows:
        mapped = plan.map_row(row)
        values: dict[str, object] = dict(mapped.fields)
        if mapped.custom:
            values["custom"] = mapped.custom
        if mapped.contact:
            values["contact"] = mapped.contact
        yield SourceRow(
            mapped.line,
            values,
            mapped.original,
            tuple(FieldProblem(p.column, p.reason) for p in mapped.problems),
            mapped.customer,
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


# Each kind of import: the mapping's record kind, and what the progress bar writes.
_KINDS = {
    "customers": ("customer", _("Writing customers")),
    "purchases": ("purchase", _("Writing purchases")),
    "communications": ("communication", _("Writing communications")),
    "followups": ("followup", _("Writing follow-ups")),
}
_NOUNS = {  # (one, several)
    "customers": ("customer", "customers"),
    "purchases": ("purchase", "purchases"),
    "communications": ("communication", "communications"),
    "followups": ("follow-up", "follow-ups"),
}


def _noun(kind: str, count: int) -> str:
    one, several = _NOUNS.get(kind, (kind, kind))
    return ngettext(one, several, count)


def _stages(bars: Progress, kind: str) -> Callable[[str, int], None]:
    labels = {"checked": _("Checking rows"), "written": _KINDS[kind][1]}
    return lambda stage, done: bars(labels[stage], done, None)


def _summary_text(summary: ImportSummary, rejects: _RejectFile, kind: str) -> str:
    if kind != "customers":  # a history import only creates
        if summary.dry_run:
            head = _("Dry run, nothing written: would create {c:,} {noun}.")
        elif summary.written:
            head = _("Imported batch {b}: created {c:,} {noun}.")
        else:
            head = _("Nothing imported.")
    elif summary.dry_run:
        head = _("Dry run, nothing written: would create {c:,}, update {u:,}, skip {s:,}.")
    elif summary.written:
        head = _("Imported batch {b}: created {c:,}, updated {u:,}, skipped {s:,}.")
    else:
        head = _("Nothing imported.")
    text = head.format(
        b=summary.batch_id,
        c=summary.created,
        u=summary.updated,
        s=summary.skipped,
        noun=_noun(kind, summary.created),
    )
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
        help=_("The CSV file's delimiter (default: detected; comma, semicolon or tab)."),
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


@dataclass(frozen=True)
class _FileOptions:
    source: str
    file_format: str | None
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    mapping_file: str | None
    show_mapping: bool
    dry_run: bool
    skip_invalid: bool
    rejects_path: str | None
    as_json: bool


# Runs the store's import: (actor, rows, the plan, the reject callback, progress) -> summary.
_Importer = Callable[
    [Actor, Iterator[SourceRow], ColumnPlan, Callable[[Rejected], None], Callable | None],
    ImportSummary,
]


def _run_import(kind: str, region: str | None, given: _FileOptions, run: _Importer) -> None:
    """Read the file, map its columns, import its rows with `run`, and report; exit status 1
    when rows were rejected and not skipped."""
    actor = acting_user()
    if region is not None:
        override_settings(default_region=region)
    try:
        mapping = load_mapping_file(given.mapping_file) if given.mapping_file else None
        defined = (
            [(d.key, d.label) for d in custom_fields.list_fields(actor)]
            if kind == "customers"
            else []
        )
        with open_table(
            given.source,
            file_format=given.file_format,
            encoding=given.encoding,
            delimiter=given.delimiter,
            sheet=given.sheet,
        ) as table:
            plan = plan_columns(
                _KINDS[kind][0],
                table.header,
                mapping=mapping,
                custom_fields=defined,
                excel_epoch=table.excel_epoch,
            )
            if given.show_mapping:
                for line in plan.describe():
                    click.echo(line, err=True)
            rejects = _RejectFile(
                Path(given.rejects_path) if given.rejects_path else _default_rejects(given.source),
                table.header,
                _labels(plan),
            )
            try:
                with progress_bars(_("rows")) as bars:
                    summary = run(
                        actor,
                        _rows(table, plan),
                        plan,
                        rejects.add,
                        None if bars is None else _stages(bars, kind),
                    )
            finally:
                rejects.close()
    except (TableError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    if given.as_json:
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
        click.echo(
            _summary_text(summary, rejects, kind), err=not summary.written and not summary.dry_run
        )
    if summary.rejected and not given.skip_invalid:
        sys.exit(1)


@import_group.command(
    "customers",
    help=_(
        "Import customers from FILE (CSV or XLSX; - reads CSV from standard input). Headers "
        "are matched to fields in Chinese or English (客户名称, 联系电话, Email, …); columns "
        "that match nothing go to the notes. Empty cells leave a customer's field as it is."
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
    default="error",
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
    given = _FileOptions(**options)

    def run(
        actor: Actor,
        rows: Iterator[SourceRow],
        _plan: ColumnPlan,
        reject: Callable[[Rejected], None],
        progress: Callable | None,
    ) -> ImportSummary:
        return imports.import_customers(
            actor,
            rows,
            key=key,
            on_duplicate=on_duplicate,
            dry_run=given.dry_run,
            skip_invalid=given.skip_invalid,
            source=given.source,
            reject=reject,
            progress=progress,
        )

    _run_import("customers", region, given, run)


# The link column each --customer-key reads first, by the name the mapping gives it.
_KEY_COLUMNS = {key: columns[0] for key, columns in history_imports.CUSTOMER_KEYS.items()}


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
        ).format(what=what, example=example, kind=kind, extras=KINDS[_KINDS[kind][0]].extras_field),
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
        given = _FileOptions(**options)

        def run(
            actor: Actor,
            rows: Iterator[SourceRow],
            plan: ColumnPlan,
            reject: Callable[[Rejected], None],
            progress: Callable | None,
        ) -> ImportSummary:
            _check_links(plan, customer_key)
            return history_imports.import_history(
                actor,
                kind,
                rows,
                customer_key=customer_key,
                dry_run=given.dry_run,
                skip_invalid=given.skip_invalid,
                source=given.source,
                reject=reject,
                progress=progress,
            )

        _run_import(kind, region, given, run)

    return command


def _check_links(plan: ColumnPlan, customer_key: str | None) -> None:
    """Refuse a file no row of which could name its customer, before reading its rows."""
    present = plan.key_columns
    if not present:
        raise click.ClickException(
            _(
                "no column names the customer: the file needs a customer_id, external_id, "
                "email, phone or name column (see --show-mapping; --map names one)"
            )
        )
    if customer_key is not None and _KEY_COLUMNS[customer_key] not in present:
        raise click.ClickException(
            _("--customer-key {key}: the file has no customer {column} column").format(
                key=customer_key, column=_KEY_COLUMNS[customer_key]
            )
        )


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
            noun=_noun(summary.kind, summary.removed),
            f=summary.restored,
        )
    )
    for line in summary.kept:
        click.echo(line)
