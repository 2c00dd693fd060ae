"""Opening the database: SQLite through APSW (default) or PostgreSQL, and schema upgrades.

SQLite goes through APSW because its wheels bundle a current SQLite (the system library here
is 3.40.1, which carries the WAL-reset corruption bug that bites several writers on one file).
Every SQLite connection runs in WAL mode with synchronous=FULL, so a save the user saw succeed
survives a power cut, and write transactions begin IMMEDIATE so a read-then-write transaction
never fails half-way with "database is locked".
"""

import contextlib
import errno
import fcntl
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import apsw
import peewee
from playhouse.apsw_ext import APSWDatabase

from crmtui.i18n import _
from crmtui.store.errors import StoreError

SCHEMA_VERSION = 9
MIN_SQLITE = (3, 51, 3)
BUSY_TIMEOUT_SECONDS = 10
# How often a writer waiting for SQLite's write lock tries again. SQLite's own busy timeout
# sleeps up to 100 ms between tries, which keeps missing the short pauses between an import's
# write turns (see `batches`); a few milliseconds never does.
BUSY_POLL_SECONDS = 0.003

database_proxy = peewee.DatabaseProxy()

Migration = Callable[[peewee.Database], None]


def _split_search_names(db: peewee.Database) -> None:
    """1 → 2: the search document keeps names apart from other text (one-character terms
    search names only). The index is derived data, so it is dropped rather than converted:
    search then asks for `crmtui reindex`, which takes minutes at a million customers, too
    long to hide inside opening the database."""
    from crmtui.store import search  # search builds on this module

    search.drop_index(db)


def _queue_indexes(db: peewee.Database) -> None:
    """2 → 3: indexes for the follow-up queue's automatic items (quiet key accounts of one
    owner, unresolved service items by due date). The same names as the models give them,
    so a database made new and one upgraded have the same indexes."""
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS customer_owner_id_key_account_last_contact_at"
        " ON customer (owner_id, key_account, last_contact_at)"
    )
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS service_item_status_due_on ON service_item (status, due_on)"
    )


# Phone columns and the column beside each that holds its display form (schema 4).
_PHONES = {"customer": ("phone", "alt_phone"), "contact": ("phone",)}
_DISPLAY_CHUNK = 10_000


def _phone_display(db: peewee.Database) -> None:
    """3 → 4: each phone's international layout is kept beside it, so showing phones (the
    first screen does) needs no phonenumbers. Existing rows are filled in here: about 12 s per
    100,000 customers of the demo (with their contacts), 107 s per million."""
    from crmtui.store.validation import format_phone  # validation builds on this module

    for table, phones in _PHONES.items():
        present = {column.name for column in db.get_columns(table)}
        for phone in phones:
            display = f"{phone}_display"
            if display not in present:
                db.execute_sql(
                    f"ALTER TABLE {table} ADD COLUMN {display} VARCHAR(64) NOT NULL DEFAULT ''"
                )
            last = 0
            while rows := db.execute_sql(
                f"SELECT id, {phone} FROM {table} WHERE id > {db.param} AND {phone} <> '' "
                f"AND {display} = '' ORDER BY id LIMIT {_DISPLAY_CHUNK}",
                (last,),
            ).fetchall():
                db.cursor().executemany(
                    f"UPDATE {table} SET {display} = {db.param} WHERE id = {db.param}",
                    [(format_phone(number), row_id) for row_id, number in rows],
                )
                last = rows[-1][0]


def _import_batches(db: peewee.Database) -> None:
    """4 → 5: imports are batches that can be undone; the history rows an import writes name
    its batch. (The batch table itself is made with the other new tables.)"""
    if "batch_id" not in {column.name for column in db.get_columns("history")}:
        db.execute_sql("ALTER TABLE history ADD COLUMN batch_id INTEGER")
    db.execute_sql("CREATE INDEX IF NOT EXISTS history_batch_id ON history (batch_id)")


def _sla_indexes(db: peewee.Database) -> None:
    """5 → 6: indexes that find a user's SLA breaches without reading every unresolved
    service item and customer (see `crmtui.store.queue._sla_rows`). The same names and
    definitions as the models give them."""
    from crmtui.store import models  # the models build on this module

    db.execute_sql("CREATE INDEX IF NOT EXISTS customer_owner_id_id ON customer (owner_id, id)")
    db.execute_sql(
        f"CREATE INDEX IF NOT EXISTS {models.OPEN_SERVICE_INDEX}"
        f" ON service_item (due_on, customer_id, id) WHERE {models.OPEN_SERVICE_WHERE}"
    )


