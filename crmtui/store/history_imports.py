"""Importing purchases, communications and follow-ups: each row a new record of a saved
customer, whom the row's link columns name. All or nothing, and undoable as one batch.

The passes are the customer import's (crmtui.store.imports):

1. Every row is cleaned as the record's own form cleans it (`timeline.add_record`,
   `followups.add_followup`: the same field specs and defaults), and its customer is found
   by one of its link columns; the rows are staged in a temporary file. A row whose values
   are bad, or which names no customer, an unknown one or several, is rejected with its
   line, column and reason.
2. Unless a row was rejected (and `skip_invalid` was not given) or this is a dry run, the
   staged records are written in bulk in one transaction, each with its "create" history row
   naming the batch (which is how `imports.undo_import` takes them back). Communications
   move their customers' last-contact time, as one added by hand does.
"""

import tempfile
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

from crmtui.config import phone_region
from crmtui.i18n import _
from crmtui.store import batches, followups, records, scope, timeline, vocabulary
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store.bulk import Writer, new_row
from crmtui.store.errors import FieldProblem, ValidationError
from crmtui.store.imports import (
    BATCH_PERMISSIONS,
    ImportSummary,
    Rejected,
    SourceRow,
    check_rows,
    named_user_ids,
    present_values,
    reject_row,
    staged_chunks,
    with_user_ids,
)
from crmtui.store.permissions import authorize
from crmtui.store.types import Actor
from crmtui.store.validation import clean_email, clean_phone, clean_text

# How a row names its customer (the option's value, and the link columns it reads), most
# specific first: without a chosen key, a row is linked by the first it has values for.
CUSTOMER_KEYS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "external-id": ("external_id",),
    "email": ("email",),
    "phone": ("phone",),
    "name+company": ("name", "company"),
    "name": ("name",),
}

# A follow-up's state beyond its form (crmtui's export writes it: a done follow-up, its
# outcome), cleaned as the services that set it clean it.
_FOLLOWUP_STATE = {
    "status": f.choice("status", vocabulary.FOLLOWUP_STATUSES),
    "done_at": f.moment("done_at"),
    "snoozed_until": f.moment("snoozed_until"),
    "outcome": f.text("outcome", 4000, multiline=True),
}


@dataclass(frozen=True)
class HistoryKind:
    """One kind of record a history import makes, and how it is cleaned and kept consistent."""

    name: str  # the batch's kind: "purchases", …
    entity: records.Entity[Any]
    fields: Mapping[str, f.FieldSpec]
    defaults: Callable[[Actor], dict[str, object]]  # as the record's form starts
    users: tuple[str, ...] = ()  # fields naming a user, looked up a chunk at a time
    after_write: Callable[[Collection[int]], None] = lambda customer_ids: None


KINDS: dict[str, HistoryKind] = {
    kind.name: kind
    for kind in (
        HistoryKind(
            "purchases",
            timeline.PURCHASE.entity,
            timeline.PURCHASE.fields,
            timeline.PURCHASE.defaults,
        ),
        HistoryKind(
            "communications",
            timeline.COMMUNICATION.entity,
            timeline.COMMUNICATION.fields,
            timeline.COMMUNICATION.defaults,
            users=("user",),
            after_write=timeline.touch_last_contact,
        ),
        HistoryKind(
            "followups",
            followups.ENTITY,
            {**followups.FIELDS, **_FOLLOWUP_STATE},
            lambda actor: {"assignee": actor.id},  # as `followups.add_followup` assigns
            users=("assignee",),
        ),
    )
}

LinkKey = tuple[str, tuple[object, ...]]  # a key of CUSTOMER_KEYS and the row's values for it


class _Staged(NamedTuple):
    line: int
    customer_id: int
    columns: dict[str, object]


def _link_value(column: str, text: str) -> object:
    """A link column's text as the customer row holds it (ValueError if it cannot be)."""
    if column == "id":
        if not text.isdigit():
            raise ValueError(_("{value!r} is not a customer id").format(value=text))
        return int(text)
    if column == "email":
        return clean_email(text).value
    if column == "phone":
        return clean_phone(text, region=phone_region()).value
    return clean_text(text, max_length=4000)


