"""Importing customers from a file's rows: all or nothing, and undoable as one batch.

An import runs in two passes so that the write lock is held only while writing:

1. Every row is cleaned as the customer form would clean it, matched against the customers
   already saved (by the chosen key) and against the rows before it, and staged in a
   temporary file; a row that cannot be imported is rejected with its line, field and reason.
2. Unless a row was rejected (and `skip_invalid` was not given) or this is a dry run, the
   staged rows are written in one transaction: new customers in bulk, matches updated field by
   field. Each change is a history row naming the import's batch, which is how `undo_import`
   finds what to take back. One transaction means a killed import leaves none of its rows.

The matches are looked up again while writing, so a customer saved by someone else between
the passes is updated (or skipped) rather than added twice.

Purchases, communications and follow-ups are imported by `history_imports` in the same two
passes (`check_rows`, `staged_chunks`); `undo_import` takes back a batch of any kind.
"""

import functools
import json
import operator
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from crmtui.i18n import _
from crmtui.store import (
    audit,
    batches,
    custom_fields,
    customers,
    fields,
    records,
    scope,
    search,
    timeline,
)
from crmtui.store import models as m
from crmtui.store.bulk import PreboundInsert, Writer, new_row, next_ids
from crmtui.store.changes import restore_change
from crmtui.store.db import write_transaction
from crmtui.store.errors import FieldProblem, NotFoundError, StoreError, ValidationError
from crmtui.store.permissions import CUSTOMER_WRITE, FOLLOWUP_WRITE, HISTORY_WRITE, authorize
from crmtui.store.types import Actor
from crmtui.store.validation import EMAIL_LENGTH, PHONE_LENGTH, clean_text

# How an imported row is matched to a saved customer: the option's value, and the columns.
KEYS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("phone",),
    "external-id": ("external_id",),
    "name+company": ("name", "company"),
}
ON_DUPLICATE = ("skip", "update", "error")
_USER_FIELDS = ("owner",)  # customer fields naming a user, looked up a chunk at a time
CHUNK = 1000  # rows cleaned, looked up and written at a time

Key = tuple[str, ...]


@dataclass(frozen=True)
class SourceRow:
    """One row of the file: where it is, its values by field, and the cells as they were."""

    line: int
    values: Mapping[str, object]  # field name -> text; "tags" -> text; "custom" -> {key: text}
    cells: tuple[str, ...] = ()
    problems: tuple[FieldProblem, ...] = ()  # found while reading it (a ragged row)
    # A history row's link columns, which find its customer: "id", "email", … -> text.
    customer: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """A row that cannot be imported, and why: one per bad field."""

    line: int
    field: str
    reason: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ImportSummary:
    batch_id: int | None  # None when nothing was written
    created: int
    updated: int
    skipped: int
    rejected: int  # rows, not reasons
    dry_run: bool

    @property
    def written(self) -> bool:
        return self.batch_id is not None


@dataclass(frozen=True)
class UndoSummary:
    batch_id: int
    removed: int  # records (customers, purchases, …) the import added, deleted again
    restored: int  # fields the import changed, given their old values back
    kept: tuple[str, ...]  # what was changed since, and so left alone: one line each
    kind: str  # what the batch imported (ImportBatch.kind): "customers", "purchases", …


@dataclass(frozen=True)
class _NewCustomer:
    """A row to add as a customer, bound ahead (see `bulk.PreboundInsert`)."""

    row: tuple[Any, ...]
    terms: search.Terms


@dataclass
class _Staged:
    line: int
    prepared: customers.Prepared
    key: Key | None
    match: int | None  # the saved customer it matched when cleaned
    # The row's contact person (联系人 and the like), cleaned; None when the row names none.
    contact: dict[str, object] | None = None
    new: _NewCustomer | None = None  # made when it matched no customer


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    seen: dict[Key, int] = field(default_factory=dict)  # key -> line of the row that has it


