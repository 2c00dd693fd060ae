"""Which customers an acting user sees, and how (SPEC F8), applied by the services that read
and change customers, so the TUI, every command, import and export obey alike.

- sales sees and changes only the customers it owns, and their records; a customer it may not
  see is, to it, a customer that does not exist (no id probing);
- marketing sees every customer with phones and e-mail addresses masked (138****5678) unless
  the customer consented to marketing;
- everyone else sees all.
"""

import dataclasses

import peewee

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store.errors import NotFoundError
from crmtui.store.permissions import CUSTOMER_READ, CUSTOMER_WRITE, refuse
from crmtui.store.types import Actor, Customer, CustomerQuery

_OWN_ONLY = frozenset({"sales"})
_MASKED = frozenset({"marketing"})
# A customer's fields that reach a person: what marketing sees masked.
CONTACT_FIELDS = ("phone", "phone_raw", "phone_display", "alt_phone", "alt_phone_raw")
CONTACT_FIELDS += ("alt_phone_display", "email", "email_raw")


def own_only(actor: Actor) -> bool:
    return actor.role in _OWN_ONLY


def visible_query(actor: Actor, query: CustomerQuery) -> CustomerQuery:
    """`query` narrowed to what `actor` may see: for sales, its own customers."""
    if not own_only(actor):
        return query
    if query.owner and query.owner != actor.name:
        raise refuse(
            actor, CUSTOMER_READ, _("see other users' customers"), detail="owner=another user"
        )
    return dataclasses.replace(query, owner=actor.name)


def seen_by(actor: Actor, customers: peewee.ModelSelect) -> peewee.ModelSelect:
    """A select of customers narrowed to those `actor` sees: for sales, its own."""
    return customers.where(m.Customer.owner == actor.id) if own_only(actor) else customers


def check_owner(actor: Actor, customer_id: int, owner_id: int | None) -> None:
    """Refuse (as not found) a customer owned by `owner_id` that `actor` may not see."""
    if own_only(actor) and owner_id != actor.id:
        raise NotFoundError("customer", customer_id)


def check_customer(actor: Actor, customer_id: int) -> None:
    """Refuse (as not found) a customer `actor` may not see, or that does not exist."""
    if not own_only(actor):
        return
    owner = m.Customer.select(m.Customer.owner).where(m.Customer.id == customer_id).tuples()
    found = owner.first()
    check_owner(actor, customer_id, None if found is None else found[0])


def check_new_owner(actor: Actor, owner_id: int | None) -> None:
    """Sales hands a customer to another user only through a manager."""
    if own_only(actor) and owner_id != actor.id:
        raise refuse(actor, CUSTOMER_WRITE, _("give a customer to another user"), detail="owner")


def mask_phone(number: str) -> str:
    """`13812345678` → `138****5678`, `+86 138 1234 5678` → `+86 138 **** 5678`: the four
    digits before the last four hidden (the middle ones of a short number), the layout kept."""
    digits = [i for i, char in enumerate(number) if char.isdigit()]
    if len(digits) <= 7:
        return "*" * len(number) if number else ""
    hidden = set(digits[-8:-4]) if len(digits) >= 11 else set(digits[3:-4])
    return "".join("*" if i in hidden else char for i, char in enumerate(number))


def mask_email(address: str) -> str:
    """`zhang.wei@example.com` → `z***@example.com`."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if address else ""


def shown(actor: Actor, customer: Customer) -> Customer:
    """The customer as `actor` may see it: for marketing, contact details masked unless it
    consented to marketing."""
    if actor.role not in _MASKED or customer.marketing_consent:
        return customer
    masked = {name: mask(name, getattr(customer, name)) for name in CONTACT_FIELDS}
    return dataclasses.replace(customer, **masked)


def mask(field: str, value: object) -> str:
    """One of CONTACT_FIELDS' values masked: an e-mail address or a phone number."""
    text = str(value or "")
    return mask_email(text) if field.startswith("email") else mask_phone(text)


def masks_contacts(actor: Actor) -> bool:
    return actor.role in _MASKED
