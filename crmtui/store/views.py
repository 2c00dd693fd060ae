"""Table views: each user's saved views (a named filter, sort and hidden columns) and the
columns they chose last, kept in the database so they follow the user to any terminal.

Views are the user's own: nobody reads or deletes another user's views. They describe how to
look at customers and change none, so every role that reads customers may keep them.
"""

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

import peewee

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store import vocabulary
from crmtui.store.customers import SORTABLE
from crmtui.store.db import write_transaction
from crmtui.store.errors import NotFoundError, ValidationError
from crmtui.store.permissions import VIEW_KEEP, authorize
from crmtui.store.types import Actor, CustomerQuery
from crmtui.store.validation import clean_text

CUSTOMERS = "customers"  # the customer table, the only table with views so far
MAX_NAME_LENGTH = 100
_LAST_COLUMNS = ""  # the name under which the columns chosen last are kept


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    query: CustomerQuery
    hidden: tuple[str, ...]  # keys of the hidden columns


def _clean_hidden(hidden: Iterable[str]) -> tuple[str, ...]:
    """Column keys, as given by the table; kept in order, without repeats or blanks."""
    return tuple(dict.fromkeys(str(key).strip() for key in hidden if str(key).strip()))


def _clean_query(query: CustomerQuery) -> CustomerQuery:
    if query.sort not in SORTABLE:
        raise ValidationError.single("sort", _("cannot sort by {key!r}").format(key=query.sort))
    if query.stage is not None and query.stage not in vocabulary.STAGES:
        raise ValidationError.single("stage", _("no stage {stage!r}").format(stage=query.stage))
    return query


def _query_from(data: object) -> CustomerQuery:
    """A query read back from JSON; keys this version does not know are dropped, so a view
    saved by a newer crmtui still opens."""
    known = {f.name for f in fields(CustomerQuery)}
    values = {k: v for k, v in data.items() if k in known} if isinstance(data, dict) else {}
    query = CustomerQuery(**values)
    return query if query.sort in SORTABLE else CustomerQuery(**{**values, "sort": "name"})


def _view(row: m.TableView) -> SavedView:
    settings = json.loads(row.settings)
    return SavedView(
        id=row.id,
        name=row.name,
        query=_query_from(settings.get("query")),
        hidden=_clean_hidden(settings.get("hidden", ())),
    )


def _own(actor: Actor, screen: str) -> peewee.Expression:
    return (m.TableView.user == actor.id) & (m.TableView.screen == screen)


def _save(
    actor: Actor, screen: str, name: str, query: CustomerQuery, hidden: tuple[str, ...]
) -> int:
    settings = json.dumps(
        {"query": asdict(query), "hidden": list(hidden)}, ensure_ascii=False, sort_keys=True
    )
    with write_transaction():
        row = m.TableView.get_or_none(_own(actor, screen) & (m.TableView.name == name))
        if row is None:
            return m.TableView.create(user=actor.id, screen=screen, name=name, settings=settings).id
        m.TableView.update(settings=settings, updated_at=m.utcnow()).where(
            m.TableView.id == row.id
        ).execute()
        return row.id


def hidden_columns(actor: Actor, screen: str = CUSTOMERS) -> tuple[str, ...] | None:
    """The columns the user hid last on `screen`; None if they never chose."""
    authorize(actor, VIEW_KEEP)
    row = m.TableView.get_or_none(_own(actor, screen) & (m.TableView.name == _LAST_COLUMNS))
    return None if row is None else _view(row).hidden


def set_hidden_columns(
    actor: Actor, hidden: Iterable[str], screen: str = CUSTOMERS
) -> tuple[str, ...]:
    """Remember the columns the user hides on `screen`, for the next start."""
    authorize(actor, VIEW_KEEP)
    cleaned = _clean_hidden(hidden)
    _save(actor, screen, _LAST_COLUMNS, CustomerQuery(), cleaned)
    return cleaned


def list_views(actor: Actor, screen: str = CUSTOMERS) -> list[SavedView]:
    """The user's saved views of `screen`, by name."""
    authorize(actor, VIEW_KEEP)
    rows = (
        m.TableView.select()
        .where(_own(actor, screen) & (m.TableView.name != _LAST_COLUMNS))
        .order_by(m.TableView.name)
    )
    return [_view(row) for row in rows]


def save_view(
    actor: Actor,
    name: str,
    query: CustomerQuery,
    hidden: Iterable[str],
    screen: str = CUSTOMERS,
) -> SavedView:
    """Save a view under `name`, replacing the user's view of that name if there is one."""
    authorize(actor, VIEW_KEEP)
    try:
        cleaned_name = clean_text(name, max_length=MAX_NAME_LENGTH, required=True)
    except ValueError as exc:
        raise ValidationError.single("name", str(exc)) from None
    cleaned_query, cleaned_hidden = _clean_query(query), _clean_hidden(hidden)
    view_id = _save(actor, screen, cleaned_name, cleaned_query, cleaned_hidden)
    return SavedView(view_id, cleaned_name, cleaned_query, cleaned_hidden)


def delete_view(actor: Actor, view_id: int) -> None:
    """Delete one of the user's saved views."""
    authorize(actor, VIEW_KEEP)
    with write_transaction():
        deleted = (
            m.TableView.delete()
            .where(
                (m.TableView.id == view_id)
                & (m.TableView.user == actor.id)
                & (m.TableView.name != _LAST_COLUMNS)
            )
            .execute()
        )
    if not deleted:
        raise NotFoundError("view", view_id)
