"""Which column fills which field, and each row as field values ready for the store.

`plan_columns` matches a sheet's header to a record kind (headers.KINDS: customer, purchase,
communication, followup). Each column takes the first rule that applies:

1. the mapping file's entry for its header (`""` skips the column);
2. a header equal to a field name (`alt_phone`, `external_id`: crmtui's own export);
3. a common Chinese or English header for a field (`客户名称`, `E-mail`, `金额（元）`);
4. a custom field whose key or label the header is (customers);
5. a secondary header (`单价` is the amount only without a `总价`), or a common header
   followed by a number (`电话2`, `Phone 2`);
6. one of crmtui's own read-only columns (`id`, `created_at`, …): skipped;
7. anything else becomes "Header: value" lines in the notes (a communication's summary):
   never dropped silently.

A field takes one column: a second phone column is the alt_phone, a second tags column adds to
the tags, a second column for any other field goes to the notes.

The customer's name, as Chinese sales sheets have it (客户名称 = the account, a company or a
person; 联系人 = the person spoken to; 联系电话 = the phone):
- a name column (客户名称, 姓名, Name, or First Name + Last Name, joined) is the name, and
  联系人 / Contact is a contact person of the customer (`contact`);
- without one, the company column (公司名称, Company) is the name (the company is the
  customer) and 联系人 still the contact;
- without either, 联系人 is the name (the person is the customer).
A history sheet finds its customer by key columns (`key_columns`): customer id, external id,
email, phone, name and company.

The store validates values (phones, emails, dates); the mapping only places text, except Excel
date numbers in date columns of an XLSX file, which become ISO dates (dates.serial_text).
"""

import datetime as dt
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from crmtui.i18n import _
from crmtui.tabular.dates import serial_text
from crmtui.tabular.headers import (
    CUSTOMER,
    CUSTOMER_KEYS,
    KINDS,
    NAME_PARTS,
    SYSTEM_COLUMNS,
    RecordKind,
    normalize,
    without_number,
    without_remark,
)
from crmtui.tabular.reading import Row

CUSTOM_PREFIX = "custom:"
_FALLBACKS = {"phone": ("phone", "alt_phone")}  # a second phone column is the alt_phone
_SEVERAL = frozenset({"tags"})  # targets that several columns fill together
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


class MappingError(ValueError):
    """A mapping file that cannot be used: unreadable, or naming a field that does not exist."""


class Problem(NamedTuple):
    """A problem of one row, for the reject file: the column (header, or "" for the row)."""

    column: str
    reason: str


class MappedRow(NamedTuple):
    """One row as values for the store, with where it came from.

    `fields` maps field names to text (the notes with unknown columns' lines appended; `tags`
    as comma-separated text; `name` joined from first and last names). Empty cells are there
    as "": whether empty means "clear" or "leave as is" is the importer's choice. `custom`
    maps custom field keys to text, `contact` a contact person's name/title/phone/email,
    `customer` (history kinds) the key values that find the customer. `problems` are the
    row's own (a ragged row); `original` is the row as the file has it.
    """

    line: int
    fields: dict[str, str]
    custom: dict[str, str]
    contact: dict[str, str]
    customer: dict[str, str]
    problems: tuple[Problem, ...]
    original: tuple[str, ...]


Role = Literal["field", "extra", "skip"]


@dataclass(frozen=True)
class Column:
    """What one column of the sheet becomes.

    `role` is "field" (its value fills `target`: a field, `name.first`/`name.last`,
    `contact.<field>`, `customer.<key>` or `custom:<key>`), "extra" (a line in the notes) or
    "skip"; `reason` says why, when the rule is not the obvious one.
    """

    index: int
    label: str  # the header, or "column 3" for a column without one
    role: Role
    target: str = ""
    reason: str = ""
    explicit: bool = False  # from the mapping file


