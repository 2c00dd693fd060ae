"""Opening databases: SQLite settings and file permissions, and refusing what is not a crmtui
database with a readable DatabaseOpenError rather than a traceback."""

import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import apsw
import peewee
import psycopg
import pytest

from crmtui.store import db as store_db
from crmtui.store.db import DatabaseOpenError

from ..conftest import PG_URL


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """No umask, so permissions the store leaves to chance would show as world-readable."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def pragma(name: str) -> object:
    return store_db.current_database().execute_sql(f"PRAGMA {name}").fetchone()[0]


def test_new_sqlite_file_is_private_and_safely_configured(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "new-folder" / "crm.db"
    store_db.open_database(str(path))
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    store_db.current_database().execute_sql("CREATE TEMP TABLE t (x)")  # the WAL exists now
    wal = Path(f"{path}-wal")
    if wal.exists():
        assert mode(wal) == 0o600
    for reopened in (False, True):  # the settings hold on every connection, old file or new
        if reopened:
            store_db.close_database()
            store_db.open_database(str(path))
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL: a save the user saw survives a power cut
        assert pragma("foreign_keys") == 1


def test_sqlite_library_has_the_wal_reset_fix(tmp_path: Path) -> None:
    store_db.open_database(str(tmp_path / "crm.db"))
    in_use = store_db.current_database().execute_sql("SELECT sqlite_version()").fetchone()[0]
    assert in_use == apsw.sqlite_lib_version()
    assert tuple(int(p) for p in in_use.split(".")[:3]) >= (3, 51, 3)


def test_write_transactions_take_the_write_lock_up_front(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    other = apsw.Connection(str(path))  # no busy timeout: a taken lock fails at once
    try:
        with store_db.write_transaction(), pytest.raises(apsw.BusyError):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def _hold_write_lock(path: Path, seconds: float) -> tuple[threading.Thread, list[float]]:
    """Another connection holding the write lock for `seconds`, from a thread; the list gets
    the moment it is about to let go."""
    taken = threading.Event()
    released: list[float] = []

    def hold() -> None:
        other = apsw.Connection(str(path))
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        released.append(time.monotonic())
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    return thread, released


def test_a_waiting_writer_takes_the_lock_soon_after_it_is_free(tmp_path: Path) -> None:
    """SQLite's own busy timeout sleeps up to 100 ms between tries; crmtui's waiter polls, so
    it gets in during the short pauses between an import's write turns."""
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    holder, released = _hold_write_lock(path, 1.0)
    with store_db.write_transaction():
        got = time.monotonic()
    holder.join()
    # Well under SQLite's 100 ms sleeps, with room for a loaded machine.
    assert 0 <= got - released[0] < 0.06


def test_a_writer_gives_up_when_the_lock_stays_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    holder, _released = _hold_write_lock(path, 1.0)
    started = time.monotonic()
    with pytest.raises(peewee.OperationalError, match="locked"), store_db.write_transaction():
        pass
    assert 0.2 <= time.monotonic() - started < 0.9
    holder.join()


def test_an_up_to_date_sqlite_database_opens_without_the_write_lock(tmp_path: Path) -> None:
    """Reopening a current database writes nothing: it opens while someone else writes."""
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    store_db.close_database()
    other = apsw.Connection(str(path))
    try:
        other.execute("BEGIN IMMEDIATE")
        store_db.open_database(str(path))  # with the lock needed: BusyError after 10 s
        assert [row.version for row in store_db.SchemaVersion.select()] == [store_db.SCHEMA_VERSION]
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_missing_index_is_made_again_on_opening(tmp_path: Path) -> None:
    """Only a database with every table and index of the models skips making them."""
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    store_db.current_database().execute_sql("DROP INDEX customer_company")
    store_db.close_database()
    database = store_db.open_database(str(path))
    assert "customer_company" in {index.name for index in database.get_indexes("customer")}


def refused(target: str, *words: str) -> DatabaseOpenError:
    with pytest.raises(DatabaseOpenError) as caught:
        store_db.open_database(target)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    # The half-opened database is not left connected behind the error.
    assert store_db.current_database().is_closed()
    return caught.value


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.db"
    path.write_bytes(os.urandom(8192))
    refused(str(path), str(path), "is not a usable crmtui database", "file is not a database")


def test_another_programs_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = apsw.Connection(str(path))
    other.execute("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')")
    other.close()
    refused(str(path), "the database holds tables but no crmtui schema")
    check = apsw.Connection(str(path))
    tables = [row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["notes"]
    assert list(check.execute("SELECT body FROM notes")) == [("keep me",)]
    check.close()


def test_an_empty_file_becomes_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    store_db.open_database(str(path))
    assert store_db.SchemaVersion.select().scalar() is not None


def test_an_impossible_location_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "crm.db"
    with pytest.raises(DatabaseOpenError, match=f"cannot create database file {target}"):
        store_db.open_database(str(target))


def test_unreachable_server_is_refused_without_its_password() -> None:
    target = "postgresql://crm:s3cret@127.0.0.1:1/crm?connect_timeout=2"
    error = refused(target, "cannot open database postgresql://crm@127.0.0.1:1/crm")
    assert "s3cret" not in str(error)


def test_a_schema_holding_another_programs_tables_is_refused(pg_target: str) -> None:
    schema = pg_target.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".notes (body text)')
    refused(pg_target, "the database holds tables but no crmtui schema")


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("postgresql://crm:s3cret@db.example:5432/crm", "postgresql://crm@db.example:5432/crm"),
        ("postgres://crm:p@ss@db/crm", "postgres://crm@db/crm"),
        ("postgresql://crm@db/crm", "postgresql://crm@db/crm"),
        (
            "postgresql://db/crm?password=s3cret&sslmode=require",
            "postgresql://db/crm?sslmode=require",
        ),
        (
            "postgresql://db/crm?sslmode=require&password=s3cret",
            "postgresql://db/crm?sslmode=require",
        ),
        ("/home/u/crm:s3cret@x.db", "/home/u/crm:s3cret@x.db"),  # a path is shown as it is
    ],
)
def test_redact_url(target: str, shown: str) -> None:
    assert store_db.redact_url(target) == shown


@pytest.mark.parametrize(
    ("target", "postgres"),
    [
        ("postgresql://db/crm", True),
        ("postgres://db/crm", True),
        ("/tmp/postgresql.db", False),
        ("crm.db", False),
    ],
)
def test_is_postgres_url(target: str, postgres: bool) -> None:
    assert store_db.is_postgres_url(target) is postgres
