"""Version history (SPEC F7): every change with who, when, field, old -> new; and restoring a
field's old value, itself recorded as a change."""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import peewee

from crmtui.i18n import _
from crmtui.store import customers, followups, records, scope, timeline
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store.db import write_transaction
from crmtui.store.errors import NotFoundError, StoreError
from crmtui.store.permissions import HISTORY_READ, authorize
from crmtui.store.types import Actor, HistoryEntry, Page


def _entry(row: m.History) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        at=row.at,
        user_name=row.user_name,
        entity=row.entity,
        entity_id=row.entity_id,
        customer_id=row.customer_id,
        action=row.action,
        field=row.field,
        old_value=row.old_value,
        new_value=row.new_value,
    )


def _about_customer(customer_id: int) -> peewee.ModelSelect:
    return m.History.select().where(m.History.customer_id == customer_id)


def _newest_first(select: peewee.ModelSelect) -> peewee.ModelSelect:
    return select.order_by(m.History.at.desc(), m.History.id.desc())


def customer_changes(
    actor: Actor, customer_id: int, *, limit: int | None = None
) -> list[HistoryEntry]:
    """Changes to a customer and to every record about it, newest first.

    A deleted customer's history stays readable: it is how one learns who deleted it.
    """
    authorize(actor, HISTORY_READ)
    scope.check_customer(actor, customer_id)
    query = _newest_first(_about_customer(customer_id))
    if limit is not None:
        query = query.limit(limit)
    return [_entry(row) for row in query]


def list_customer_changes(
    actor: Actor, customer_id: int, *, offset: int = 0, limit: int | None = 100
) -> Page:
    """One page of `customer_changes`, with how many there are in all."""
    authorize(actor, HISTORY_READ)
    scope.check_customer(actor, customer_id)
    query = _newest_first(_about_customer(customer_id)).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = tuple(_entry(row) for row in query)
    return Page(rows, offset, _about_customer(customer_id).count())


# An update service: (actor, record id, changes, expected version, action) -> the saved view.
Updater = Callable[[Actor, int, Mapping[str, object], int | None, str], Any]


@dataclass(frozen=True)
class _Target:
    """A kind of record whose fields can be restored, and the service that saves it."""

    entity: records.Entity[Any]
    fields: Mapping[str, f.FieldSpec]
    update: Updater


def _update_customer(
    actor: Actor, record_id: int, changes: Mapping[str, object], version: int | None, action: str
) -> Any:
    return customers.update_customer(actor, record_id, changes, version, action=action)


def _update_followup(
    actor: Actor, record_id: int, changes: Mapping[str, object], version: int | None, action: str
) -> Any:
    return followups.update_followup(actor, record_id, changes, version, action=action)


def _timeline_updater(kind: timeline.Kind) -> Updater:
    def update(
        actor: Actor,
        record_id: int,
        changes: Mapping[str, object],
        version: int | None,
        action: str,
    ) -> Any:
        return timeline.update_record(actor, kind, record_id, changes, version, action=action)

    return update


def _targets() -> dict[str, _Target]:
    targets = {
        customers.ENTITY.name: _Target(customers.ENTITY, customers.FIELDS, _update_customer),
        followups.ENTITY.name: _Target(followups.ENTITY, followups.FIELDS, _update_followup),
    }
    for kind in timeline.KINDS.values():
        targets[kind.entity.name] = _Target(kind.entity, kind.fields, _timeline_updater(kind))
    return targets


def _restoring_change(target: _Target, field: str, old: str | None) -> dict[str, object]:
    """The change that puts the history text `old` back into `field`, as the services take it.

    History keeps values as text: users by id, moments in UTC. Those are turned back into an
    id and a datetime, since as text they would read as a user's name and a local time.
    """
    if target.entity is customers.ENTITY and field == "tags":
        return {"tags": [old or ""]}
    if target.entity is customers.ENTITY and field.startswith("custom."):
        return {"custom": {field.removeprefix("custom."): old or ""}}
    spec = target.fields.get(field)
    if spec is None:
        raise StoreError(
            _("the {field} of a {entity} is not kept by hand, so it cannot be restored").format(
                field=field, entity=target.entity.name
            )
        )
    if old is None or old == "":
        return {field: ""}
    if spec.kind == "user":
        return {field: int(old)}
    if spec.kind == "moment":
        return {field: dt.datetime.fromisoformat(old)}
    return {field: old}


def restore_change(actor: Actor, history_id: int) -> list[HistoryEntry]:
    """Put back the old value of the field change `history_id` records.

    The record is saved through its own service, so the value is checked as if typed, the
    version rises and history gains rows with action "restore" (returned). A creation or a
    deletion, a record deleted since, or a field that already holds the old value is refused
    with a StoreError, and nothing is written.
    """
    authorize(actor, HISTORY_READ)
    with write_transaction():
        row = m.History.get_or_none(m.History.id == history_id)
        if row is None:
            raise NotFoundError(_("history entry"), history_id)
        if row.action in ("create", "delete") or not row.field:
            raise StoreError(
                _(
                    "history entry {id} records a {action} of a whole record; only a field's "
                    "old value can be restored"
                ).format(id=history_id, action=row.action)
            )
        target = _targets().get(row.entity)
        if target is None:
            raise StoreError(
                _("changes to a {entity} cannot be restored").format(entity=row.entity)
            )
        change = _restoring_change(target, row.field, row.old_value)
        try:
            current = records.get_row(target.entity, row.entity_id, lock=True)
        except NotFoundError:
            raise StoreError(
                _("{entity} {id} has been deleted, so its {field} cannot be restored").format(
                    entity=row.entity, id=row.entity_id, field=row.field
                )
            ) from None
        newest = m.History.select(peewee.fn.MAX(m.History.id)).scalar() or 0
        target.update(actor, row.entity_id, change, current.version, "restore")
        # The record is locked, so history rows written for it since `newest` are ours.
        written = [
            _entry(r)
            for r in m.History.select()
            .where(
                (m.History.id > newest)
                & (m.History.entity == row.entity)
                & (m.History.entity_id == row.entity_id)
            )
            .order_by(m.History.id)
        ]
        if not written:
            # Raising rolls back an update of raw text alone (a phone's typed layout), which
            # the version check would otherwise count as a change nobody sees in history.
            raise StoreError(
                _("{entity} {id} already has this {field}; nothing to restore").format(
                    entity=row.entity, id=row.entity_id, field=row.field
                )
            )
    return written
