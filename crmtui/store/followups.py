"""Follow-ups (SPEC F3): promises to a customer with a due time, assignee and priority."""

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from crmtui.i18n import _
from crmtui.store import customers, queue, records, scope, timeline, vocabulary
from crmtui.store import fields as f
from crmtui.store import models as m
from crmtui.store.dates import parse_datetime
from crmtui.store.db import write_transaction
from crmtui.store.errors import NotFoundError, StoreError, ValidationError
from crmtui.store.permissions import FOLLOWUP_READ, FOLLOWUP_WRITE, authorize
from crmtui.store.types import Actor, FollowUp, Page
from crmtui.store.users import user_names
from crmtui.store.validation import clean_datetime

_SIMPLE_RULES = {
    "daily": (DAILY, 1),
    "weekly": (WEEKLY, 1),
    "monthly": (MONTHLY, 1),
    "quarterly": (MONTHLY, 3),
    "yearly": (YEARLY, 1),
}


def _recurrence_rule(rule: str, start: dt.datetime) -> rrule:
    if rule in _SIMPLE_RULES:
        freq, interval = _SIMPLE_RULES[rule]
        if freq in (MONTHLY, YEARLY) and start.day > 28:
            # "Every month" from the 31st falls on the last day of a shorter month, as `+1m`
            # does; a plain rule would skip every month without that day (January to March).
            return rrule(
                freq,
                interval=interval,
                dtstart=start,
                bymonth=start.month if freq == YEARLY else None,
                bymonthday=tuple(range(28, start.day + 1)),
                bysetpos=-1,
            )
        return rrule(freq, interval=interval, dtstart=start)
    return rrulestr(rule, dtstart=start)  # type: ignore[return-value]


def _clean_recurrence(value: object) -> dict[str, object]:
    text = str(value or "").strip()
    rule = text.lower() if text.lower() in _SIMPLE_RULES else text
    if rule and rule not in _SIMPLE_RULES:
        try:
            _recurrence_rule(rule, dt.datetime(2000, 1, 1))
        except (ValueError, TypeError):
            raise ValueError(
                _("{rule!r} is not daily, weekly, monthly, quarterly, yearly or an RRULE").format(
                    rule=text
                )
            ) from None
    return {"recurrence": rule}


FIELDS: dict[str, f.FieldSpec] = {
    "title": f.text("title", required=True),
    "due_at": f.moment("due_at", required=True),
    "priority": f.choice("priority", vocabulary.PRIORITIES),
    "assignee": f.user("assignee"),
    "recurrence": f.FieldSpec(_clean_recurrence),
    "notes": f.text("notes", 4000, multiline=True),
}


_plain_view = timeline.plain_view(FollowUp)

_OUTCOME = {"outcome": f.text("outcome", 4000, required=True, multiline=True)}


def _view(row: m.FollowUp, customer_name: str = "", assignee: str = "") -> FollowUp:
    return dataclasses.replace(_plain_view(row), customer_name=customer_name, assignee=assignee)


ENTITY = records.Entity("follow-up", m.FollowUp, _view)


def _views(rows: list[m.FollowUp]) -> list[FollowUp]:
    customer_ids = {row.__data__["customer"] for row in rows}
    names = (
        dict(
            m.Customer.select(m.Customer.id, m.Customer.name)
            .where(m.Customer.id.in_(list(customer_ids)))
            .tuples()
        )
        if customer_ids
        else {}
    )
    assignees = user_names({row.__data__["assignee"] for row in rows if row.__data__["assignee"]})
    return [
        _view(
            row,
            names.get(row.__data__["customer"], ""),
            assignees.get(row.__data__["assignee"], ""),
        )
        for row in rows
    ]


def new_followup_values(actor: Actor) -> dict[str, object]:
    """The values a new follow-up starts with (the actor assigned), for a form to show:
    refused to a role that could not save it."""
    authorize(actor, FOLLOWUP_WRITE)
    return {**records.column_defaults(ENTITY, FIELDS), "assignee": actor.id}


def add_followup(actor: Actor, customer_id: int, values: Mapping[str, object]) -> FollowUp:
    """Promise something to a customer; the actor is the assignee unless one is named."""
    authorize(actor, FOLLOWUP_WRITE)
    columns = f.clean_fields(FIELDS, {"assignee": actor.id, **values}, partial=False)
    with write_transaction():
        owner = records.get_row(customers.ENTITY, customer_id).owner_id
        scope.check_owner(actor, customer_id, owner)
        row = records.insert(actor, ENTITY, {**columns, "customer": customer_id})
    return get_followup(actor, row.id)


