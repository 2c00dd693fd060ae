"""Imports from a file: its options and their defaults, the column mapping, the reject file,
progress and the summary, for `crmtui import` and the TUI's import dialog alike.

`run_import` reads the file (`crmtui.tabular`), maps its columns, and hands the rows to the
store's import (`store.imports` for customers, `store.history_imports` for the rest), which
checks every row and writes all of them or none.
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from crmtui.config import reading_phones_as
from crmtui.i18n import _, ngettext
from crmtui.store import custom_fields, history_imports, imports
from crmtui.store.errors import FieldProblem
from crmtui.store.imports import ImportSummary, Rejected, SourceRow
from crmtui.store.types import Actor
from crmtui.tabular.errors import TableError
from crmtui.tabular.mapping import ColumnPlan, MappingError, load_mapping_file, plan_columns
from crmtui.tabular.reading import FORMATS, STDIN, Table, open_table
from crmtui.transfer.errors import TransferError
from crmtui.transfer.progress import Progress

KINDS = ("customers", "purchases", "communications", "followups")
FILE_FORMATS = FORMATS
KEYS = tuple(imports.KEYS)  # how customers are matched to saved ones (none: all are new)
ON_DUPLICATE = imports.ON_DUPLICATE
DEFAULT_ON_DUPLICATE = "error"
CUSTOMER_KEYS = tuple(history_imports.CUSTOMER_KEYS)  # how a history row names its customer
STDIN_REJECTS = "crmtui-rejects.csv"  # where rejects of standard input go, unless told
FIRST_REJECTS = 5  # rejects kept to show (the reject file has them all)
CHECKING = _("Checking rows")  # an import's first stage; the second is `writing(kind)`

# Each kind: the mapping's record kind, and what its write stage is called.
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
# The link column each customer key reads first, by the name the mapping gives it.
_KEY_COLUMNS = {key: columns[0] for key, columns in history_imports.CUSTOMER_KEYS.items()}


def noun(kind: str, count: int) -> str:
    """`count` records of `kind` in words: "customer", "follow-ups", …"""
    one, several = _NOUNS.get(kind, (kind, kind))
    return ngettext(one, several, count)


def writing(kind: str) -> str:
    """What an import of `kind` calls its write stage: "Writing customers", …"""
    return _KINDS[kind][1]


def record_kind(kind: str) -> str:
    """The mapping's name for one record of `kind` ("customers" -> "customer")."""
    return _KINDS[kind][0]


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how; the defaults are `crmtui import`'s."""

    source: str  # a path, or "-" for standard input
    kind: str = "customers"
    file_format: str | None = None  # None: from the extension
    encoding: str | None = None  # None: detected
    delimiter: str | None = None  # None: detected
    sheet: str | None = None  # None: the first
    mapping_file: str | None = None
    region: str | None = None  # None: the config's default region
    key: str | None = None  # customers: KEYS; None adds every row
    on_duplicate: str = DEFAULT_ON_DUPLICATE
    customer_key: str | None = None  # history: CUSTOMER_KEYS; None takes the row's best
    dry_run: bool = False
    skip_invalid: bool = False
    rejects_path: str | None = None  # None: FILE.rejects.csv beside the file

    @property
    def rejects_file(self) -> Path:
        if self.rejects_path:
            return Path(self.rejects_path)
        if self.source == STDIN:
            return Path(STDIN_REJECTS)
        path = Path(self.source)
        return path.with_name(path.stem + ".rejects.csv")


class RejectLine(NamedTuple):
    """A rejected row as a person reads it: its line, the column named in the file, why."""

    line: int
    column: str
    reason: str


class _RejectFile:
    """The reject file, made when the first row is rejected: line, column, reason, the row."""

    def __init__(self, path: Path, header: tuple[str, ...], labels: dict[str, str]) -> None:
        self.path = path
        self._header = header
        self._labels = labels  # field -> the column it came from
        self._writer: Any = None
        self._file: Any = None
        self.count = 0
        self.first: list[RejectLine] = []

    def add(self, rejected: Rejected) -> None:
        if self._file is None:
            # UTF-8 with a byte-order mark: Excel, where most users open it, then reads Chinese.
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow([_("line"), _("column"), _("reason"), *self._header])
        column = self._labels.get(rejected.field, rejected.field)
        self._writer.writerow([rejected.line, column, rejected.reason, *rejected.cells])
        self.count += 1
        if len(self.first) < FIRST_REJECTS:
            self.first.append(RejectLine(rejected.line, column, rejected.reason))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, on a dry run, would do)."""

    options: ImportOptions
    summary: ImportSummary
    mapping: tuple[str, ...]  # which column went to which field, a line each
    rejects_file: Path | None  # None when no row was rejected
    first_rejects: tuple[RejectLine, ...]

    @property
    def failed(self) -> bool:
        """Rows were rejected and not skipped: nothing was (or would be) imported."""
        return bool(self.summary.rejected) and not self.options.skip_invalid

    @property
    def rows(self) -> int:
        """The rows read: each one created, updated, skipped or rejected."""
        s = self.summary
        return s.created + s.updated + s.skipped + s.rejected

    def as_json(self) -> dict[str, object]:
        summary = self.summary
        return {
            "batch": summary.batch_id,
            "written": summary.written,  # the counts are what would have been, when not
            "created": summary.created,
            "updated": summary.updated,
            "skipped": summary.skipped,
            "rejected": summary.rejected,
            "dry_run": summary.dry_run,
            "rejects_file": None if self.rejects_file is None else str(self.rejects_file),
        }

    def text(self) -> str:
        """The summary in a sentence or three: what was done, the rejects, how to undo."""
        summary, kind = self.summary, self.options.kind
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
            noun=noun(kind, summary.created),
        )
        if summary.rejected:
            text += " " + ngettext(
                "{n:,} row rejected, see {path}.",
                "{n:,} rows rejected, see {path}.",
                summary.rejected,
            ).format(n=summary.rejected, path=self.rejects_file or self.options.rejects_file)
        if summary.written:
            text += " " + _("Undo with: crmtui import undo {b}").format(b=summary.batch_id)
        return text


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


def _labels(plan: ColumnPlan) -> dict[str, str]:
    """Each field's column in the file, so a reject names the column the user knows."""
    labels = {}
    for column in plan.columns:
        if column.role == "field":
            labels.setdefault(column.target.removeprefix("custom:"), column.label)
    return labels