def present_values(values: Mapping[str, object]) -> dict[str, object]:
    """The values a row gives: an empty cell leaves a field as it is (or blank, for a new
    customer), so a sheet holding only some columns never clears the others."""
    given: dict[str, object] = {}
    for name, value in values.items():
        if name == "custom" and isinstance(value, Mapping):
            custom = {k: v for k, v in value.items() if str(v).strip()}
            if custom:
                given[name] = custom
        elif name == "tags":
            if str(value).strip():
                given[name] = [str(value)]
        elif value is not None and str(value).strip():
            given[name] = value
    return given


def named_user_ids(rows: Sequence[SourceRow], fields: Sequence[str]) -> dict[str, int]:
    """The active users the rows name in `fields` (an owner, an assignee), by name, in one
    query; an unknown name is left for the field's own cleaning to refuse ("no active user
    named …"). A query a row made checking a sheet with an owner column five times slower."""
    names = {
        str(row.values[name]).strip()
        for row in rows
        for name in fields
        if str(row.values.get(name) or "").strip()
    }
    if not names:
        return {}
    users = m.User.select(m.User.name, m.User.id).where(
        m.User.name.in_(sorted(names)) & (m.User.active == True)  # noqa: E712
    )
    return dict(users.tuples())


def with_user_ids(
    values: dict[str, object], fields: Sequence[str], ids: Mapping[str, int]
) -> dict[str, object]:
    """`values` with the users `fields` name given as their ids (see `named_user_ids`)."""
    for name in fields:
        if name in values:
            values[name] = ids.get(str(values[name]).strip(), values[name])
    return values


# Columns holding a phone's or e-mail's text as typed (crmtui's export writes them), and the
# field each belongs to. The field is cleaned from its own column, which holds the stored form
# (E.164 reads the same in any region); the typed text is kept beside it as it came.
AS_TYPED = {
    "phone_raw": ("phone", PHONE_LENGTH),
    "alt_phone_raw": ("alt_phone", PHONE_LENGTH),
    "email_raw": ("email", EMAIL_LENGTH),
}


def _keep_as_typed(prepared: customers.Prepared, typed: Mapping[str, object]) -> None:
    for raw, (field_name, length) in AS_TYPED.items():
        if raw in typed and prepared.columns.get(field_name):
            prepared.columns[raw] = clean_text(typed[raw], max_length=length)


def _clean_contact(values: object, problems: list[FieldProblem]) -> dict[str, object] | None:
    """A row's contact person as the contact form cleans it (None when the row names none);
    its problems are added to `problems`, each naming its `contact.` column."""
    if not isinstance(values, Mapping):
        return None
    given = {name: value for name, value in values.items() if str(value).strip()}
    if not given:
        return None
    try:
        return fields.clean_fields(timeline.CONTACT.fields, given, partial=False)
    except ValidationError as exc:
        problems.extend(FieldProblem(f"contact.{p.field}", p.reason) for p in exc.problems)
        return None


def _owned_by(actor: Actor, columns: dict[str, object]) -> list[FieldProblem]:
    """Sales imports customers of its own, as it adds them: the owner is sales itself, and
    a row naming another owner is refused (only a manager hands customers over)."""
    if not scope.own_only(actor):
        return []
    if columns.get("owner") not in (None, actor.id):
        return [FieldProblem("owner", _("sales may not give a customer to another user"))]
    columns["owner"] = actor.id
    return []


def _key_of(columns: Mapping[str, object], key: str | None) -> Key | None:
    if key is None:
        return None
    values = tuple(str(columns.get(column) or "") for column in KEYS[key])
    return values if any(values) else None


