"""Schema versions and upgrades (`db._upgrade`), on both backends."""

import peewee
import pytest
from playhouse.migrate import SchemaMigrator, migrate

from crmtui.store import customers, followups, imports, timeline
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.db import SCHEMA_VERSION, DatabaseOpenError, SchemaVersion, _upgrade
from crmtui.store.imports import SourceRow
from crmtui.store.types import Actor

V = SCHEMA_VERSION


def stamped() -> list[int]:
    return [row.version for row in SchemaVersion.select()]


def columns(table: str) -> set[str]:
    return {c.name for c in store_db.current_database().get_columns(table)}


def add_nickname(database: peewee.Database) -> None:
    """What a real migration looks like: a new column with a default, on a table with rows."""
    migrator = SchemaMigrator.from_database(database)
    migrate(
        migrator.add_column("customer", "nickname", peewee.CharField(max_length=50, default="pal"))
    )


@pytest.fixture
def filled(actor: Actor) -> int:
    """A customer with rows in the tables that depend on it."""
    customer = customers.add_customer(actor, {"name": "张伟", "tags": ["vip", "b2b"]})
    timeline.add_record(
        actor,
        timeline.PURCHASE,
        customer.id,
        {"date": "2025-01-01", "product": "p", "amount": "9.99"},
    )
    followups.add_followup(actor, customer.id, {"title": "call", "due_at": "2090-01-01"})
    return customer.id


def dependents(customer_id: int) -> list[int]:
    return [
        model.select().where(model.customer == customer_id).count()
        for model in (m.CustomerTag, m.Purchase, m.FollowUp)
    ]


def test_fresh_database_is_stamped_and_reopens_unchanged(db: str, actor: Actor) -> None:
    assert stamped() == [V]
    customers.add_customer(actor, {"name": "Alice"})
    store_db.close_database()
    store_db.open_database(db)
    assert stamped() == [V]
    assert _upgrade(store_db.current_database(), m.ALL_MODELS) == V  # nothing to do
    assert [c.name for c in customers.list_customers(actor).rows] == ["Alice"]


def test_newer_database_is_refused(db: str) -> None:
    SchemaVersion.update(version=V + 1).execute()
    store_db.close_database()
    with pytest.raises(DatabaseOpenError) as caught:
        store_db.open_database(db)
    assert str(caught.value) == (
        f"this database has schema version {V + 1}, newer than this crmtui understands ({V}); "
        "upgrade crmtui"
    )
    assert store_db.current_database().is_closed()


def test_upgrade_adds_a_column_and_keeps_the_data(db: str, actor: Actor, filled: int) -> None:
    database = store_db.current_database()
    found = _upgrade(database, m.ALL_MODELS, target=V + 1, migrations={V: add_nickname})
    assert found == V
    assert stamped() == [V + 1]
    assert "nickname" in columns("customer")
    rows = database.execute_sql("SELECT name, nickname FROM customer").fetchall()
    assert [tuple(r) for r in rows] == [("张伟", "pal")]
    assert customers.get_customer(actor, filled).tags == ("b2b", "vip")
    assert dependents(filled) == [2, 1, 1]
    if not store_db.is_postgres(database):
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    # The upgrade is committed: this crmtui (schema V) now refuses the upgraded database.
    store_db.close_database()
    with pytest.raises(DatabaseOpenError, match="newer than this crmtui understands"):
        store_db.open_database(db)


def test_upgrade_that_rebuilds_a_table_keeps_dependent_rows(
    db: str, actor: Actor, filled: int
) -> None:
    """SQLite changes a column's type by copying the table and dropping the old one; that drop
    must not cascade to the customer's tags, purchases and follow-ups."""

    def retype_notes(database: peewee.Database) -> None:
        migrator = SchemaMigrator.from_database(database)
        migrate(migrator.alter_column_type("customer", "notes", peewee.TextField(default="")))

    _upgrade(store_db.current_database(), m.ALL_MODELS, target=V + 1, migrations={V: retype_notes})
    assert stamped() == [V + 1]
    assert dependents(filled) == [2, 1, 1]
    assert customers.get_customer(actor, filled).name == "张伟"
    # The foreign keys still hold: deleting the customer still removes what depends on it.
    customers.delete_customer(actor, filled)
    assert dependents(filled) == [0, 0, 0]


