"""The write path every record shares: version check, save, and history in one transaction.

Services clean their input first (outside any lock), then call these helpers inside
`write_transaction()`. An update names the version the user saw; if the row has moved on,
`ConflictError` is raised and nothing is written, so an edit is never silently overwritten.
"""

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import peewee

from crmtui.store import audit
from crmtui.store import models as m
from crmtui.store.db import is_postgres
from crmtui.store.errors import ConflictError, NotFoundError
from crmtui.store.types import Actor

V = TypeVar("V")

# Bookkeeping columns; "custom" is a JSON object whose keys the customer service records
# one by one.
_NOT_HISTORY = frozenset({"id", "version", "created_at", "updated_at", "custom"})


@dataclass(frozen=True)
class Entity(Generic[V]):
    """How one kind of record is named, shown and owned."""

    name: str  # used in history rows and messages: "customer", "purchase", …
    model: type[m.VersionedModel]
    to_view: Callable[[Any], V]

    def customer_id_of(self, row: m.VersionedModel) -> int | None:
        if self.model is m.Customer:
            return row.id
        return row.__data__.get("customer")


def history_text(value: object) -> str | None:
    """How a value is written into a history row."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | Decimal):
        return str(value)
    return str(value)


def tracked(column: str) -> bool:
    """Whether changes of a column are kept in history (raw inputs and display forms ride
    with their value)."""
    return column not in _NOT_HISTORY and not column.endswith(("_raw", "_display"))


def as_typed(
    row: peewee.Model, columns: Mapping[str, object], column: str, change: tuple[object, object]
) -> tuple[object, object]:
    """A change as history keeps it: a phone's or an e-mail's as the text typed (its `_raw`
    column) when there is one, which restoring it cleans back into the same number or address
    with its raw text (an extension is kept only there) and display form."""
    if f"{column}_raw" not in row._meta.fields:
        return change
    return typed_value(row.__data__, column), typed_value(columns, column)


def typed_value(columns: Mapping[str, object], column: str) -> object:
    """A column's value as typed: its `_raw` column when it has one and it is filled."""
    return columns.get(f"{column}_raw") or columns.get(column)


def column_defaults(entity: Entity[V], names: Iterable[str]) -> dict[str, object]:
    """The model's fixed default of each named column that has one (other than blank): what a
    new record holds for a field the user leaves alone, so a form can show it before saving."""
    fields = entity.model._meta.fields
    return {
        name: fields[name].default
        for name in names
        if name in fields
        and fields[name].default not in (None, "")
        and not callable(fields[name].default)
    }


def get_row(entity: Entity[V], record_id: int, *, lock: bool = False) -> Any:
    query = entity.model.select().where(entity.model.id == record_id)
    if lock and is_postgres():
        query = query.for_update()
    row = query.first()
    if row is None:
        raise NotFoundError(entity.name, record_id)
    return row


def record_history(
    actor: Actor,
    entity: Entity[V],
    entity_id: int,
    customer_id: int | None,
    action: str,
    changes: Mapping[str, tuple[object, object]] | None = None,
    *,
    snapshot: str | None = None,
    batch: int | None = None,
    audited: bool = True,
) -> None:
    """Write history rows: one per changed field, or one for the action (with an optional
    snapshot of the record as its old value) when no fields changed. `batch` names the import
    making the change."""
    base = {
        "at": m.utcnow(),
        "user_id": actor.id,
        "user_name": actor.name,
        "entity": entity.name,
        "entity_id": entity_id,
        "customer_id": customer_id,
        "action": action,
        "batch_id": batch,
    }
    if not changes:
        m.History.create(**base, old_value=snapshot)
    else:
        m.History.insert_many(
            [
                {
                    **base,
                    "field": column,
                    "old_value": history_text(old),
                    "new_value": history_text(new),
                }
                for column, (old, new) in changes.items()
            ]
        ).execute()
    # After the history rows: on PostgreSQL every writer takes its tables' locks in the order
    # of the models (history before the audit log), as opening the database does, or an open
    # and a save could deadlock.
    if audited and batch is None:  # an import is one act, recorded once by the import
        audit.record(
            actor,
            f"{entity.name}.{action}",
            target=f"{entity.name}:{entity_id}",
            customer_id=customer_id,
            detail=audit.describe_changes(changes),
        )


def insert(actor: Actor, entity: Entity[V], columns: Mapping[str, object]) -> Any:
    row = entity.model.create(**columns)
    record_history(actor, entity, row.id, entity.customer_id_of(row), "create")
    return row


def check_version(entity: Entity[V], row: m.VersionedModel, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise ConflictError(entity.name, row.id, expected, row.version)


def changed_columns(row: m.VersionedModel, columns: Mapping[str, object]) -> dict[str, tuple]:
    """The columns whose new value differs from the row's: column -> (old, new)."""
    return {
        column: (row.__data__.get(column), value)
        for column, value in columns.items()
        if row.__data__.get(column) != value
    }


def update(
    actor: Actor,
    entity: Entity[V],
    record_id: int,
    columns: Mapping[str, object],
    expected_version: int | None,
    *,
    action: str = "update",
    always: bool = False,
    batch: int | None = None,
) -> tuple[Any, dict[str, tuple]]:
    """Apply `columns` to the record if it is still at `expected_version` (None: any).

    Returns the saved row and the changes made; with no change nothing is written, unless
    `always`: the caller changed something kept outside the row (a customer's tags), which
    must raise the version all the same.
    """
    row = get_row(entity, record_id, lock=True)
    check_version(entity, row, expected_version)
    changes = changed_columns(row, columns)
    if not changes and not always:
        return row, {}
    model = entity.model
    assignments: dict[peewee.Field, object] = {
        model._meta.fields[column]: value for column, value in columns.items()
    }
    assignments[model.version] = model.version + 1
    assignments[model.updated_at] = m.utcnow()
    saved = (
        model.update(assignments)
        .where((model.id == record_id) & (model.version == row.version))
        .execute()
    )
    if saved != 1:  # another writer got in between the read and the write
        raise ConflictError(entity.name, record_id, row.version, get_row(entity, record_id).version)
    history = {c: as_typed(row, columns, c, change) for c, change in changes.items() if tracked(c)}
    if history:
        customer_id = entity.customer_id_of(row)
        record_history(actor, entity, record_id, customer_id, action, history, batch=batch)
    return get_row(entity, record_id), changes


def delete(
    actor: Actor,
    entity: Entity[V],
    record_id: int,
    expected_version: int | None,
    *,
    audited: bool = True,
) -> None:
    """Delete the record; its history keeps one row holding what it was. `audited=False`:
    part of a larger act that its caller records in the audit log once (an import's undo)."""
    row = get_row(entity, record_id, lock=True)
    check_version(entity, row, expected_version)
    snapshot = {
        column: history_text(value)
        for column, value in row.__data__.items()
        if column != "version" and value not in (None, "")
    }
    record_history(
        actor,
        entity,
        record_id,
        entity.customer_id_of(row),
        "delete",
        snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
        audited=audited,
    )
    entity.model.delete().where(entity.model.id == record_id).execute()
