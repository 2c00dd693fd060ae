"""The plain, frozen values the store returns. Screens and commands never see Peewee rows.

The values of a customer's records and history (`Contact` … `HistoryEntry`) are defined in
`record_types` and imported from here like the others, but only made when first asked for:
the first screen shows none of them, and each frozen dataclass costs about a millisecond to
make (its methods are compiled from generated source), on the way to the first paint.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmtui.store.record_types import (
        Communication,
        Contact,
        Feedback,
        FollowUp,
        HistoryEntry,
        Purchase,
        ServiceItem,
    )

__all__ = [
    "Actor",
    "Communication",
    "Contact",
    "CustomFieldDef",
    "Customer",
    "CustomerQuery",
    "Feedback",
    "FollowUp",
    "HistoryEntry",
    "Page",
    "Purchase",
    "ServiceItem",
    "TwoStepSetup",
    "User",
]
_RECORD_TYPES = frozenset(
    {"Communication", "Contact", "Feedback", "FollowUp", "HistoryEntry", "Purchase", "ServiceItem"}
)


def __getattr__(name: str) -> Any:
    """`Contact` … `HistoryEntry`, from `record_types` when first asked for (see above)."""
    if name in _RECORD_TYPES:
        from crmtui.store import record_types

        return getattr(record_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    # How the user logs in; never the password's hash or the two-step secret.
    has_password: bool = False
    two_step: bool = False
    failed_logins: int = 0
    locked_until: dt.datetime | None = None  # UTC, while the account is locked


@dataclass(frozen=True)
class TwoStepSetup:
    """A new TOTP secret for a user's authenticator app, not yet turned on."""

    user: str
    secret: str  # base32, for typing into the app
    uri: str  # otpauth://, for a QR code


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
    consent_source: str = ""
    consent_withdrawn_on: dt.date | None = None
    external_id: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    last_contact_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


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