def load_mapping_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The `[columns]` table of a TOML mapping file: header → target ("" skips the column).

    Targets are checked against a record kind by `plan_columns`.
    """
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise MappingError(
            _("cannot read the mapping file {path}: {reason}").format(
                path=path, reason=exc.strerror
            )
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(
            _("mapping file {path}: {reason}").format(path=path, reason=exc)
        ) from None
    unknown = sorted(set(data) - {"columns"})
    if unknown:
        raise MappingError(
            _("mapping file {path}: unknown table {name!r}; it has only [columns]").format(
                path=path, name=unknown[0]
            )
        )
    columns = data.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(t, str) for t in columns.values()):
        raise MappingError(
            _(
                'mapping file {path}: [columns] maps headers to field names: "客户名" = "name"'
            ).format(path=path)
        )
    return {header: target.strip() for header, target in columns.items()}


def plan_columns(
    kind: str,
    header: Sequence[str],
    *,
    mapping: Mapping[str, str] | None = None,
    custom_fields: Iterable[tuple[str, str]] = (),
    excel_epoch: dt.datetime | None = None,
) -> "ColumnPlan":
    """Match `header` to the fields of `kind`; see the module's rules.

    `mapping` is a mapping file's columns (load_mapping_file); `custom_fields` the custom field
    definitions as (key, label); `excel_epoch` the workbook's (Table.excel_epoch) when the
    sheet is XLSX, so date numbers in date columns become dates. Raises MappingError.
    """
    record = KINDS[kind]
    custom_keys = {key: label for key, label in custom_fields} if record.custom else {}
    explicit = _checked(record, mapping or {}, custom_keys)
    planner = _Planner(record, header)
    used = planner.apply_mapping(explicit)
    aliases = _aliases(record.aliases)
    planner.match(_lookup(record.targets))
    planner.match(aliases, remarks=True)
    custom_lookup: dict[str, str] = {}
    for key, label in custom_keys.items():
        for spelling in (label, key, CUSTOM_PREFIX + key):
            custom_lookup[normalize(spelling)] = CUSTOM_PREFIX + key
    planner.match(custom_lookup)
    planner.match(_aliases(record.secondary), remarks=True)
    planner.match(aliases, numbered=True)
    columns = planner.finish()
    unused = [(h, t) for h, t in explicit.items() if normalize(h) not in used]
    return ColumnPlan(record, tuple(header), columns, unused, excel_epoch)


class ColumnPlan:
    """The columns of one sheet matched to a record kind; maps its rows."""

    def __init__(
        self,
        record: RecordKind,
        header: tuple[str, ...],
        columns: tuple[Column, ...],
        unused: list[tuple[str, str]],
        excel_epoch: dt.datetime | None,
    ) -> None:
        self.kind = record
        self.header = header
        self.columns = columns
        self._unused = unused
        self._epoch = excel_epoch
        self._width = len(header)
        self._plain: list[tuple[int, str]] = []
        self._dated: list[tuple[int, str, bool]] = []
        self._tags: list[int] = []
        self._parts: dict[str, int] = {}
        self._contact: list[tuple[int, str]] = []
        self._customer: list[tuple[int, str]] = []
        self._custom: list[tuple[int, str]] = []
        self._extras = [(c.index, c.label) for c in columns if c.role == "extra"]
        for column in columns:
            if column.role == "field":
                self._place(column.index, column.target)

    def _place(self, index: int, target: str) -> None:
        dated = target in self.kind.dates or target in self.kind.moments
        if target == "tags":
            self._tags.append(index)
        elif target in NAME_PARTS:
            self._parts[target] = index
        elif target.startswith("contact."):
            self._contact.append((index, target.removeprefix("contact.")))
        elif target.startswith("customer."):
            self._customer.append((index, target.removeprefix("customer.")))
        elif target.startswith(CUSTOM_PREFIX):
            self._custom.append((index, target.removeprefix(CUSTOM_PREFIX)))
        elif dated and self._epoch is not None:
            self._dated.append((index, target, target in self.kind.moments))
        else:
            self._plain.append((index, target))

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The customer keys the sheet has (history kinds): "id", "external_id", "email", …"""
        present = {key for _index, key in self._customer}
        return tuple(
            key for key in (k.removeprefix("customer.") for k in CUSTOMER_KEYS) if key in present
        )

    @property
    def missing(self) -> tuple[str, ...]:
        """Required fields no column fills (every row will lack them)."""
        filled = {c.target for c in self.columns if c.role == "field"}
        if filled & set(NAME_PARTS):
            filled.add("name")
        return tuple(name for name in self.kind.required if name not in filled)

    def map_row(self, row: Row) -> MappedRow:
        cells = row.cells
        problems: tuple[Problem, ...] = ()
        if len(cells) != self._width:
            if len(cells) < self._width or any(cells[self._width :]):
                reason = _("the row has {cells} cells; the header has {width}").format(
                    cells=len(cells), width=self._width
                )
                problems = (Problem("", reason),)
            cells = (*cells, *[""] * (self._width - len(cells)))
        fields = {name: cells[i] for i, name in self._plain}
        if self._dated and self._epoch is not None:  # only XLSX sheets have dated columns
            for i, name, with_time in self._dated:
                fields[name] = serial_text(cells[i], self._epoch, with_time=with_time)
        if self._parts:
            first = self._parts.get("name.first")
            last = self._parts.get("name.last")
            fields["name"] = join_name(
                cells[first] if first is not None else "", cells[last] if last is not None else ""
            )
        if self._tags:
            fields["tags"] = ",".join(tag for i in self._tags if (tag := cells[i].strip()))
        if self._extras:
            lines = [
                f"{label}: {value}" for i, label in self._extras if (value := cells[i].strip())
            ]
            if lines:
                target = self.kind.extras_field
                existing = fields.get(target, "")
                fields[target] = "\n".join([existing, *lines] if existing.strip() else lines)
        return MappedRow(
            row.line,
            fields,
            {key: cells[i] for i, key in self._custom},
            {name: cells[i] for i, name in self._contact},
            {key: cells[i] for i, key in self._customer},
            problems,
            row.original,
        )

    def describe(self) -> list[str]:
        """One line per column for --show-mapping: `客户名称 → name`, `微信 → notes ("微信: …")`."""
        lines = []
        for column in self.columns:
            if column.role == "skip":
                what = _("(skipped: {reason})").format(reason=column.reason)
                if not column.reason:
                    what = _("(skipped)")
            elif column.role == "extra":
                what = f'{self.kind.extras_field} ("{column.label}: …")'
            else:
                what = column.target
                reason = column.reason
                dated = column.target in self.kind.dates or column.target in self.kind.moments
                if dated and self._epoch is not None:
                    reason = reason or _("Excel date numbers read as dates")
                if reason:
                    what = f"{what} ({reason})"
            lines.append(f"{column.label} → {what}")
        for header, target in self._unused:
            lines.append(
                _("{header} → {target} (mapping file: no such column)").format(
                    header=header, target=target or _("(skipped)")
                )
            )
        lines.extend(_("(no column for {field})").format(field=name) for name in self.missing)
        if self.kind is not CUSTOMER and not self.key_columns:
            lines.append(
                _("(no column finds the customer: customer_id, external_id, email, phone, name)")
            )
        return lines


