"""Customers that may be the one being entered: the same name, phone number or e-mail address.

Names need not be unique (two people called 王伟 are common), so a match is a warning for the
person entering, never a refusal (SPEC F1). Each check reads one index.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import peewee

from crmtui.store import models as m
from crmtui.store.customers import FIELDS
from crmtui.store.errors import ValidationError
from crmtui.store.permissions import CUSTOMER_READ, authorize
from crmtui.store.types import Actor

# What is compared, as the store cleans it: the name as one-line text, phones in E.164 and
# e-mail addresses normalized, so `138 1234 5678` matches a stored `+8613812345678`.
COMPARED = ("name", "phone", "alt_phone", "email")
LIMIT = 5


@dataclass(frozen=True)
class PossibleDuplicate:
    id: int
    name: str
    company: str
    same: tuple[str, ...]  # what it shares with the values: "name", "phone", "email"


def _cleaned(values: Mapping[str, object]) -> dict[str, str]:
    """The compared values as stored; a value the store would refuse is not compared (saving
    reports it)."""
    cleaned: dict[str, str] = {}
    for name in COMPARED:
        if name not in values:
            continue
        try:
            value = FIELDS[name].clean(values[name])[name]
        except (ValueError, ValidationError):
            continue
        if value:
            cleaned[name] = str(value)
    return cleaned


def possible_duplicates(
    actor: Actor, values: Mapping[str, object], *, exclude: int | None = None
) -> list[PossibleDuplicate]:
    """Saved customers (not `exclude`) sharing a name, phone or e-mail address with `values`
    (user-facing field values, as for `customers.add_customer`); at most LIMIT, lowest id
    first."""
    authorize(actor, CUSTOMER_READ)
    cleaned = _cleaned(values)
    c = m.Customer
    phones = {cleaned[name] for name in ("phone", "alt_phone") if name in cleaned}
    checks: list[tuple[str, peewee.Expression]] = []
    if "name" in cleaned:
        checks.append(("name", c.name == cleaned["name"]))
    if phones:
        checks.append(("phone", c.phone.in_(phones) | c.alt_phone.in_(phones)))
    if "email" in cleaned:
        checks.append(("email", c.email == cleaned["email"]))
    found: dict[int, tuple[str, str, list[str]]] = {}
    for what, condition in checks:
        query = c.select(c.id, c.name, c.company).where(condition)
        if exclude is not None:
            query = query.where(c.id != exclude)
        for row in query.order_by(c.id).limit(LIMIT):
            found.setdefault(row.id, (row.name, row.company, []))[2].append(what)
    return [
        PossibleDuplicate(cid, name, company, tuple(same))
        for cid, (name, company, same) in sorted(found.items())[:LIMIT]
    ]
