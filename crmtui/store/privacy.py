"""A person's rights over their data (SPEC F9): everything held about one customer, and
erasing the person while the business's figures stay whole.

Erasing keeps the customer row and its purchases (dates, products, amounts), so totals and
reports do not change, and blanks everything that names or reaches the person: the name
(replaced by a pseudonym), company, phones, e-mail, address, notes, custom values, contacts
(deleted), the text of communications, service items, feedback and follow-ups, and the old
and new values in its history. On SQLite the bytes go too: deletes and rewrites run with
`secure_delete` (freed space is zeroed), the search index drops the old document's terms
(FTS5's secure-delete), and the write-ahead log is checkpointed and truncated. PostgreSQL
keeps old row versions in its files until `VACUUM` reuses them; `erase` runs `VACUUM` on
the tables it changed, which frees them for reuse but does not overwrite them.
"""

import datetime as dt
from typing import Any

from crmtui.i18n import _
from crmtui.store import audit, customers, records, search
from crmtui.store import models as m
from crmtui.store.db import current_database, is_postgres, write_transaction
from crmtui.store.errors import StoreError
from crmtui.store.permissions import PRIVACY_ADMIN, authorize
from crmtui.store.types import Actor

# The tables holding a customer's records, each with the columns of free text about the person.
_RECORD_TEXT: dict[type[m.BaseModel], tuple[str, ...]] = {
    m.Purchase: ("notes",),
    m.Communication: ("summary", "outcome"),
    m.ServiceItem: ("title", "notes"),
    m.Feedback: ("comment",),
    m.FollowUp: ("title", "notes"),
}
# A customer's columns that name or reach the person, and what they become.
_PERSONAL = {
    "company": "",
    "title": "",
    "phone": "",
    "phone_raw": "",
    "phone_display": "",
    "alt_phone": "",
    "alt_phone_raw": "",
    "alt_phone_display": "",
    "email": "",
    "email_raw": "",
    "address": "",
    "needs": "",
    "preferences": "",
    "notes": "",
    "external_id": "",
    "custom": "{}",
    "marketing_consent": False,
    "consent_date": None,
    "consent_source": "",
    "consent_withdrawn_on": None,
}


def pseudonym(customer_id: int) -> str:
    return _("erased customer {id}").format(id=customer_id)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value) if not isinstance(value, str | int | float | bool | None) else value


def _rows(select: Any) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row.items()} for row in select.dicts()]


def export_person(actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything held about the customer: its row, tags, contacts, every record, its
    history and the audit log's rows about it (which hold no personal data)."""
    authorize(actor, PRIVACY_ADMIN)
    customer = records.get_row(customers.ENTITY, customer_id)  # NotFoundError if none
    held: dict[str, Any] = {
        "customer": _rows(m.Customer.select().where(m.Customer.id == customer.id))[0]
    }
    held["tags"] = [
        t.tag for t in m.CustomerTag.select().where(m.CustomerTag.customer == customer_id)
    ]
    held["contacts"] = _rows(m.Contact.select().where(m.Contact.customer == customer_id))
    for model in _RECORD_TEXT:
        held[model._meta.table_name] = _rows(model.select().where(model.customer == customer_id))
    held["history"] = _rows(m.History.select().where(m.History.customer_id == customer_id))
    held["audit_log"] = _rows(m.AuditEntry.select().where(m.AuditEntry.customer_id == customer_id))
    audit.record(actor, "privacy.export", target=f"customer:{customer_id}", customer_id=customer_id)
    return held


def erase_person(actor: Actor, customer_id: int) -> dict[str, int]:
    """Anonymize the customer everywhere (see the module); return how many rows changed per
    table. The audit row it leaves names the customer by id only."""
    authorize(actor, PRIVACY_ADMIN)
    db = current_database()
    sqlite = not is_postgres(db)
    if sqlite:
        db.execute_sql("PRAGMA secure_delete = ON")  # this connection; freed pages zeroed
    changed: dict[str, int] = {}
    try:
        with write_transaction():
            records.get_row(customers.ENTITY, customer_id)  # NotFoundError if none
            if sqlite:
                search.secure_delete()
            changed["customer"] = (
                m.Customer.update(
                    name=pseudonym(customer_id),
                    version=m.Customer.version + 1,
                    updated_at=m.utcnow(),
                    **_PERSONAL,
                )
                .where(m.Customer.id == customer_id)
                .execute()
            )
            changed["customer_tag"] = (
                m.CustomerTag.delete().where(m.CustomerTag.customer == customer_id).execute()
            )
            changed["contact"] = (
                m.Contact.delete().where(m.Contact.customer == customer_id).execute()
            )
            for model, columns in _RECORD_TEXT.items():
                blanks = {column: "" for column in columns}
                changed[model._meta.table_name] = (
                    model.update(**blanks).where(model.customer == customer_id).execute()
                )
            changed["history"] = (
                m.History.update(old_value=None, new_value=None)
                .where(m.History.customer_id == customer_id)
                .execute()
            )
            search.index_customer(customer_id)
            audit.record(
                actor, "privacy.erase", target=f"customer:{customer_id}", customer_id=customer_id
            )
    finally:
        if sqlite:
            db.execute_sql("PRAGMA secure_delete = OFF")
    _let_go_of_old_bytes(db, sqlite)
    return changed


def _let_go_of_old_bytes(db: Any, sqlite: bool) -> None:
    if sqlite:
        # The log holds the pages as they were before; back into the file, then emptied.
        busy, _log, _done = db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreError(
                _(
                    "the customer was erased, but another process is reading the database, so "
                    "its old pages are still in the write-ahead log: run `crmtui privacy "
                    "erase` again when the others are done"
                )
            )
        return
    for model in (m.Customer, m.Contact, m.History, m.SearchDoc, *_RECORD_TEXT):
        db.execute_sql(f'VACUUM "{model._meta.table_name}"')