def _matches(actor: Actor, key: str | None, keys: Iterable[Key]) -> dict[Key, int]:
    """The saved customer each key names (the oldest, when several share it), among those
    `actor` sees: to sales, others' customers are not there (see `scope`)."""
    wanted = set(keys)
    if key is None or not wanted:
        return {}
    columns = [getattr(m.Customer, column) for column in KEYS[key]]
    found: dict[Key, int] = {}
    if len(columns) == 1:
        condition = columns[0].in_([k[0] for k in wanted])
    else:
        condition = functools.reduce(
            operator.or_, [(columns[0] == k[0]) & (columns[1] == k[1]) for k in wanted]
        )
    query = scope.seen_by(actor, m.Customer.select(m.Customer.id, *columns).where(condition))
    query = query.order_by(m.Customer.id)
    for customer_id, *values in query.tuples():
        found.setdefault(tuple(str(v or "") for v in values), customer_id)
    return found


def _clean(
    actor: Actor,
    rows: Sequence[SourceRow],
    key: str | None,
    on_duplicate: str,
    counts: _Counts,
    reject: Callable[[Rejected], None],
    inserter: PreboundInsert,
    consent_source: str,
) -> list[_Staged]:
    """Clean a chunk of rows; reject the bad ones; stage the rest with the customer they
    match, if any."""
    cleaned: list[tuple[SourceRow, customers.Prepared, Key | None, dict | None]] = []
    defined = custom_fields.definitions()
    owners = named_user_ids(rows, _USER_FIELDS)
    for row in rows:
        problems = list(row.problems)
        prepared = None
        values = with_user_ids(present_values(row.values), _USER_FIELDS, owners)
        typed = {raw: values.pop(raw) for raw in AS_TYPED if raw in values}
        contact = _clean_contact(values.pop("contact", None), problems)
        try:
            prepared = customers.prepare(values, partial=True, custom_defined=defined)
            _keep_as_typed(prepared, typed)
            problems.extend(_owned_by(actor, prepared.columns))
        except ValidationError as exc:
            problems.extend(exc.problems)
        if problems or prepared is None:
            counts.rejected += 1
            reject_row(row, problems, reject)
            continue
        cleaned.append((row, prepared, _key_of(prepared.columns, key), contact))
    saved = _matches(actor, key, (k for _row, _prepared, k, _contact in cleaned if k is not None))
    staged: list[_Staged] = []
    for row, prepared, row_key, contact in cleaned:
        problem = None
        match = saved.get(row_key) if row_key is not None else None
        if row_key is not None and row_key in counts.seen:
            problem = FieldProblem(
                key or "",
                _("the same {key} as line {line}").format(key=key, line=counts.seen[row_key]),
            )
        elif match is not None and on_duplicate == "error":
            problem = FieldProblem(
                key or "",
                _("customer {id} already has this {key}").format(id=match, key=key),
            )
        elif match is None and "name" not in prepared.columns:
            problem = FieldProblem("name", _("is required"))
        if problem is not None:
            counts.rejected += 1
            reject_row(row, [problem], reject)
            continue
        if row_key is not None:
            counts.seen[row_key] = row.line
        new = None
        if match is None:
            new = _new_customer(inserter, prepared, contact, consent_source)
        staged.append(_Staged(row.line, prepared, row_key, match, contact, new))
    return staged


def reject_row(
    row: SourceRow, problems: Sequence[FieldProblem], reject: Callable[[Rejected], None]
) -> None:
    """Pass on each problem of a row that cannot be imported (the caller counts the row)."""
    for problem in problems:
        reject(Rejected(row.line, problem.field, problem.reason, row.cells))


def check_rows(
    rows: Iterable[SourceRow],
    clean: Callable[[list[SourceRow]], list[Any]],
    stage: IO[bytes],
    progress: Callable[[str, int], None] | None,
) -> None:
    """The first pass of an import: `clean` each chunk of rows (rejecting the bad ones) and
    keep what it returns in `stage`, a temporary file, for the write pass to read back with
    `staged_chunks`; nothing is held in memory but a chunk, and no lock is taken."""
    iterator = iter(rows)
    checked = 0
    while chunk := list(islice(iterator, CHUNK)):
        staged = clean(chunk)
        if staged:
            pickle.dump(staged, stage, protocol=pickle.HIGHEST_PROTOCOL)
        checked += len(chunk)
        if progress is not None:
            progress("checked", checked)