def _link_key(row: SourceRow, key: str | None) -> LinkKey | FieldProblem:
    """The key that finds the row's customer, or the problem of a row naming none."""
    given = {column: text.strip() for column, text in row.customer.items() if text.strip()}
    if key is None:
        key = next((k for k, cols in CUSTOMER_KEYS.items() if all(c in given for c in cols)), None)
        if key is None:
            return FieldProblem(
                "customer",
                _("names no customer: it needs a customer id, external id, email, phone or name"),
            )
    columns = CUSTOMER_KEYS[key]
    if columns[0] not in given:
        return FieldProblem("customer." + columns[0], _("is empty: it names no customer"))
    values = []
    for column in columns:
        try:
            values.append(_link_value(column, given.get(column, "")))
        except ValueError as exc:
            return FieldProblem("customer." + column, str(exc))
    return key, tuple(values)


def _customers(actor: Actor, keys: Iterable[LinkKey]) -> dict[LinkKey, list[tuple[int, str]]]:
    """The saved customers (id, name) each key names that `actor` may see (sales: its own),
    one query per kind of key."""
    wanted: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    for key, values in keys:
        wanted[key].add(values)
    found: dict[LinkKey, list[tuple[int, str]]] = defaultdict(list)
    for key, value_set in wanted.items():
        columns = [getattr(m.Customer, column) for column in CUSTOMER_KEYS[key]]
        select = m.Customer.select(m.Customer.id, m.Customer.name, *columns)
        select = select.where(columns[0].in_(sorted({v[0] for v in value_set}, key=str)))
        select = scope.seen_by(actor, select)
        for customer_id, name, *values in select.order_by(m.Customer.id).tuples():
            found[key, tuple(values)].append((customer_id, name))
    return found


def _customer_of(
    row: SourceRow, link: LinkKey, found: Mapping[LinkKey, list[tuple[int, str]]]
) -> int | FieldProblem:
    key, values = link
    field = "customer." + CUSTOMER_KEYS[key][0]
    shown = " / ".join(str(v) for v in values)
    matches = found.get(link, [])
    if not matches:
        return FieldProblem(
            field, _("no saved customer has {key} {value!r}").format(key=key, value=shown)
        )
    if len(matches) > 1:
        ids = ", ".join(str(customer_id) for customer_id, _name in matches)
        return FieldProblem(
            field,
            _("{count} saved customers have {key} {value!r} (ids {ids})").format(
                count=len(matches), key=key, value=shown, ids=ids
            ),
        )
    [(customer_id, name)] = matches
    # An id means nothing in another database: a sheet exported elsewhere would link its rows
    # to whoever has those ids here, unless the name it gives is checked.
    named = row.customer.get("name", "").strip()
    if key == "id" and named and clean_text(named, max_length=4000) != name:
        return FieldProblem(
            field,
            _("customer {id} is {name!r}, not {given!r}").format(
                id=customer_id, name=name, given=named
            ),
        )
    return customer_id


def _clean(
    actor: Actor,
    kind: HistoryKind,
    rows: Sequence[SourceRow],
    key: str | None,
    reject: Callable[[Rejected], None],
) -> tuple[list[_Staged], int]:
    """Clean a chunk of rows and find their customers; reject the bad ones. Returns the rest,
    to stage, and how many were rejected."""
    links = {row.line: _link_key(row, key) for row in rows}
    found = _customers(
        actor, (link for link in links.values() if not isinstance(link, FieldProblem))
    )
    users = named_user_ids(rows, kind.users)
    staged: list[_Staged] = []
    rejected = 0
    for row in rows:
        problems = list(row.problems)
        link = links[row.line]
        customer = link if isinstance(link, FieldProblem) else _customer_of(row, link, found)
        if isinstance(customer, FieldProblem):
            problems.append(customer)
        values = with_user_ids(present_values(row.values), kind.users, users)
        columns: dict[str, object] = {}
        try:
            columns = f.clean_fields(kind.fields, {**kind.defaults(actor), **values}, partial=False)
        except ValidationError as exc:
            problems.extend(exc.problems)
        if problems or isinstance(customer, FieldProblem):
            rejected += 1
            reject_row(row, problems, reject)
            continue
        staged.append(_Staged(row.line, customer, columns))
    return staged, rejected


