"""The values of a customer's records and history, as the store returns them.

Imported through `crmtui.store.types` like every other value, which makes them on first use
(see there).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Contact:
    id: int
    version: int
    customer_id: int
    name: str
    title: str
    phone: str
    phone_raw: str
    phone_display: str
    email: str
    email_raw: str
    primary: bool
    notes: str


@dataclass(frozen=True)
class Purchase:
    id: int
    version: int
    customer_id: int
    date: dt.date
    product: str
    category: str
    quantity: Decimal
    amount: Decimal
    currency: str
    status: str
    notes: str


@dataclass(frozen=True)
class Communication:
    id: int
    version: int
    customer_id: int
    at: dt.datetime
    channel: str
    user_id: int | None
    contact_id: int | None
    summary: str
    outcome: str


@dataclass(frozen=True)
class ServiceItem:
    id: int
    version: int
    customer_id: int
    kind: str
    title: str
    opened_on: dt.date
    due_on: dt.date | None
    resolved_on: dt.date | None
    status: str
    assignee_id: int | None
    notes: str


@dataclass(frozen=True)
class Feedback:
    id: int
    version: int
    customer_id: int
    date: dt.date
    channel: str
    score: int
    kind: str
    comment: str


@dataclass(frozen=True)
class FollowUp:
    id: int
    version: int
    customer_id: int
    title: str
    due_at: dt.datetime
    priority: str
    assignee_id: int | None
    status: str
    recurrence: str
    snoozed_until: dt.datetime | None
    done_at: dt.datetime | None
    outcome: str
    notes: str
    customer_name: str = ""
    assignee: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: dt.datetime
    user_name: str
    entity: str
    entity_id: int
    customer_id: int | None
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