def join_name(first: str, last: str) -> str:
    """A full name from its parts: `Ada Lovelace`; Chinese family name first, no space: 王小明."""
    first, last = first.strip(), last.strip()
    if _CJK.search(first) and _CJK.search(last):
        return last + first
    return " ".join(part for part in (first, last) if part)


class _Planner:
    """Assigns columns rule by rule: each column keeps the first target it gets."""

    def __init__(self, record: RecordKind, header: Sequence[str]) -> None:
        self.record = record
        self.labels = [h.strip() or _("column {n}").format(n=i + 1) for i, h in enumerate(header)]
        self.normalized = [normalize(h) for h in header]
        self.remarkless = [without_remark(h) for h in header]
        self.raw = [h.strip() for h in header]
        self.columns: list[Column | None] = [None] * len(header)
        self.taken: dict[str, int] = {}

    def apply_mapping(self, explicit: Mapping[str, str]) -> set[str]:
        """Columns the mapping file names; returns the normalized headers it matched."""
        wanted = {normalize(h): t for h, t in explicit.items()}
        used = set()
        for index, name in enumerate(self.normalized):
            if name not in wanted:
                continue
            used.add(name)
            target = wanted[name]
            if not target:
                self.columns[index] = Column(index, self.labels[index], "skip", explicit=True)
                continue
            if target in self.taken and target not in _SEVERAL:
                raise MappingError(
                    _("mapping file: both {a!r} and {b!r} are mapped to {target}").format(
                        a=self.labels[self.taken[target]], b=self.labels[index], target=target
                    )
                )
            self.taken[target] = index
            self.columns[index] = Column(index, self.labels[index], "field", target, explicit=True)
        return used

    def match(
        self,
        lookup: Mapping[str, str],
        *,
        remarks: bool = False,
        numbered: bool = False,
    ) -> None:
        for index, name in enumerate(self.normalized):
            if self.columns[index] is not None:
                continue
            if numbered:
                name = without_number(name)
                if name == self.normalized[index]:
                    continue  # no number to take off: rule 3 has tried this header
            target = lookup.get(name) or (lookup.get(self.remarkless[index]) if remarks else None)
            if target is not None:
                self._claim(index, target)

    def _claim(self, index: int, target: str) -> None:
        for candidate in _FALLBACKS.get(target, (target,)):
            if candidate in _SEVERAL or candidate not in self.taken:
                self.taken[candidate] = index
                self.columns[index] = Column(index, self.labels[index], "field", candidate)
                return

    def finish(self) -> tuple[Column, ...]:
        if self.record is CUSTOMER:
            self._settle_name()
        done = []
        for index, column in enumerate(self.columns):
            if column is None:
                if self.raw[index] in SYSTEM_COLUMNS:
                    column = Column(index, self.labels[index], "skip", reason=_("set by crmtui"))
                else:
                    column = Column(index, self.labels[index], "extra")
            done.append(column)
        return tuple(done)

    def _settle_name(self) -> None:
        """The customer's name: see the module's docstring."""
        parts = [self.taken[p] for p in NAME_PARTS if p in self.taken]
        if "name" in self.taken:
            for index in parts:
                if not self.columns[index].explicit:  # type: ignore[union-attr]
                    self.columns[index] = None  # a full name is there: the parts are notes
            return
        if parts:
            return
        for stand_in, reason in (
            ("company", _("no customer-name column: the company is the customer")),
            ("contact.name", _("no customer-name or company column")),
        ):
            index = self.taken.get(stand_in)
            if index is not None and not self.columns[index].explicit:  # type: ignore[union-attr]
                del self.taken[stand_in]
                self.taken["name"] = index
                self.columns[index] = Column(index, self.labels[index], "field", "name", reason)
                return