def test_steps_run_in_order_and_a_gap_or_a_failure_changes_nothing(db: str) -> None:
    database = store_db.current_database()
    ran: list[int] = []

    def step(n: int) -> store_db.Migration:
        def run(database: peewee.Database) -> None:
            ran.append(n)
            migrator = SchemaMigrator.from_database(database)
            migrate(migrator.add_column("customer", f"extra{n}", peewee.IntegerField(null=True)))

        return run

    def broken(database: peewee.Database) -> None:
        step(V)(database)
        database.execute_sql("ALTER TABLE no_such_table ADD COLUMN x INTEGER")

    with pytest.raises(DatabaseOpenError, match=f"no upgrade path from schema version {V + 1}"):
        _upgrade(database, m.ALL_MODELS, target=V + 2, migrations={V: step(V)})
    assert ran == [V]  # the first step ran, and was undone with the rest
    assert (stamped(), f"extra{V}" in columns("customer")) == ([V], False)

    with pytest.raises(peewee.DatabaseError):
        _upgrade(database, m.ALL_MODELS, target=V + 1, migrations={V: broken})
    assert (stamped(), f"extra{V}" in columns("customer")) == ([V], False)

    ran.clear()
    found = _upgrade(
        database, m.ALL_MODELS, target=V + 2, migrations={V + 1: step(V + 1), V: step(V)}
    )
    assert (found, ran, stamped()) == (V, [V, V + 1], [V + 2])
    assert {f"extra{V}", f"extra{V + 1}"} <= columns("customer")


def test_upgrade_from_version_3_fills_in_each_phones_display_form(db: str, actor: Actor) -> None:
    """Schema 4 keeps each phone's international layout beside it; an upgraded database gets
    the columns, filled in for the phones it holds and blank where there is no phone."""
    customer = customers.add_customer(
        actor, {"name": "张伟", "phone": "138 1234 5678", "alt_phone": "020-8888 1234"}
    )
    bare = customers.add_customer(actor, {"name": "No phone"})
    timeline.add_record(
        actor, timeline.CONTACT, customer.id, {"name": "李娜", "phone": "+44 7400 123456"}
    )
    database = store_db.current_database()
    for table, phones in (("customer", ("phone", "alt_phone")), ("contact", ("phone",))):
        migrate(
            *(
                SchemaMigrator.from_database(database).drop_column(table, f"{phone}_display")
                for phone in phones
            )
        )
    SchemaVersion.update(version=3).execute()
    store_db.close_database()

    store_db.open_database(db)
    assert stamped() == [V]
    assert {"phone_display", "alt_phone_display"} <= columns("customer")
    shown = customers.get_customer(actor, customer.id)
    assert (shown.phone_display, shown.alt_phone_display) == (
        "+86 138 1234 5678",
        "+86 20 8888 1234",
    )
    assert customers.get_customer(actor, bare.id).phone_display == ""
    [contact] = timeline.list_records(actor, timeline.CONTACT, customer.id).rows
    assert contact.phone_display == "+44 7400 123456"
    # Saved phones get theirs as before.
    edited = customers.update_customer(actor, customer.id, {"phone": "13912345678"}, shown.version)
    assert edited.phone_display == "+86 139 1234 5678"


def test_upgrade_from_version_5_adds_the_sla_indexes(db: str) -> None:
    """Schema 6 finds a user's SLA breaches in two indexes; an upgraded database gets them,
    with the definitions a new one has (the partial one only over unresolved items)."""
    database = store_db.current_database()

    def sla_indexes() -> set[tuple[str, tuple[str, ...], str]]:
        return {
            (i.name, tuple(i.columns), " ".join(i.sql.lower().replace('"', "").split()))
            for table in ("customer", "service_item")
            for i in database.get_indexes(table)
            if i.name in ("customer_owner_id_id", m.OPEN_SERVICE_INDEX)
        }

    made = sla_indexes()
    assert {(name, columns) for name, columns, _sql in made} == {
        ("customer_owner_id_id", ("owner_id", "id")),
        (m.OPEN_SERVICE_INDEX, ("due_on", "customer_id", "id")),
    }
    assert any("where" in sql and "in_progress" in sql for _n, _c, sql in made)
    for name in ("customer_owner_id_id", m.OPEN_SERVICE_INDEX):
        database.execute_sql(f"DROP INDEX {name}")
    SchemaVersion.update(version=5).execute()
    store_db.close_database()

    database = store_db.open_database(db)
    assert stamped() == [V]
    assert sla_indexes() == made