def _write(
    actor: Actor,
    kind: HistoryKind,
    stage: IO[bytes],
    source: str,
    progress: Callable[[str, int], None] | None,
) -> tuple[int, int]:
    """Write the staged records as a batch (see `batches`); return its id and how many."""
    model = kind.entity.model
    writer = Writer()
    created = 0

    def write(batch: int, chunk: list[_Staged]) -> None:
        nonlocal created
        wanted = {item.customer_id for item in chunk}
        saved = m.Customer.select(m.Customer.id).where(m.Customer.id.in_(list(wanted)))
        present = {customer_id for (customer_id,) in scope.seen_by(actor, saved).tuples()}
        gone = next((item for item in chunk if item.customer_id not in present), None)
        # Deleted by someone else since the row was checked (or, to sales, handed to another).
        if gone is not None:
            raise ValidationError.single(
                "customer",
                _("line {line}: customer {id} was deleted meanwhile").format(
                    line=gone.line, id=gone.customer_id
                ),
            )
        now = m.utcnow()
        ids = writer.insert_with_ids(
            model,
            [new_row(model, {**i.columns, "customer": i.customer_id}, now) for i in chunk],
        )
        history = {
            "at": now,
            "user_id": actor.id,
            "user_name": actor.name,
            "entity": kind.entity.name,
            "action": "create",
            "field": None,
            "old_value": None,
            "new_value": None,
            "batch_id": batch,
        }
        writer.insert(
            m.History,
            [
                {**history, "entity_id": record_id, "customer_id": item.customer_id}
                for record_id, item in zip(ids, chunk, strict=True)
            ],
        )
        kind.after_write(wanted)
        created += len(chunk)
        if progress is not None:
            progress("written", created)

    def finish() -> dict[str, int]:
        return {"created": created}

    batch_id = batches.write_batch(actor, kind.name, source, staged_chunks(stage), write, finish)
    return batch_id, created


def import_history(
    actor: Actor,
    kind: str,
    rows: Iterable[SourceRow],
    *,
    customer_key: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    source: str = "",
    reject: Callable[[Rejected], None] = lambda rejected: None,
    progress: Callable[[str, int], None] | None = None,
) -> ImportSummary:
    """Import records of `kind` (a key of KINDS) from `rows` (see the module's docstring).

    Each row's `values` are the record's fields; its `customer` values (SourceRow.customer:
    "id", "external_id", "email", "phone", "name", "company") find the saved customer it
    belongs to, by `customer_key` (one of CUSTOMER_KEYS), or by default by the most specific
    of them the row has a value for. Rejected rows, `skip_invalid`, `dry_run`, `reject` and
    `progress` are as for `imports.import_customers`; nothing is ever updated or skipped.
    """
    if kind not in KINDS:
        raise ValidationError.single(
            "kind", _("must be one of {kinds}").format(kinds=", ".join(KINDS))
        )
    authorize(actor, BATCH_PERMISSIONS[kind])
    if customer_key is not None and customer_key not in CUSTOMER_KEYS:
        raise ValidationError.single(
            "customer_key", _("must be one of {keys}").format(keys=", ".join(CUSTOMER_KEYS))
        )
    record = KINDS[kind]
    staged = rejected = 0

    def clean(chunk: list[SourceRow]) -> list[_Staged]:
        nonlocal staged, rejected
        cleaned, bad = _clean(actor, record, chunk, customer_key, reject)
        staged += len(cleaned)
        rejected += bad
        return cleaned

    with tempfile.TemporaryFile() as stage:
        check_rows(rows, clean, stage, progress)
        if dry_run or (rejected and not skip_invalid):
            return ImportSummary(None, staged, 0, 0, rejected, dry_run)
        batch_id, created = _write(actor, record, stage, source, progress)
    return ImportSummary(batch_id, created, 0, 0, rejected, False)