def staged_chunks(stage: IO[bytes]) -> Iterator[list[Any]]:
    """The chunks `check_rows` staged, in order."""
    stage.seek(0)
    while True:
        try:
            yield pickle.load(stage)
        except EOFError:
            return


def _new_customer(
    inserter: PreboundInsert,
    prepared: customers.Prepared,
    contact: Mapping[str, object] | None,
    consent_source: str,
) -> _NewCustomer:
    """What adding the row as a customer writes, made before it is written."""
    columns = dict(prepared.columns)
    customers.record_consent(columns, had=False, source=consent_source)
    if prepared.custom:
        columns["custom"] = customers.custom_json(prepared.custom)
    contact_phone = [str(contact["phone"])] if contact and contact.get("phone") else []
    return _NewCustomer(
        inserter.bind(columns),
        search.terms(
            name=str(columns["name"]),
            company=str(columns.get("company") or ""),
            email=str(columns.get("email") or ""),
            notes=str(columns.get("notes") or ""),
            phones=[
                str(columns.get("phone") or ""),
                str(columns.get("alt_phone") or ""),
                *contact_phone,
            ],
            contact_names=[str(contact["name"])] if contact and contact.get("name") else [],
        ),
    )


def _create(
    actor: Actor,
    writer: Writer,
    inserter: PreboundInsert,
    staged: Sequence[_Staged],
    batch: int,
    consent_source: str,
) -> None:
    """Add new customers in bulk, each with its "create" history row, tags, contact and
    search document, as `customers.add_customer` would one by one."""
    if not staged:
        return
    now = m.utcnow()
    # A row that matched a customer when checked, and that customer is gone, is made now.
    new = [
        item.new or _new_customer(inserter, item.prepared, item.contact, consent_source)
        for item in staged
    ]
    ids = next_ids(m.Customer, len(staged))
    inserter.write(ids, [n.row for n in new], now)
    history = {
        "at": now,
        "user_id": actor.id,
        "user_name": actor.name,
        "entity": customers.ENTITY.name,
        "action": "create",
        "field": None,
        "old_value": None,
        "new_value": None,
        "batch_id": batch,
    }
    writer.insert(m.History, [{**history, "entity_id": i, "customer_id": i} for i in ids])
    tags = [
        {"customer": customer_id, "tag": tag}
        for item, customer_id in zip(staged, ids, strict=True)
        for tag in item.prepared.tags or ()
    ]
    writer.insert(m.CustomerTag, tags)
    writer.insert(
        m.Contact,
        [
            new_row(m.Contact, {**item.contact, "customer": customer_id, "primary": True}, now)
            for item, customer_id in zip(staged, ids, strict=True)
            if item.contact is not None
        ],
    )
    search.index_terms([(i, n.terms) for i, n in zip(ids, new, strict=True)])


def _add_contact(
    actor: Actor, customer_id: int, contact: Mapping[str, object] | None, batch: int
) -> None:
    """An updated customer gets the row's contact unless it has one of that name already;
    its "create" history row names the batch, so that an undo takes it back."""
    if contact is None:
        return
    contacts = m.Contact.select(m.Contact.name).where(m.Contact.customer == customer_id)
    names = {name for (name,) in contacts.tuples()}
    if contact["name"] in names:
        return
    row = m.Contact.create(**contact, customer=customer_id, primary=not names)
    records.record_history(
        actor, timeline.CONTACT.entity, row.id, customer_id, "create", batch=batch
    )
    search.index_customer(customer_id)