def test_upgrade_from_version_6_adds_the_login_columns(db: str, actor: Actor) -> None:
    """Schema 7 keeps each user's failed logins, lock-out and two-step verification; an
    upgraded database gets the columns, its users with no failures, lock or two-step."""
    login_columns = {"failed_logins", "lock_level", "locked_until", "totp_secret", "totp_last_step"}
    database = store_db.current_database()
    owned = customers.add_customer(actor, {"name": "张伟", "owner": actor.name})
    migrate(
        *(
            SchemaMigrator.from_database(database).drop_column("user", column)
            for column in sorted(login_columns)
        )
    )
    assert not login_columns & columns("user")
    SchemaVersion.update(version=6).execute()
    store_db.close_database()

    store_db.open_database(db)
    assert stamped() == [V]
    assert login_columns <= columns("user")
    user = m.User.get_by_id(actor.id)
    assert (user.name, user.role, user.failed_logins, user.lock_level) == (
        actor.name,
        "admin",
        0,
        0,
    )
    assert (user.locked_until, user.totp_secret, user.totp_last_step) == (None, None, None)
    assert customers.get_customer(actor, owned.id).owner == actor.name
    # The new columns work as the models expect.
    m.User.update(
        failed_logins=m.User.failed_logins + 1, totp_last_step=2**40, locked_until=m.utcnow()
    ).where(m.User.id == actor.id).execute()
    assert m.User.get_by_id(actor.id).totp_last_step == 2**40


def test_upgrade_from_version_7_marks_every_batch_finished(db: str, actor: Actor) -> None:
    """Schema 8 marks an import's batch finished in its last write; a batch of an older
    database was written in one transaction, so it is finished, and still undoable."""
    summary = imports.import_customers(actor, [SourceRow(2, {"name": "张伟"})])
    assert summary.batch_id is not None
    database = store_db.current_database()
    migrate(SchemaMigrator.from_database(database).drop_column("import_batch", "finished_at"))
    SchemaVersion.update(version=7).execute()
    store_db.close_database()

    store_db.open_database(db)  # an unfinished batch would be taken back here
    assert stamped() == [V]
    batch = m.ImportBatch.get_by_id(summary.batch_id)
    assert batch.finished_at == batch.at
    assert m.Customer.select().count() == 1
    assert imports.undo_import(actor, summary.batch_id).removed == 1


def test_upgrade_from_version_8_adds_the_consent_record(db: str, actor: Actor) -> None:
    """Schema 9 keeps where consent was given and when it was withdrawn; a consent recorded
    before keeps its date, with no source known."""
    given = customers.add_customer(
        actor, {"name": "张伟", "marketing_consent": True, "consent_source": "官网表单"}
    )
    database = store_db.current_database()
    migrator = SchemaMigrator.from_database(database)
    migrate(
        migrator.drop_column("customer", "consent_source"),
        migrator.drop_column("customer", "consent_withdrawn_on"),
    )
    SchemaVersion.update(version=8).execute()
    store_db.close_database()

    store_db.open_database(db)
    assert stamped() == [V]
    upgraded = customers.get_customer(actor, given.id)
    assert (upgraded.marketing_consent, upgraded.consent_date) == (True, given.consent_date)
    assert (upgraded.consent_source, upgraded.consent_withdrawn_on) == ("", None)
    withdrawn = customers.update_customer(actor, given.id, {"marketing_consent": False}, None)
    assert withdrawn.consent_withdrawn_on is not None
