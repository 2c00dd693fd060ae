"""The plain, frozen values the store returns. Screens and commands never see Peewee rows."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Actor:
    """The user a store call acts for."""

    id: int
    name: str
    role: str


@dataclass(frozen=True)
class User:
    id: int
    version: int
    name: str
    full_name: str
    role: str
    active: bool


@dataclass(frozen=True)
class CustomFieldDef:
    id: int
    version: int
    key: str
    label: str
    kind: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Customer:
    id: int
    version: int
    name: str
    company: str = ""
    title: str = ""
    phone: str = ""  # E.164
    phone_raw: str = ""  # as typed
    phone_display: str = ""  # international layout
    alt_phone: str = ""
    alt_phone_raw: str = ""
    alt_phone_display: str = ""
    email: str = ""
    email_raw: str = ""
    address: str = ""
    city: str = ""
    region: str = ""
    country: str = ""
    source: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    stage: str = "new"
    owner_id: int | None = None
    owner: str = ""
    key_account: bool = False
    needs: str = ""
    preferences: str = ""
    preferred_channel: str = ""
    notes: str = ""
    marketing_consent: bool = False
    consent_date: dt.date | None = None
    external_id: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    last_contact_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


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


@dataclass(frozen=True)
class CustomerQuery:
    """What the customer table and `customer list` filter and sort by."""

    search: str = ""
    stage: str | None = None
    tag: str | None = None
    owner: str | None = None
    key_account: bool | None = None
    sort: str = "name"
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """One window of a long list: the rows, and how many there are in all."""

    rows: tuple[Any, ...]
    offset: int
    total: int
