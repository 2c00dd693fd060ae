"""The kinds of record the customer detail screen lists and edits, each described once: its
tab, its list columns, its fields, and the store services that read and write it.

Timeline kinds and follow-ups have slightly different services; here they get one shape, so
the detail screen and the record form treat every kind alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crmtui.formatting import local_time, money
from crmtui.i18n import _
from crmtui.labels import choice_label
from crmtui.store import followups, timeline
from crmtui.store.fields import FieldSpec
from crmtui.store.permissions import FOLLOWUP_READ, HISTORY_READ
from crmtui.store.types import Actor, Page
from crmtui.widgets.record_list import Column


@dataclass(frozen=True)
class RecordType:
    key: str  # the tab's id
    title: str  # the tab's label
    noun: str  # one record, as sentences name it
    fields: Mapping[str, FieldSpec]
    columns: tuple[Column, ...]
    page: Callable[[Actor, int, int, int], Page]  # (actor, customer id, offset, limit)
    get: Callable[[Actor, int], Any]
    add: Callable[[Actor, int, Mapping[str, object]], Any]  # (actor, customer id, values)
    update: Callable[[Actor, int, Mapping[str, object], int | None], Any]
    delete: Callable[[Actor, int, int | None], None]
    new_values: Callable[[Actor], dict[str, object]]
    describe: Callable[[Any], str]  # a record in a few words, for a confirmation
    reads: str = HISTORY_READ  # the permission `page` needs, asked before a tab reads ahead


def _day(value: Any) -> str:
    return value.isoformat() if value else ""


def _timeline(
    kind: timeline.Kind,
    key: str,
    title: str,
    noun: str,
    columns: tuple[Column, ...],
    describe: Callable[[Any], str],
) -> RecordType:
    return RecordType(
        key,
        title,
        noun,
        kind.fields,
        columns,
        page=lambda actor, customer_id, offset, limit: timeline.list_records(
            actor, kind, customer_id, offset=offset, limit=limit
        ),
        get=lambda actor, record_id: timeline.get_record(actor, kind, record_id),
        add=lambda actor, customer_id, values: timeline.add_record(
            actor, kind, customer_id, values
        ),
        update=lambda actor, record_id, values, version: timeline.update_record(
            actor, kind, record_id, values, version
        ),
        delete=lambda actor, record_id, version: timeline.delete_record(
            actor, kind, record_id, version
        ),
        new_values=lambda actor: timeline.new_record_values(actor, kind),
        describe=describe,
    )


def record_types(user_names: Mapping[int, str]) -> tuple[RecordType, ...]:
    """Every kind, in tab order; `user_names` names the users records refer to by id."""

    def user(user_id: int | None) -> str:
        return user_names.get(user_id, "") if user_id else ""

    return (
        _timeline(
            timeline.CONTACT,
            "contacts",
            _("Contacts"),
            _("contact"),
            (
                Column(_("Name"), lambda c: ("★ " if c.primary else "") + c.name, weight=3),
                Column(_("Title"), lambda c: c.title, weight=2),
                Column(_("Phone"), lambda c: c.phone_display, width=17),
                Column(_("Email"), lambda c: c.email, weight=3),
            ),
            lambda c: c.name,
        ),
        _timeline(
            timeline.PURCHASE,
            "purchases",
            _("Purchases"),
            _("purchase"),
            (
                Column(_("Date"), lambda p: _day(p.date), width=10),
                Column(_("Product"), lambda p: p.product, weight=3),
                Column(_("Qty"), lambda p: format(p.quantity.normalize(), "f"), width=6),
                Column(_("Amount"), lambda p: money(p.amount, p.currency), width=18),
                Column(_("Status"), lambda p: choice_label(p.status), width=6),
            ),
            lambda p: f"{p.product}, {_day(p.date)}, {money(p.amount, p.currency)}",
        ),
        _timeline(
            timeline.COMMUNICATION,
            "communications",
            _("Comms"),
            _("communication"),
            (
                Column(_("When"), lambda c: local_time(c.at), width=16),
                Column(_("Channel"), lambda c: choice_label(c.channel), width=8),
                Column(_("By"), lambda c: user(c.user_id), weight=1),
                Column(_("Summary"), lambda c: c.summary, weight=4),
                Column(_("Outcome"), lambda c: c.outcome, weight=2),
            ),
            lambda c: f"{choice_label(c.channel)}, {local_time(c.at)}: {c.summary}",
        ),
        _timeline(
            timeline.SERVICE,
            "service",
            _("Service"),
            _("service item"),
            (
                Column(_("Opened"), lambda s: _day(s.opened_on), width=10),
                Column(_("Kind"), lambda s: choice_label(s.kind), width=11),
                Column(_("Title"), lambda s: s.title, weight=3),
                Column(_("Due"), lambda s: _day(s.due_on), width=10),
                Column(_("Status"), lambda s: choice_label(s.status), width=11),
            ),
            lambda s: s.title,
        ),
        _timeline(
            timeline.FEEDBACK,
            "feedback",
            _("Feedback"),
            _("feedback"),
            (
                Column(_("Date"), lambda f: _day(f.date), width=10),
                Column(_("Score"), lambda f: "★" * f.score + "☆" * (5 - f.score), width=5),
                Column(_("Kind"), lambda f: choice_label(f.kind), width=10),
                Column(_("Channel"), lambda f: choice_label(f.channel), width=8),
                Column(_("Comment"), lambda f: f.comment, weight=1),
            ),
            lambda f: f"{_day(f.date)}, {f.score}/5",
        ),
        RecordType(
            "followups",
            _("Follow-ups"),
            _("follow-up"),
            followups.FIELDS,
            (
                Column(_("Due"), lambda f: local_time(f.due_at), width=16),
                Column(_("Title"), lambda f: f.title, weight=3),
                Column(_("Priority"), lambda f: choice_label(f.priority), width=8),
                Column(_("Assignee"), lambda f: f.assignee, weight=1),
                Column(_("Repeats"), lambda f: f.recurrence, width=9),
            ),
            # Open follow-ups, soonest due first: what is still to do for the customer.
            page=lambda actor, customer_id, offset, limit: followups.list_followups(
                actor, customer_id=customer_id, offset=offset, limit=limit
            ),
            get=followups.get_followup,
            add=followups.add_followup,
            update=followups.update_followup,
            delete=followups.delete_followup,
            new_values=followups.new_followup_values,
            describe=lambda f: f"{f.title}, {local_time(f.due_at)}",
            reads=FOLLOWUP_READ,
        ),
    )