def _checked(
    record: RecordKind, mapping: Mapping[str, str], custom_keys: Mapping[str, str]
) -> dict[str, str]:
    """The mapping file's entries, each target checked against the record kind."""
    for header, target in mapping.items():
        if not target:
            continue
        if target.startswith(CUSTOM_PREFIX) and record.custom:
            key = target.removeprefix(CUSTOM_PREFIX)
            if key not in custom_keys:
                known = ", ".join(sorted(custom_keys)) or _("none is defined")
                raise MappingError(
                    _(
                        "mapping file: {header!r} = {target!r}: no custom field {key!r} ({known})"
                    ).format(header=header, target=target, key=key, known=known)
                )
        elif target not in record.targets:
            raise MappingError(
                _(
                    "mapping file: {header!r} = {target!r}: a {kind} has no such field; use one of:"
                    " {targets}"
                ).format(
                    header=header,
                    target=target,
                    kind=record.name,
                    targets=", ".join(
                        record.targets + ((CUSTOM_PREFIX + "<key>",) if record.custom else ())
                    ),
                )
            )
    return dict(mapping)


def _lookup(targets: Iterable[str]) -> dict[str, str]:
    return {normalize(target): target for target in targets}


def _aliases(aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalize(alias): target for target, names in aliases.items() for alias in names}