def _seen_row(actor: Actor, followup_id: int, *, lock: bool = False) -> m.FollowUp:
    """The follow-up, unless it is about a customer `actor` may not see (then: not found)."""
    row = records.get_row(ENTITY, followup_id, lock=lock)
    if scope.own_only(actor):
        try:
            scope.check_customer(actor, row.customer_id)
        except NotFoundError:
            raise NotFoundError(ENTITY.name, followup_id) from None
    return row


def get_followup(actor: Actor, followup_id: int) -> FollowUp:
    authorize(actor, FOLLOWUP_READ)
    return _views([_seen_row(actor, followup_id)])[0]


def update_followup(
    actor: Actor,
    followup_id: int,
    changes: Mapping[str, object],
    expected_version: int | None,
    *,
    action: str = "update",
) -> FollowUp:
    authorize(actor, FOLLOWUP_WRITE)
    columns = f.clean_fields(FIELDS, changes, partial=True)
    with write_transaction():
        _seen_row(actor, followup_id, lock=True)
        row, _changes = records.update(
            actor, ENTITY, followup_id, columns, expected_version, action=action
        )
    return _views([row])[0]  # the row as saved: `records.update` read it back


def delete_followup(actor: Actor, followup_id: int, expected_version: int | None = None) -> None:
    """Delete a follow-up; its history keeps one row holding what it was."""
    authorize(actor, FOLLOWUP_WRITE)
    with write_transaction():
        _seen_row(actor, followup_id)
        records.delete(actor, ENTITY, followup_id, expected_version)


def list_followups(
    actor: Actor,
    *,
    assignee: str | None = None,
    everyone: bool = False,
    customer_id: int | None = None,
    status: str = "open",
    overdue: bool = False,
    offset: int = 0,
    limit: int | None = 100,
) -> Page:
    """Follow-ups by due time: the actor's own unless `assignee` or `everyone` says otherwise."""
    authorize(actor, FOLLOWUP_READ)
    select = m.FollowUp.select().where(m.FollowUp.status == status)
    if scope.own_only(actor):
        own = m.Customer.select(m.Customer.id).where(m.Customer.owner == actor.id)
        select = select.where(m.FollowUp.customer.in_(own))
    if customer_id is not None:
        scope.check_customer(actor, customer_id)
        select = select.where(m.FollowUp.customer == customer_id)
    elif not everyone:
        if assignee:
            owner = m.User.get_or_none(m.User.name == assignee)
            if owner is None:
                raise ValidationError.single(
                    "user", _("no user named {name!r}").format(name=assignee)
                )
            select = select.where(m.FollowUp.assignee == owner.id)
        else:
            select = select.where(m.FollowUp.assignee == actor.id)
    if overdue:
        select = select.where(m.FollowUp.due_at < m.utcnow())
    page = select.order_by(m.FollowUp.due_at, m.FollowUp.id).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    rows = _views(list(page))
    return Page(tuple(rows), offset, select.count())


def complete_followup(
    actor: Actor, followup_id: int, outcome: str, expected_version: int | None = None
) -> tuple[FollowUp, FollowUp | None]:
    """Mark done, log the outcome as a communication, and schedule the next occurrence.

    Returns the completed follow-up and the next one (None unless it recurs).
    """
    authorize(actor, FOLLOWUP_WRITE)
    outcome_text = f.clean_fields(_OUTCOME, {"outcome": outcome}, partial=False)["outcome"]
    with write_transaction():
        row = _seen_row(actor, followup_id, lock=True)
        if row.status != "open":
            raise StoreError(
                _("follow-up {id} is {status}, not open").format(id=followup_id, status=row.status)
            )
        now = m.utcnow()
        done, _changes = records.update(
            actor,
            ENTITY,
            followup_id,
            {"status": "done", "done_at": now, "outcome": outcome_text},
            expected_version if expected_version is not None else row.version,
        )
        timeline.add_record(
            actor,
            timeline.COMMUNICATION,
            row.__data__["customer"],
            {"at": now, "channel": "other", "summary": row.title, "outcome": outcome_text},
        )
        following = _schedule_next(actor, row, now)
    return _views([done])[0], (get_followup(actor, following) if following else None)


def _schedule_next(actor: Actor, row: m.FollowUp, now: dt.datetime) -> int | None:
    if not row.recurrence:
        return None
    rule = _recurrence_rule(row.recurrence, row.due_at)
    next_due = rule.after(max(row.due_at, now))
    if next_due is None:
        return None
    fields = ("title", "priority", "assignee", "recurrence", "notes", "customer")
    columns: dict[str, Any] = {name: row.__data__[name] for name in fields}
    return records.insert(actor, ENTITY, {**columns, "due_at": next_due}).id


