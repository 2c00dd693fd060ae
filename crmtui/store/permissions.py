"""Who may do what. Every store service names the permission it needs; unknown means no.

Ownership rules (sales sees only its own customers, marketing sees masked contacts) are
applied on top of these by the services that read customers.

Every refusal is an audit row (result "refused", the action the permission tried), written
by `refuse`: at once when no transaction is open, else after the transaction the refusal
rolls back (`db.write_transaction` writes it), so that the row is not rolled back with it.
Code that only asks whether to offer something calls `allowed` (or `denial`, for the
message), which records nothing.
"""

import contextlib

from crmtui.i18n import _
from crmtui.store.errors import DatabaseFailure, PermissionDeniedError, StoreError
from crmtui.store.types import Actor

CUSTOMER_READ = "customer.read"
CUSTOMER_WRITE = "customer.write"
HISTORY_READ = "history.read"
HISTORY_WRITE = "history.write"
FOLLOWUP_READ = "followup.read"
FOLLOWUP_WRITE = "followup.write"
FIELD_READ = "field.read"
FIELD_ADMIN = "field.admin"
USER_READ = "user.read"
USER_ADMIN = "user.admin"
ACCOUNT_SELF = "account.self"
DEMO_LOAD = "demo.load"
DATABASE_CHECK = "database.check"
SEARCH_REBUILD = "search.rebuild"
VIEW_KEEP = "view.keep"
DATABASE_BACKUP = "database.backup"
DATABASE_RESTORE = "database.restore"
AUDIT_READ = "audit.read"
PRIVACY_ADMIN = "privacy.admin"

# VIEW_KEEP goes with every role that reads customers: a user's own table views change no data.
# ACCOUNT_SELF (one's own password and two-step verification) goes with every role.
_READS = frozenset(
    {CUSTOMER_READ, HISTORY_READ, FOLLOWUP_READ, FIELD_READ, USER_READ, VIEW_KEEP, ACCOUNT_SELF}
)
_WRITES = frozenset({CUSTOMER_WRITE, HISTORY_WRITE, FOLLOWUP_WRITE})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # A backup holds every customer, unmasked, and a restore replaces all data: admins only.
    # So are users: whoever manages them can make themselves anything.
    "admin": _READS
    | _WRITES
    | {
        FIELD_ADMIN,
        DEMO_LOAD,
        DATABASE_CHECK,
        SEARCH_REBUILD,
        DATABASE_BACKUP,
        DATABASE_RESTORE,
        AUDIT_READ,
        PRIVACY_ADMIN,
        USER_ADMIN,
    },
    "manager": _READS | _WRITES | {DATABASE_CHECK},
    "sales": _READS | _WRITES,
    "marketing": frozenset({CUSTOMER_READ, FIELD_READ, USER_READ, VIEW_KEEP, ACCOUNT_SELF}),
    "readonly": _READS,
}

_DESCRIPTIONS = {
    CUSTOMER_READ: _("read customers"),
    CUSTOMER_WRITE: _("change customers"),
    HISTORY_READ: _("read customer history"),
    HISTORY_WRITE: _("change customer history"),
    FOLLOWUP_READ: _("read follow-ups"),
    FOLLOWUP_WRITE: _("change follow-ups"),
    FIELD_READ: _("read custom fields"),
    FIELD_ADMIN: _("define custom fields"),
    USER_READ: _("list users"),
    USER_ADMIN: _("manage users"),
    ACCOUNT_SELF: _("change their own password or two-step verification"),
    DEMO_LOAD: _("load demo data"),
    VIEW_KEEP: _("keep table views"),
    DATABASE_CHECK: _("check the database"),
    SEARCH_REBUILD: _("rebuild the search index"),
    DATABASE_BACKUP: _("back up the database"),
    DATABASE_RESTORE: _("restore the database from a backup"),
    AUDIT_READ: _("read the audit log"),
    PRIVACY_ADMIN: _("export or erase everything about a person"),
}


def allowed(actor: Actor, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(actor.role, frozenset())


def authorize(actor: Actor, permission: str) -> None:
    """Refuse unless the actor's role grants `permission` (deny by default)."""
    if not allowed(actor, permission):
        raise refuse(actor, permission, _DESCRIPTIONS.get(permission, permission))


def denial(actor: Actor, permission: str) -> PermissionDeniedError | None:
    """The refusal `authorize` would raise, not recorded; None when allowed. For a screen
    that reads ahead of what the user asked (each tab's list as a customer opens): that
    reading is not the user's attempt, and recording it would add rows at every opening."""
    if allowed(actor, permission):
        return None
    return PermissionDeniedError(actor.name, _DESCRIPTIONS.get(permission, permission))


def refuse(actor: Actor, act: str, description: str, detail: str = "") -> PermissionDeniedError:
    """The error refusing `actor` the `act` (a permission's name), described for the user;
    recorded in the audit log with `detail` (what else was tried, never a value)."""
    from crmtui.store import audit  # audit builds on this module
    from crmtui.store import db as store_db

    error = PermissionDeniedError(actor.name, description)

    def write() -> None:
        # A refusal that cannot be recorded (the database failing, read-only) is still
        # refused: the user is told the refusal, not a second failure that hides it.
        with contextlib.suppress(StoreError, DatabaseFailure):
            audit.record(actor, act[:32], detail=detail, result="refused")

    database = store_db.database_proxy.obj
    if database is None:
        return error  # no database to record in (nothing was read or written either)
    if database.in_transaction():
        error.after_rollback = write
    else:
        write()
    return error
