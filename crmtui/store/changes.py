"""Version history (SPEC F7): every change with who, when, field, old -> new."""

from crmtui.store import models as m
from crmtui.store.permissions import HISTORY_READ, authorize
from crmtui.store.types import Actor, HistoryEntry


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


def customer_changes(
    actor: Actor, customer_id: int, *, limit: int | None = None
) -> list[HistoryEntry]:
    """Changes to a customer and to every record about it, newest first.

    A deleted customer's history stays readable: it is how one learns who deleted it.
    """
    authorize(actor, HISTORY_READ)
    query = (
        m.History.select()
        .where(m.History.customer_id == customer_id)
        .order_by(m.History.at.desc(), m.History.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [_entry(row) for row in query]