def _write(
    actor: Actor,
    stage: IO[bytes],
    key: str | None,
    on_duplicate: str,
    source: str,
    progress: Callable[[int], None] | None,
) -> tuple[int, _Counts]:
    """Write the staged rows as a batch (see `batches`); return its id and what was done."""
    consent_source = _consent_source(source)
    counts = _Counts()
    writer = Writer()
    inserter = PreboundInsert(m.Customer)
    done = 0

    def write(batch: int, chunk: list[_Staged]) -> None:
        nonlocal done
        # Looked up again: a customer saved since the rows were cleaned is matched now.
        saved = _matches(actor, key, (item.key for item in chunk if item.key is not None))
        new: list[_Staged] = []
        for item in chunk:
            match = saved.get(item.key) if item.key is not None else None
            if match is None:
                new.append(item)
            elif on_duplicate == "error":
                raise ValidationError.single(
                    key or "",
                    _("line {line}: customer {id} was saved with this {key} meanwhile").format(
                        line=item.line, id=match, key=key
                    ),
                )
            elif on_duplicate == "skip":
                counts.skipped += 1
            else:
                customers.apply_update(
                    actor, match, item.prepared, None, batch=batch, consent_source=consent_source
                )
                _add_contact(actor, match, item.contact, batch)
                counts.updated += 1
        missing_name = next((i for i in new if "name" not in i.prepared.columns), None)
        if missing_name is not None:  # it matched when cleaned, and that customer is gone
            raise ValidationError.single(
                "name", _("line {line}: is required").format(line=missing_name.line)
            )
        _create(actor, writer, inserter, new, batch, consent_source)
        counts.created += len(new)
        done += len(chunk)
        if progress is not None:
            progress(done)

    def finish() -> dict[str, int]:
        return {"created": counts.created, "updated": counts.updated, "skipped": counts.skipped}

    batch_id = batches.write_batch(actor, "customers", source, staged_chunks(stage), write, finish)
    return batch_id, counts


def _consent_source(source: str) -> str:
    """Where an imported row's consent to marketing was given, when the row does not say."""
    return _("import of {file}").format(file=source or _("a file"))


def import_customers(
    actor: Actor,
    rows: Iterable[SourceRow],
    *,
    key: str | None = None,
    on_duplicate: str = "error",
    dry_run: bool = False,
    skip_invalid: bool = False,
    source: str = "",
    reject: Callable[[Rejected], None] = lambda rejected: None,
    progress: Callable[[str, int], None] | None = None,
) -> ImportSummary:
    """Import customers from `rows` (see the module's docstring).

    `key` matches rows to saved customers (one of KEYS; None adds every row), and
    `on_duplicate` says what a match does: skip the row, update the customer with the row's
    non-empty values, or reject the row. Rejected rows are passed to `reject`, a reason at a
    time. Nothing is written when a row was rejected, unless `skip_invalid`; nor on a dry run,
    whose summary says what would have been done. `progress(stage, rows)` is called after each
    chunk: stage "checked", then "written".
    """
    authorize(actor, CUSTOMER_WRITE)
    if key is not None and key not in KEYS:
        raise ValidationError.single("key", _("must be one of {keys}").format(keys=", ".join(KEYS)))
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError.single(
            "on_duplicate", _("must be one of {choices}").format(choices=", ".join(ON_DUPLICATE))
        )
    counts = _Counts()
    inserter = PreboundInsert(m.Customer)

    def clean(chunk: list[SourceRow]) -> list[_Staged]:
        staged = _clean(
            actor, chunk, key, on_duplicate, counts, reject, inserter, _consent_source(source)
        )
        for item in staged:
            if item.match is None:
                counts.created += 1
            elif on_duplicate == "skip":
                counts.skipped += 1
            else:
                counts.updated += 1
        return staged

    with tempfile.TemporaryFile() as stage:
        check_rows(rows, clean, stage, progress)
        if dry_run or (counts.rejected and not skip_invalid):
            return ImportSummary(
                None, counts.created, counts.updated, counts.skipped, counts.rejected, dry_run
            )
        batch_id, written = _write(
            actor,
            stage,
            key,
            on_duplicate,
            source,
            None if progress is None else lambda n: progress("written", n),
        )
    return ImportSummary(
        batch_id, written.created, written.updated, written.skipped, counts.rejected, False
    )


# --- Undo ------------------------------------------------------------------------------------


