"""Peewee models for the whole product. Only `crmtui.store` may import this module.

Conventions kept here because they are expensive to change later:
- timestamps are naive datetimes in UTC (shown in local time by the interfaces);
- money and quantities are exact: stored as whole numbers of their smallest unit;
- every record a user edits carries a `version`, raised on each save, so a stale edit is refused.
"""

import datetime as dt
from decimal import Decimal

import peewee

from crmtui.store.dates import utcnow
from crmtui.store.db import database_proxy


class DateTimeField(peewee.DateTimeField):
    """A UTC timestamp, bound as ISO text so APSW and psycopg both accept it."""

    def db_value(self, value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat(sep=" ")


class DateField(peewee.DateField):
    def db_value(self, value: dt.date | None) -> str | None:
        return None if value is None else value.isoformat()


class FixedDecimalField(peewee.BigIntegerField):
    """An exact decimal with a fixed number of places, stored as a whole number.

    Both SQLite and PostgreSQL then sum it exactly; SQLite's NUMERIC would turn it into a float.
    """

    def __init__(self, places: int = 2, **kwargs: object) -> None:
        self.places = places
        super().__init__(**kwargs)

    def db_value(self, value: Decimal | None) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def python_value(self, value: int | None) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class User(BaseModel):
    name = peewee.CharField(max_length=64, unique=True)
    full_name = peewee.CharField(max_length=200, default="")
    role = peewee.CharField(max_length=16, default="sales")
    active = peewee.BooleanField(default=True)
    password_hash = peewee.TextField(null=True)  # argon2id, in its PHC string form
    created_at = DateTimeField(default=utcnow)
    version = peewee.IntegerField(default=1)
    # The lock-out (schema 7), kept here so that it holds across processes: failed logins
    # since the last success or lock, how many times the account was locked since it last
    # logged in (each lock lasts twice the one before), and until when the current lock holds.
    failed_logins = peewee.IntegerField(default=0)
    lock_level = peewee.IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    # Two-step verification (schema 7): the base32 TOTP secret, and the time step of the last
    # code accepted, so that no code is accepted twice.
    totp_secret = peewee.TextField(null=True)
    totp_last_step = peewee.BigIntegerField(null=True)


class VersionedModel(BaseModel):
    """A record users edit: it knows when it was made and changed, and its version."""

    version = peewee.IntegerField(default=1)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class CustomField(VersionedModel):
    """An optional customer field an admin defines without code changes."""

    key = peewee.CharField(max_length=64, unique=True)
    label = peewee.CharField(max_length=200)
    kind = peewee.CharField(max_length=16)
    choices = peewee.TextField(default="")  # one choice per line, for kind "choice"


class Customer(VersionedModel):
    name = peewee.CharField(max_length=200, index=True)
    company = peewee.CharField(max_length=200, default="", index=True)
    title = peewee.CharField(max_length=200, default="")
    phone = peewee.CharField(max_length=32, default="", index=True)  # E.164
    phone_raw = peewee.CharField(max_length=64, default="")
    # International layout, "+86 138 1234 5678": kept so that showing a phone needs no
    # phonenumbers (about 20 ms to import and format, a tenth of the table's start-up).
    phone_display = peewee.CharField(max_length=64, default="")
    alt_phone = peewee.CharField(max_length=32, default="", index=True)
    alt_phone_raw = peewee.CharField(max_length=64, default="")
    alt_phone_display = peewee.CharField(max_length=64, default="")
    email = peewee.CharField(max_length=254, default="", index=True)
    email_raw = peewee.CharField(max_length=254, default="")
    address = peewee.TextField(default="")
    city = peewee.CharField(max_length=100, default="")
    region = peewee.CharField(max_length=100, default="")
    country = peewee.CharField(max_length=2, default="")
    source = peewee.CharField(max_length=100, default="")
    utm_source = peewee.CharField(max_length=100, default="")
    utm_medium = peewee.CharField(max_length=100, default="")
    utm_campaign = peewee.CharField(max_length=100, default="")
    stage = peewee.CharField(max_length=16, default="new", index=True)
    owner = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", index=True)
    key_account = peewee.BooleanField(default=False, index=True)
    needs = peewee.TextField(default="")
    preferences = peewee.TextField(default="")
    preferred_channel = peewee.CharField(max_length=16, default="")
    notes = peewee.TextField(default="")
    marketing_consent = peewee.BooleanField(default=False)
    consent_date = DateField(null=True)
    consent_source = peewee.CharField(max_length=100, default="")  # where it was given
    consent_withdrawn_on = DateField(null=True)
    external_id = peewee.CharField(max_length=100, default="", index=True)
    custom = peewee.TextField(default="{}")  # JSON object: custom field key -> value
    last_contact_at = DateTimeField(null=True, index=True)

    class Meta:
        # The follow-up queue's quiet key accounts: one user's key accounts by last contact;
        # its SLA breaches: whether a customer is the user's, read in the index alone
        # (PostgreSQL's index on owner alone leads to the table; SQLite's holds the id).
        indexes = (
            (("owner", "key_account", "last_contact_at"), False),
            (("owner", "id"), False),
        )


class CustomerTag(BaseModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE", backref="tag_rows")
    tag = peewee.CharField(max_length=64, index=True)

    class Meta:
        indexes = ((("customer", "tag"), True),)


class Contact(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE", index=True)
    name = peewee.CharField(max_length=200)
    title = peewee.CharField(max_length=200, default="")
    phone = peewee.CharField(max_length=32, default="", index=True)
    phone_raw = peewee.CharField(max_length=64, default="")
    phone_display = peewee.CharField(max_length=64, default="")
    email = peewee.CharField(max_length=254, default="")
    email_raw = peewee.CharField(max_length=254, default="")
    primary = peewee.BooleanField(default=False)
    notes = peewee.TextField(default="")


class Purchase(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE")
    date = DateField()
    product = peewee.CharField(max_length=200)
    category = peewee.CharField(max_length=100, default="")
    quantity = FixedDecimalField(places=3, default=Decimal(1))
    amount = FixedDecimalField(places=2)
    currency = peewee.CharField(max_length=3, default="CNY")
    status = peewee.CharField(max_length=8, default="won")
    notes = peewee.TextField(default="")

    class Meta:
        indexes = ((("customer", "date"), False),)


class Communication(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE")
    at = DateTimeField()
    channel = peewee.CharField(max_length=16, default="call")
    user = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    contact = peewee.ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    summary = peewee.TextField()
    outcome = peewee.TextField(default="")

    class Meta:
        indexes = ((("customer", "at"), False),)


class ServiceItem(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE", index=True)
    kind = peewee.CharField(max_length=16, default="support")
    title = peewee.CharField(max_length=200)
    opened_on = DateField()
    due_on = DateField(null=True, index=True)
    resolved_on = DateField(null=True)
    status = peewee.CharField(max_length=16, default="open", index=True)
    assignee = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    notes = peewee.TextField(default="")

    class Meta:
        # The follow-up queue's SLA breaches: unresolved items by due date.
        indexes = ((("status", "due_on"), False),)


# The follow-up queue's SLA breaches of one user, found without reading the service items:
# the unresolved ones (a few thousand of many) by due date, with their customer and id.
OPEN_SERVICE = ("open", "in_progress")
OPEN_SERVICE_INDEX = "service_item_open_due_on_customer_id_id"
OPEN_SERVICE_WHERE = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_SERVICE))
ServiceItem.add_index(
    ServiceItem.due_on,
    ServiceItem.customer,
    ServiceItem.id,
    where=peewee.SQL(OPEN_SERVICE_WHERE),
    name=OPEN_SERVICE_INDEX,
)


class Feedback(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE", index=True)
    date = DateField()
    channel = peewee.CharField(max_length=16, default="other")
    score = peewee.SmallIntegerField()  # 5 非常满意 … 1 非常不满意
    kind = peewee.CharField(max_length=16, default="suggestion")
    comment = peewee.TextField(default="")


class FollowUp(VersionedModel):
    customer = peewee.ForeignKeyField(Customer, on_delete="CASCADE", index=True)
    title = peewee.CharField(max_length=200)
    due_at = DateTimeField()
    priority = peewee.CharField(max_length=8, default="normal")
    assignee = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL")
    status = peewee.CharField(max_length=16, default="open")
    recurrence = peewee.CharField(max_length=200, default="")  # weekly, monthly, … or RRULE
    snoozed_until = DateTimeField(null=True)  # waiting: hidden from the queue until then
    done_at = DateTimeField(null=True)
    outcome = peewee.TextField(default="")
    notes = peewee.TextField(default="")

    class Meta:
        indexes = ((("assignee", "status", "due_at"), False), (("status", "due_at"), False))


class History(BaseModel):
    """One change to one field of one record: who, when, old value, new value.

    Rows outlive the records they describe, so they hold plain ids, not foreign keys.
    """

    at = DateTimeField(default=utcnow)
    user_id = peewee.IntegerField(null=True)
    user_name = peewee.CharField(max_length=64)
    entity = peewee.CharField(max_length=32)
    entity_id = peewee.IntegerField()
    customer_id = peewee.IntegerField(null=True, index=True)
    action = peewee.CharField(max_length=16)  # create, update, delete, restore
    field = peewee.CharField(max_length=64, null=True)
    old_value = peewee.TextField(null=True)
    new_value = peewee.TextField(null=True)
    batch_id = peewee.IntegerField(null=True, index=True)  # the import that made the change

    class Meta:
        indexes = ((("entity", "entity_id"), False),)


class ImportBatch(BaseModel):
    """One import: who ran it on what, and what it did. Its changes are the history rows
    naming it, which is how `crmtui import undo` finds them."""

    at = DateTimeField(default=utcnow)
    user_id = peewee.IntegerField(null=True)
    user_name = peewee.CharField(max_length=64)
    kind = peewee.CharField(max_length=32)  # what was imported: "customers", …
    source = peewee.CharField(max_length=500, default="")  # the file, as the user named it
    created = peewee.IntegerField(default=0)
    updated = peewee.IntegerField(default=0)
    skipped = peewee.IntegerField(default=0)
    # Set in the batch's last write: one without it is being written, or was interrupted
    # (see `batches`).
    finished_at = DateTimeField(null=True)
    undone_at = DateTimeField(null=True)


# Refusing changes to written audit rows is the database's job, so that no code path of ours
# (nor a slip in one) can rewrite the record of what was done.
_AUDIT_TRIGGERS = {
    "sqlite": tuple(
        f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb} BEFORE {verb.upper()} ON audit_log "
        f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        for verb in ("update", "delete")
    ),
    "postgres": (
        "CREATE OR REPLACE FUNCTION crmtui_audit_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION crmtui_audit_append_only()",
    ),
}
AUDIT_HEAD_ID = 1  # the head's one row
AUDIT_GENESIS = "0" * 64  # the "previous hash" of the first row
# What `_AUDIT_TRIGGERS` makes on SQLite, by name (opening a database checks they are there).
AUDIT_SQLITE_OBJECTS = ("audit_log_no_update", "audit_log_no_delete")


class AuditEntry(BaseModel):
    """One act: who did what to which record, from where, and with what result.

    Rows are hash-chained (`crmtui.store.audit`): each row's hash covers its fields and the
    previous row's hash. They hold ids and field names, never the values or a person's name,
    so erasing a person (which rewrites history) never has to touch this append-only table.
    """

    seq = peewee.IntegerField(primary_key=True)  # 1, 2, 3, … with no gaps
    at = DateTimeField(index=True)
    user_id = peewee.IntegerField(null=True)
    user_name = peewee.CharField(max_length=64, index=True)
    origin = peewee.CharField(max_length=64)  # the SSH client's address, or "local"
    action = peewee.CharField(max_length=32)  # "customer.update", "export", "login", …
    target = peewee.CharField(max_length=64, default="")  # "customer:12", "batch:3", …
    customer_id = peewee.IntegerField(null=True, index=True)
    detail = peewee.TextField(default="")  # changed field names, an export's filter, …
    result = peewee.CharField(max_length=16, default="ok")
    prev_hash = peewee.CharField(max_length=64)
    hash = peewee.CharField(max_length=64)

    class Meta:
        table_name = "audit_log"

    @classmethod
    def create_table(cls, safe: bool = True, **options: object) -> None:
        super().create_table(safe=safe, **options)
        cls.complete_table()

    @classmethod
    def complete_table(cls) -> None:
        """Make the triggers that keep the table append-only, unless they are there."""
        db = cls._meta.database
        if not isinstance(db.obj, peewee.PostgresqlDatabase):
            statements = _AUDIT_TRIGGERS["sqlite"]
        elif db.execute_sql(
            # Replacing the trigger on every start would lock the table against writers.
            "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_append_only' "
            "AND tgrelid = 'audit_log'::regclass"
        ).fetchone():
            statements = ()
        else:
            statements = _AUDIT_TRIGGERS["postgres"]
        for statement in statements:
            db.execute_sql(statement)


class AuditHead(BaseModel):
    """The audit log's last row, kept apart from it: a log cut short no longer ends where its
    head says. Its one row is also what writers lock, one at a time, to extend the chain."""

    seq = peewee.IntegerField(default=0)
    hash = peewee.CharField(max_length=64)

    class Meta:
        table_name = "audit_head"

    @classmethod
    def create_table(cls, safe: bool = True, **options: object) -> None:
        super().create_table(safe=safe, **options)
        if not cls.select().exists():  # the chain starts from nothing
            cls.insert(id=AUDIT_HEAD_ID, seq=0, hash=AUDIT_GENESIS).on_conflict_ignore().execute()


class TableView(BaseModel):
    """How one user looks at a table: a saved view (a named filter, sort and set of hidden
    columns), or, under the empty name, the columns the user chose last, restored at start."""

    user = peewee.ForeignKeyField(User, on_delete="CASCADE")
    screen = peewee.CharField(max_length=32)  # which table: "customers"
    name = peewee.CharField(max_length=100)
    settings = peewee.TextField()  # JSON: {"query": {...}, "hidden": [...]}
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "screen", "name"), True),)


class SearchDoc(BaseModel):
    """One customer's text as search reads it, normalized; `crmtui.store.search` keeps it and
    the search indexes over it in step with the customer and its contacts."""

    # The row id of the search indexes: the name's first bytes, then the customer id, so the
    # indexes list matches in name order (see search.sort_key).
    sort_key = peewee.BigIntegerField(primary_key=True)
    customer = peewee.ForeignKeyField(Customer, unique=True, on_delete="CASCADE")
    name = peewee.CharField(max_length=200)  # as the customer row has it, to order by
    names = peewee.TextField()  # name, company, contact names: a line each
    text = peewee.TextField()  # e-mail address, notes: a line each
    phones = peewee.TextField()  # the customer's and its contacts' numbers, E.164

    @classmethod
    def create_table(cls, safe: bool = True, *, rebuild: bool = False, **options: object) -> None:
        """Create the table with the search indexes kept over it.

        Not on a database that already holds customers (one made before search), unless
        rebuilding: an index made empty there would miss them all, where without one search
        asks for `crmtui reindex`.
        """
        from crmtui.store import search  # search imports this module

        if rebuild or cls.table_exists() or not Customer.select().exists():
            super().create_table(safe=safe, **options)
            search.create_index(gin=not rebuild)

    @classmethod
    def complete_table(cls) -> None:
        """The search indexes a bulk load left for later (PostgreSQL's GIN), if missing."""
        from crmtui.store import search  # search imports this module

        search.create_index()


ALL_MODELS: list[type[peewee.Model]] = [
    User,
    CustomField,
    Customer,
    CustomerTag,
    Contact,
    Purchase,
    Communication,
    ServiceItem,
    Feedback,
    FollowUp,
    History,
    ImportBatch,
    AuditEntry,
    AuditHead,
    TableView,
    SearchDoc,
]