def _login_columns(db: peewee.Database) -> None:
    """6 → 7: users log in: each keeps its count of failed logins, its lock-out (level and
    end) and its two-step verification (TOTP secret, last step used). Existing users start
    with no failures, no lock and no two-step verification."""
    sqlite = not isinstance(db, peewee.PostgresqlDatabase)
    columns = {
        "failed_logins": "INTEGER NOT NULL DEFAULT 0",
        "lock_level": "INTEGER NOT NULL DEFAULT 0",
        "locked_until": "DATETIME" if sqlite else "TIMESTAMP",
        "totp_secret": "TEXT",
        "totp_last_step": "INTEGER" if sqlite else "BIGINT",
    }
    present = {column.name for column in db.get_columns("user")}
    for name, definition in columns.items():
        if name not in present:
            # "user" is quoted: it is a reserved word in PostgreSQL.
            db.execute_sql(f'ALTER TABLE "user" ADD COLUMN {name} {definition}')


def _finished_batches(db: peewee.Database) -> None:
    """7 → 8: an import marks its batch finished in its last write (it writes in turns). The
    batches already there were written in one transaction each: all finished, when made."""
    if "finished_at" not in {column.name for column in db.get_columns("import_batch")}:
        sqlite = not isinstance(db, peewee.PostgresqlDatabase)
        kind = "DATETIME" if sqlite else "TIMESTAMP"
        db.execute_sql(f"ALTER TABLE import_batch ADD COLUMN finished_at {kind}")
    db.execute_sql("UPDATE import_batch SET finished_at = at WHERE finished_at IS NULL")


def _consent_record(db: peewee.Database) -> None:
    """8 → 9: consent to marketing keeps where it was given and when it was withdrawn. A
    consent recorded before has no known source (empty) and was not withdrawn."""
    present = {column.name for column in db.get_columns("customer")}
    columns = {
        "consent_source": "VARCHAR(100) NOT NULL DEFAULT ''",
        "consent_withdrawn_on": "DATE",
    }
    for name, definition in columns.items():
        if name not in present:
            db.execute_sql(f"ALTER TABLE customer ADD COLUMN {name} {definition}")


# MIGRATIONS[v] upgrades a database from schema version v to v + 1. A new database is
# created from the current models and stamped SCHEMA_VERSION directly.
MIGRATIONS: Mapping[int, Migration] = {
    1: _split_search_names,
    2: _queue_indexes,
    3: _phone_display,
    4: _import_batches,
    5: _sla_indexes,
    6: _login_columns,
    7: _finished_batches,
    8: _consent_record,
}


class DatabaseOpenError(StoreError):
    """The database cannot be opened or upgraded."""


class SchemaVersion(peewee.Model):
    version = peewee.IntegerField()

    class Meta:
        database = database_proxy
        table_name = "schema_version"


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class _SQLiteDatabase(APSWDatabase):
    """APSW's database, waiting for the write lock by polling (`BUSY_POLL_SECONDS`) for up
    to `BUSY_TIMEOUT_SECONDS`."""

    def _connect(self) -> apsw.Connection:
        connection = super()._connect()
        connection.set_busy_handler(_busy_handler())
        return connection


def _busy_handler() -> Callable[[int], bool]:
    """SQLite calls it while a lock it needs is taken, `tries` counting from 0 for each wait;
    True: try again."""
    started = 0.0

    def wait(tries: int) -> bool:
        nonlocal started
        now = time.monotonic()
        if tries == 0:
            started = now
        if now - started >= BUSY_TIMEOUT_SECONDS:
            return False
        time.sleep(BUSY_POLL_SECONDS)
        return True

    return wait


def _sqlite_database(path: Path) -> APSWDatabase:
    if tuple(int(p) for p in apsw.sqlite_lib_version().split(".")[:3]) < MIN_SQLITE:
        raise DatabaseOpenError(
            _("SQLite {found} is too old; crmtui needs {need} or newer (upgrade apsw)").format(
                found=apsw.sqlite_lib_version(), need=".".join(map(str, MIN_SQLITE))
            )
        )
    _create_private_file(path)
    hold_shared_lock(path)
    return _SQLiteDatabase(
        str(path),
        pragmas=[
            ("journal_mode", "wal"),
            ("synchronous", "full"),
            ("foreign_keys", 1),
            ("cache_size", -32000),
        ],
        timeout=None,  # the busy handler waits instead
        lock_type="IMMEDIATE",
        returning_clause=True,
    )