def _current_texts(row: m.Customer, tags: Sequence[str], field_name: str) -> set[str | None]:
    """A customer's field as history writes it, to compare with what an import left there: a
    phone or e-mail as typed, or (as history kept it before it kept the typed text) stored."""
    if field_name == "tags":
        return {", ".join(tags)}
    if field_name.startswith("custom."):
        return {json.loads(row.custom or "{}").get(field_name.removeprefix("custom."))}
    typed = records.typed_value(row.__data__, field_name)
    return {records.history_text(row.__data__.get(field_name)), records.history_text(typed)}


# Who may import (and so undo) each kind of batch, by ImportBatch.kind.
BATCH_PERMISSIONS = {
    "customers": CUSTOMER_WRITE,
    "purchases": HISTORY_WRITE,
    "communications": HISTORY_WRITE,
    "followups": FOLLOWUP_WRITE,
}


def undo_import(actor: Actor, batch_id: int) -> UndoSummary:
    """Take an import back: records it added are deleted, fields it changed get their old
    values. What someone changed since (a record edited after it was added, a field given
    another value) is kept and named in the summary. Each undo is recorded in history; the
    customers whose communications it deletes get their last-contact time back."""
    authorize(actor, CUSTOMER_WRITE)
    removed = restored = 0
    kept: list[str] = []
    contacted: set[int] = set()  # customers who lost a communication
    with write_transaction():
        batch = m.ImportBatch.get_or_none(m.ImportBatch.id == batch_id)
        # Sales imports only its own customers, and takes back only its own imports.
        if batch is None or (scope.own_only(actor) and batch.user_id != actor.id):
            raise NotFoundError(_("import batch"), batch_id)
        authorize(actor, BATCH_PERMISSIONS.get(batch.kind, CUSTOMER_WRITE))
        if batch.undone_at is not None:
            raise StoreError(_("import batch {id} was already undone").format(id=batch_id))
        if batch.finished_at is None:
            raise StoreError(
                _("import batch {id} is still being written; undo it when it has finished").format(
                    id=batch_id
                )
            )
        changes = (
            m.History.select().where(m.History.batch_id == batch_id).order_by(m.History.id.desc())
        )
        for change in changes:
            entity = batches.ENTITIES[change.entity]
            row = entity.model.get_or_none(entity.model.id == change.entity_id)
            if row is None:
                continue  # deleted since: nothing left to take back
            if change.action == "create":
                if row.version != 1:
                    kept.append(_changed_since(entity, row))
                    continue
                records.delete(actor, entity, row.id, 1, audited=False)
                if entity is timeline.CONTACT.entity:
                    search.index_customer(row.__data__["customer"])  # its name is searched
                    continue  # part of updating the customer, not a record of the batch's kind
                removed += 1
                if entity is timeline.COMMUNICATION.entity:
                    contacted.add(row.__data__["customer"])
                continue
            tags = customers.tags_of([row.id])[row.id]
            if change.new_value not in _current_texts(row, tags, change.field):
                kept.append(
                    _("customer {id}: {field} was changed after the import; kept").format(
                        id=row.id, field=change.field
                    )
                )
                continue
            restore_change(actor, change.id)
            restored += 1
        timeline.touch_last_contact(contacted)
        batch.undone_at = m.utcnow()
        batch.save()
        audit.record(
            actor,
            "import.undo",
            target=f"batch:{batch_id}",
            detail=f"kind={batch.kind} removed={removed} restored={restored} kept={len(kept)}",
        )
    return UndoSummary(batch_id, removed, restored, tuple(kept), batch.kind)


def _changed_since(entity: records.Entity[Any], row: m.VersionedModel) -> str:
    if entity is customers.ENTITY:
        return _("customer {id} ({name}) was changed after the import; kept").format(
            id=row.id, name=row.name
        )
    return _("{entity} {id} of customer {customer} was changed after the import; kept").format(
        entity=entity.name, id=row.id, customer=row.__data__["customer"]
    )