def _check_links(plan: ColumnPlan, customer_key: str | None) -> None:
    """Refuse a file no row of which could name its customer, before reading its rows."""
    present = plan.key_columns
    if not present:
        raise TransferError(
            _(
                "no column names the customer: the file needs a customer_id, external_id, "
                "email, phone or name column (see --show-mapping; --map names one)"
            )
        )
    if customer_key is not None and _KEY_COLUMNS[customer_key] not in present:
        raise TransferError(
            _("--customer-key {key}: the file has no customer {column} column").format(
                key=customer_key, column=_KEY_COLUMNS[customer_key]
            )
        )


def _stages(progress: Progress, kind: str) -> Callable[[str, int], None]:
    labels = {"checked": CHECKING, "written": writing(kind)}
    return lambda stage, done: progress(labels[stage], done)


def run_import(
    actor: Actor,
    options: ImportOptions,
    *,
    progress: Progress | None = None,
    on_mapping: Callable[[list[str]], None] | None = None,
) -> ImportResult:
    """Import the file `options` names, all or nothing unless `skip_invalid`.

    `on_mapping` is given the mapping's lines once the header is read, before any row;
    `progress` is told of each stage as rows are checked, then written. A file that cannot be
    read or mapped is a TransferError naming the problem (and its line), with nothing written;
    the store's refusals are StoreErrors.
    """
    if options.kind not in KINDS:
        raise TransferError(
            _("{value!r} is not one of: {choices}").format(
                value=options.kind, choices=", ".join(KINDS)
            )
        )
    kind = options.kind
    try:
        mapping = load_mapping_file(options.mapping_file) if options.mapping_file else None
        defined = (
            [(d.key, d.label) for d in custom_fields.list_fields(actor)]
            if kind == "customers"
            else []
        )
        with (
            reading_phones_as(options.region),
            open_table(
                options.source,
                file_format=options.file_format,
                encoding=options.encoding,
                delimiter=options.delimiter,
                sheet=options.sheet,
            ) as table,
        ):
            plan = plan_columns(
                record_kind(kind),
                table.header,
                mapping=mapping,
                custom_fields=defined,
                excel_epoch=table.excel_epoch,
            )
            described = plan.describe()
            if on_mapping is not None:
                on_mapping(described)
            if kind != "customers":
                _check_links(plan, options.customer_key)
            rejects = _RejectFile(options.rejects_file, table.header, _labels(plan))
            stages = None if progress is None else _stages(progress, kind)
            try:
                summary = _store_import(actor, options, _rows(table, plan), rejects.add, stages)
            finally:
                rejects.close()
    except (TableError, MappingError) as exc:
        raise TransferError(str(exc)) from None
    except OSError as exc:  # the reject file could not be written
        raise TransferError(
            _("cannot write {path}: {error}").format(
                path=options.rejects_file, error=exc.strerror or exc
            )
        ) from None
    return ImportResult(
        options,
        summary,
        tuple(described),
        rejects.path if rejects.count else None,
        tuple(rejects.first),
    )


def _store_import(
    actor: Actor,
    options: ImportOptions,
    rows: Iterator[SourceRow],
    reject: Callable[[Rejected], None],
    progress: Callable[[str, int], None] | None,
) -> ImportSummary:
    if options.kind == "customers":
        return imports.import_customers(
            actor,
            rows,
            key=options.key,
            on_duplicate=options.on_duplicate,
            dry_run=options.dry_run,
            skip_invalid=options.skip_invalid,
            source=options.source,
            reject=reject,
            progress=progress,
        )
    return history_imports.import_history(
        actor,
        options.kind,
        rows,
        customer_key=options.customer_key,
        dry_run=options.dry_run,
        skip_invalid=options.skip_invalid,
        source=options.source,
        reject=reject,
        progress=progress,
    )