def _local_now() -> dt.datetime:
    """The store's clock in the user's zone, so relative text (`+1d`, `mon`) counts from
    the same moment the store compares against (tests pin `models.utcnow`)."""
    from dateutil.tz import tzlocal  # here, not at the top: start-up time

    return m.utcnow().replace(tzinfo=dt.UTC).astimezone(tzlocal())


def _moment(name: str, value: object) -> dt.datetime:
    try:
        return clean_datetime(value, now=_local_now())
    except ValueError as exc:
        raise ValidationError.single(name, str(exc)) from None


def _update_open(
    actor: Actor, followup_id: int, columns: dict[str, object], expected_version: int | None
) -> FollowUp:
    """Apply cleaned `columns` to a follow-up that is still open (versioned, with history)."""
    with write_transaction():
        row = _seen_row(actor, followup_id, lock=True)
        if row.status != "open":
            raise StoreError(
                _("follow-up {id} is {status}, not open").format(id=followup_id, status=row.status)
            )
        saved, _changes = records.update(actor, ENTITY, followup_id, columns, expected_version)
    return _views([saved])[0]  # the row as saved: `records.update` read it back


def snooze_followup(
    actor: Actor, followup_id: int, until: object, expected_version: int | None = None
) -> FollowUp:
    """Move an open follow-up's due time to `until`, which must be in the future (text like
    `+1d`, `mon`, `2025-03-05`, read in local time, or a datetime: naive means UTC)."""
    authorize(actor, FOLLOWUP_WRITE)
    due = _moment("until", until)
    if due <= m.utcnow():
        raise ValidationError.single("until", _("is not in the future"))
    return _update_open(actor, followup_id, {"due_at": due}, expected_version)


def reschedule_followup(
    actor: Actor, followup_id: int, when: object, expected_version: int | None = None
) -> FollowUp:
    """Set an open follow-up's due time to `when`, any date: unlike snooze, today (an hour
    already gone included) or a past date is allowed, to put right when it was really due."""
    authorize(actor, FOLLOWUP_WRITE)
    return _update_open(actor, followup_id, {"due_at": _moment("when", when)}, expected_version)


def wait_followup(
    actor: Actor, followup_id: int, until: object, expected_version: int | None = None
) -> FollowUp:
    """Hide an open follow-up from the queue until `until` (it reappears then), keeping its
    due time: "waiting for the customer's answer". `until` must be in the future; None or
    "" stops the waiting. Stored in `snoozed_until`."""
    authorize(actor, FOLLOWUP_WRITE)
    hidden: dt.datetime | None = None
    if until is not None and str(until).strip() != "":
        hidden = _moment("until", until)
        if hidden <= m.utcnow():
            raise ValidationError.single("until", _("is not in the future"))
    return _update_open(actor, followup_id, {"snoozed_until": hidden}, expected_version)


# Reassigning and changing the priority need nothing of their own: `update_followup(actor,
# id, {"assignee": "lina"}, version)` refuses an unknown or disabled user ("assignee: no
# active user named 'ghost'"), `{"priority": "high"}` a priority not in PRIORITIES; both are
# versioned and kept in history like any edit.

# Snooze choices: (label, what the same choice typed reads as). All are at 09:00 local time,
# the time a typed date without one gets, so a snoozed item is waiting at the start of the
# working day.
_SNOOZE_CHOICES = (
    (_("+1 day"), "+1d"),
    (_("+3 days"), "+3d"),
    (_("+1 week"), "+1w"),
    (_("next Monday"), "next monday"),  # from a Monday, the Monday a week on
    (_("end of month"), "end of month"),
)


def snooze_choices(now: dt.datetime | None = None) -> list[tuple[str, dt.datetime]]:
    """The ready-made snooze targets, as (label, naive UTC datetime), for `now` (naive UTC,
    default the store's clock): +1 day, +3 days, +1 week, next Monday, end of month, each at
    09:00 local. On the last day of a month after 09:00, "end of month" is the end of the
    next month, so every choice is in the future."""
    from dateutil.relativedelta import relativedelta
    from dateutil.tz import tzlocal  # here, not at the top: start-up time

    now = now or m.utcnow()
    local = now.replace(tzinfo=dt.UTC).astimezone(tzlocal())
    choices = []
    for label, text in _SNOOZE_CHOICES:
        moment = parse_datetime(text, now=local)
        if moment <= now:  # only "end of month", on the month's last day
            last_day = local.date() + relativedelta(months=1, day=31)
            moment = parse_datetime(last_day.isoformat(), now=local)
        choices.append((label, moment))
    return choices


def count_overdue(actor: Actor) -> int:
    """The acting user's overdue items: the same number as the overdue section of their
    queue (follow-ups not waiting, quiet key accounts and SLA breaches of their customers)."""
    return queue.count_overdue(actor)