def _create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable by its owner only.

    SQLite gives the -wal and -shm files the permissions of the database file.
    """
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise DatabaseOpenError(
            _("cannot create database file {path}: {error}").format(path=path, error=exc.strerror)
        ) from exc


# Every crmtui process holds a shared lock on the database while it runs, so that a restore,
# which must replace the database, can tell whether anyone else has it open (it takes the lock
# exclusively). On SQLite the lock is a BSD lock (flock) on a file beside the database: SQLite's
# own locks are POSIX record locks, which any close() of the database file in the process drops,
# and flock locks are apart from them. The kernel drops a flock lock when its process dies, so
# a lock is never left behind by a crash. One descriptor per database per process: two would
# conflict with each other.
_lock_files: dict[Path, int] = {}


def lock_file_path(path: Path) -> Path:
    return path.with_name(path.name + "-lock")


def hold_shared_lock(path: Path) -> None:
    """Take this process's shared lock on the SQLite database at `path` (once a process)."""
    key = path.resolve()
    if key in _lock_files:
        return
    lock = lock_file_path(key)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DatabaseOpenError(
            _("cannot create lock file {path}: {error}").format(path=lock, error=exc.strerror)
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise DatabaseOpenError(
                _(
                    "{path} is being restored from a backup; try again when that has finished"
                ).format(path=path)
            ) from exc
        raise DatabaseOpenError(
            _("cannot lock {path}: {error}").format(path=lock, error=exc.strerror)
        ) from exc
    _lock_files[key] = fd


@contextlib.contextmanager
def exclusive_lock(path: Path, *, force: bool = False) -> Iterator[bool]:
    """Hold the database's lock exclusively (no other crmtui process has it open) for the
    duration; yields False, and holds nothing, when others have it and `force` is set, else
    raises DatabaseInUseError. This process's own shared lock is given back afterwards."""
    hold_shared_lock(path)
    fd = _lock_files[path.resolve()]
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        # Converting a flock lock may drop the shared one first; take it back either way.
        fcntl.flock(fd, fcntl.LOCK_SH)
        if not force:
            raise DatabaseInUseError(str(path)) from None
        yield False
        return
    try:
        yield True
    finally:
        fcntl.flock(fd, fcntl.LOCK_SH)


class DatabaseInUseError(StoreError):
    """Another crmtui process has the database open."""

    def __init__(self, target: str) -> None:
        super().__init__(
            _(
                "another crmtui process has {target} open; quit it first "
                "(or use --force, which loses what it writes from now on)"
            ).format(target=redact_url(target))
        )


# The PostgreSQL counterpart of the lock file: a session-level advisory lock, per database and
# schema, that every crmtui connection holds shared; the server drops it with the session.
_PG_LOCK_CLASS = 7720152
PG_LOCK_KEY = f"{_PG_LOCK_CLASS}, hashtext(current_schema())"


class _PsycopgAdapter(peewee.Psycopg3Adapter):
    """Peewee's adapter for psycopg 3, taking psycopg from its own import, not from peewee's.

    crmtui imports peewee with psycopg hidden (see `crmtui/store/__init__.py`), so peewee's
    module holds no psycopg; the methods of peewee's adapter that use it are redone here.
    """

    def __init__(self) -> None:
        # Here, not at the top: only PostgreSQL needs psycopg (start-up time on SQLite).
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb

        super().__init__()
        self.psycopg = psycopg
        self.txn_idle = TransactionStatus.IDLE
        self.txn_inerror = TransactionStatus.INERROR
        self.txn_unknown = TransactionStatus.UNKNOWN
        self.txn_intrans = TransactionStatus.INTRANS
        self.json_type = Json
        self.jsonb_type = Jsonb

    def check_driver(self) -> None:
        pass  # imported in __init__

    def get_binary_type(self) -> Any:
        return self.psycopg.Binary

    def connect(self, db: peewee.PostgresqlDatabase, **params: Any) -> Any:
        if db._encoding:
            params.setdefault("client_encoding", db._encoding)
        if db.database.startswith("postgresql://"):
            params.setdefault("conninfo", db.database)
        else:
            params.setdefault("dbname", db.database)
        return self.psycopg.connect(**params)

    def server_side_cursor(self, conn: Any) -> Any:
        in_txn = self.txn_status(conn) == self.txn_intrans
        return conn.cursor(name=str(uuid.uuid1()), withhold=not in_txn)


class PostgresqlDatabase(peewee.PostgresqlDatabase):
    # Peewee picks its psycopg2 adapter when its module holds no psycopg: both are this one.
    psycopg2_adapter = psycopg3_adapter = _PsycopgAdapter

    def _initialize_connection(self, conn: Any) -> None:
        super()._initialize_connection(conn)
        # Non-blocking: a connection made while a restore runs is refused rather than left
        # waiting, as on SQLite.
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT pg_try_advisory_lock_shared({PG_LOCK_KEY})")
            locked = cursor.fetchone()[0]
        conn.commit()
        if not locked:
            conn.close()
            raise DatabaseOpenError(
                _("the database is being restored from a backup; try again when that has finished")
            )


def _postgres_database(url: str) -> peewee.PostgresqlDatabase:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return PostgresqlDatabase(url)


def open_database(target: str) -> peewee.Database:
    """Open (creating or upgrading as needed) the database named by a path or URL.

    The models are bound to it for this process; call `close_database` when done.
    """
    from crmtui.store.models import ALL_MODELS  # models import this module

    db = _postgres_database(target) if is_postgres_url(target) else _sqlite_database(Path(target))
    database_proxy.initialize(db)
    try:
        db.connect(reuse_if_open=True)
        _upgrade(db, ALL_MODELS)
        # An import interrupted on SQLite leaves its batch unfinished (PostgreSQL's imports
        # are one transaction). Asked here in SQL: the store's modules that take a batch back
        # are imported only then, not on every start.
        unfinished = "SELECT 1 FROM import_batch WHERE finished_at IS NULL LIMIT 1"
        if not is_postgres(db) and db.execute_sql(unfinished).fetchone():
            from crmtui.store import batches

            batches.take_back_interrupted()
    except DatabaseOpenError:
        db.close()
        raise
    except peewee.OperationalError as exc:
        db.close()
        raise DatabaseOpenError(
            _("cannot open database {target}: {error}").format(
                target=redact_url(target), error=_one_line(exc)
            )
        ) from exc
    except peewee.DatabaseError as exc:
        db.close()
        raise DatabaseOpenError(
            _("{target} is not a usable crmtui database: {error}").format(
                target=redact_url(target), error=_one_line(exc)
            )
        ) from exc
    return db


def _one_line(exc: Exception) -> str:
    """A driver's message on one line, as every StoreError is (psycopg's span several)."""
    return " ".join(str(exc).split())


def close_database() -> None:
    db = database_proxy.obj
    if db is not None and not db.is_closed():
        db.close()


@contextlib.contextmanager
def thread_connection() -> Iterator[None]:
    """Around store calls made in a thread of their own (an app worker). Peewee connects once
    per thread; this thread's connection is closed when the work is done, not left open until
    the process ends (on PostgreSQL it holds a session and the lock a restore waits for)."""
    try:
        yield
    finally:
        close_database()


def current_database() -> peewee.Database:
    if database_proxy.obj is None:
        raise DatabaseOpenError(_("no database is open"))
    return database_proxy.obj


def is_postgres(db: peewee.Database | None = None) -> bool:
    return isinstance(db or current_database(), peewee.PostgresqlDatabase)


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """A write transaction: IMMEDIATE on SQLite, so the write lock is taken up front."""
    database = current_database()
    outermost = not database.in_transaction()
    try:
        with database.atomic():
            yield
    except BaseException as exc:
        if outermost:
            after_rollback(exc)
        raise


def after_rollback(exc: BaseException) -> None:
    """Once the outermost transaction has rolled back for `exc`: what `exc` left to write
    then (a refusal's audit row, which the rollback would otherwise have taken along)."""
    write = getattr(exc, "after_rollback", None)
    if write is not None:
        exc.after_rollback = None  # once, however many transactions it passes
        write()


def redact_url(target: str) -> str:
    """The target with any password in a URL left out, for messages and logs."""
    if not is_postgres_url(target):
        return target
    # libpq also takes the password as a query parameter: `…/crm?password=secret`.
    target = re.sub(r"([?&])password=[^&]*&?", r"\1", target).rstrip("?&")
    if "@" not in target:
        return target
    scheme, rest = target.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if ":" in credentials else target


def _upgrade(
    db: peewee.Database,
    models: list[type[peewee.Model]],
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Bring the schema to `target`; return the version the database had before."""
    sqlite = not isinstance(db, peewee.PostgresqlDatabase)
    if sqlite and _sqlite_is_current(db, models, target):
        # Nothing to make or upgrade, as on nearly every start: no write transaction, which
        # would wait for another writer's lock, and no SQL built for every table (about 5 ms
        # of the way to the first screen). PostgreSQL always goes the long way: opening it
        # also makes the search's GIN indexes left for after a bulk load.
        return target
    if sqlite:
        # SQLite changes a column by rebuilding its table, dropping the old one; with foreign
        # keys on, that drop cascade-deletes every dependent row (a customer's purchases,
        # tags, …). The pragma is ignored inside a transaction, so it is switched off around
        # it, and the keys are checked before the upgrade commits (SQLite's documented way).
        db.pragma("foreign_keys", 0)
    try:
        return _upgrade_in_transaction(db, models, target, migrations, check_keys=sqlite)
    finally:
        if sqlite:
            db.pragma("foreign_keys", 1)


def _sqlite_is_current(db: peewee.Database, models: list[type[peewee.Model]], target: int) -> bool:
    """Whether the SQLite database has schema version `target` and everything `create_tables`
    would make for `models` (each table and index by name, the search's own objects too)."""
    from crmtui.store import search  # search builds on this module
    from crmtui.store.models import AUDIT_SQLITE_OBJECTS  # the models build on this module

    present = {name for (name,) in db.execute_sql("SELECT name FROM sqlite_master")}
    if SchemaVersion._meta.table_name not in present:
        return False
    row = db.execute_sql(f"SELECT version FROM {SchemaVersion._meta.table_name} LIMIT 1").fetchone()
    if row is None or row[0] != target:
        return False
    wanted = {*search.SQLITE_OBJECTS, *AUDIT_SQLITE_OBJECTS}
    for model in models:
        wanted.add(model._meta.table_name)
        wanted.update(index._name for index in model._meta.fields_to_index())
    return wanted <= present


def _create_missing_tables(db: peewee.Database, models: list[type[peewee.Model]]) -> None:
    """Make the tables PostgreSQL lacks, and what a present table's model keeps beside it.

    Not `create_tables(safe=True)` for all: its CREATE INDEX IF NOT EXISTS takes a SHARE lock on
    each table even when the index exists, held until commit. On every start that stalled all
    writers, and taken table after table it deadlocked with a writer holding some of them.
    """
    present = set(db.get_tables())
    db.create_tables([model for model in models if model._meta.table_name not in present])
    for model in models:
        complete = getattr(model, "complete_table", None)
        if complete is not None and model._meta.table_name in present:
            complete()


def _upgrade_in_transaction(
    db: peewee.Database,
    models: list[type[peewee.Model]],
    target: int,
    migrations: Mapping[int, Migration],
    *,
    check_keys: bool,
) -> int:
    with db.atomic():
        if isinstance(db, peewee.PostgresqlDatabase):
            # Two processes opening a new database at once must not both create it.
            db.execute_sql("SELECT pg_advisory_xact_lock(7720151)")
        if not SchemaVersion.table_exists():
            if db.get_tables():
                raise DatabaseOpenError(_("the database holds tables but no crmtui schema"))
            db.create_tables([SchemaVersion, *models])
            SchemaVersion.create(version=target)
            return 0
        row = SchemaVersion.select().first()
        found = row.version if row else 0
        if found > target:
            raise DatabaseOpenError(
                _(
                    "this database has schema version {found}, newer than this crmtui "
                    "understands ({target}); upgrade crmtui"
                ).format(found=found, target=target)
            )
        for version in range(found, target):
            if version not in migrations:
                raise DatabaseOpenError(
                    _("no upgrade path from schema version {version}").format(version=version)
                )
            migrations[version](db)
        # Only after an upgrade step ran: the check reads every table (about 0.8 s for 100,000
        # customers, 8 s for a million), and it is on the way to the first screen.
        upgraded = found < target
        if upgraded and check_keys and db.execute_sql("PRAGMA foreign_key_check").fetchone():
            raise DatabaseOpenError(
                _("the upgrade to schema version {target} left broken references").format(
                    target=target
                )
            )
        # Tables added to the models while the schema version stayed put (before a release)
        # are made here; existing tables are left as they are.
        if isinstance(db, peewee.PostgresqlDatabase):
            _create_missing_tables(db, models)
        else:
            db.create_tables(models, safe=True)
        SchemaVersion.update(version=target).execute()
        return found
