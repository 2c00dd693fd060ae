"""What `crmtui doctor` reports: library version, journal mode, schema version, integrity,
and what puts the data at risk: the WAL's size, the newest backup's age, free disk, the
database file's permissions. Each problem names its fix."""

import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import apsw
import peewee

from crmtui.i18n import _
from crmtui.store import backup
from crmtui.store import models as m
from crmtui.store.db import MIN_SQLITE, SchemaVersion, current_database, is_postgres, redact_url
from crmtui.store.permissions import DATABASE_CHECK, authorize
from crmtui.store.types import Actor


@dataclass(frozen=True)
class HealthReport:
    backend: str
    target: str
    library_version: str
    journal_mode: str
    schema_version: int
    integrity: str  # "ok", or what the check found
    customers: int
    problems: tuple[str, ...]
    wal_bytes: int | None = None  # SQLite only
    last_backup: str | None = None  # path of the newest backup, None when there is none
    last_backup_age_days: float | None = None
    free_bytes: int | None = None  # on the disk the backups go to
    file_mode: str | None = None  # SQLite: the database file's permissions, e.g. "0600"

    @property
    def healthy(self) -> bool:
        return not self.problems


def check_database(actor: Actor, target: str) -> HealthReport:
    authorize(actor, DATABASE_CHECK)
    db = current_database()
    problems: list[str] = []
    if is_postgres(db):
        backend = "postgresql"
        library = db.execute_sql("SHOW server_version").fetchone()[0]
        journal = "wal (server)"
        integrity = "ok"  # the server keeps its own consistency; pg_amcheck is an admin tool
    else:
        backend = "sqlite"
        library = apsw.sqlite_lib_version()
        journal = db.execute_sql("PRAGMA journal_mode").fetchone()[0]
        found = [row[0] for row in db.execute_sql("PRAGMA quick_check(5)").fetchall()]
        # SQLite may pack several findings into one row, a line each, under a "*** in
        # database main ***" heading; the report keeps them on one line.
        findings = [
            line for text in found for line in str(text).splitlines() if not line.startswith("***")
        ]
        integrity = "ok" if found == ["ok"] else "; ".join(findings[:5])
        if journal != "wal":
            problems.append(
                _(
                    "journal mode is {mode}, not wal; fix: quit every program that has the "
                    "file open, then run crmtui doctor again (opening it turns WAL on)"
                ).format(mode=journal)
            )
        version = tuple(int(p) for p in library.split(".")[:3])
        if version < MIN_SQLITE:
            # Before 3.51.3 two connections writing or checkpointing at once can corrupt the
            # WAL: the several-staff-on-one-file case. APSW's wheels bundle a current SQLite.
            problems.append(
                _(
                    "SQLite {found} is older than {floor}, which carries a WAL corruption bug; "
                    "fix: upgrade APSW (pip install --upgrade apsw), whose wheels bundle a "
                    "current SQLite"
                ).format(found=library, floor=".".join(map(str, MIN_SQLITE)))
            )
    if integrity != "ok":
        problems.append(
            _(
                "integrity check failed: {found}; fix: restore the newest backup that "
                "passes crmtui backup verify"
            ).format(found=integrity)
        )
    # The open database's own name: `target` is for showing (and may be written otherwise).
    risks = _risks(
        target if is_postgres(db) else db.database, postgres=is_postgres(db), problems=problems
    )
    row = SchemaVersion.select().first()
    return HealthReport(
        backend=backend,
        target=redact_url(target),
        library_version=library,
        journal_mode=journal,
        schema_version=row.version if row else 0,
        integrity=integrity,
        customers=m.Customer.select().count(),
        problems=tuple(problems),
        **risks,
    )


# A WAL past this size (and past a quarter of the database) means checkpoints are held back.
WAL_LIMIT = 64 << 20


def _risks(target: str, *, postgres: bool, problems: list[str]) -> dict[str, object]:
    found: dict[str, object] = {}
    database = None if postgres else Path(target).expanduser()
    db_size = 0
    if database is not None and database.exists():
        db_size = database.stat().st_size
        mode = stat.S_IMODE(database.stat().st_mode)
        found["file_mode"] = f"{mode:04o}"
        if mode & 0o077:
            problems.append(
                _("{db} can be read by others (mode {mode}); fix: chmod 600 {db}").format(
                    db=database, mode=f"{mode:04o}"
                )
            )
        wal = database.with_name(database.name + "-wal")
        found["wal_bytes"] = wal_size = wal.stat().st_size if wal.exists() else 0
        if wal_size > WAL_LIMIT and wal_size > db_size // 4:
            problems.append(
                _(
                    "the WAL is {n} MiB: a session open for long holds checkpoints back; "
                    "fix: quit crmtui sessions left open, and it shrinks at the next checkpoint"
                ).format(n=wal_size >> 20)
            )
    directory = backup.default_backup_dir(target)
    newest = backup.newest_backup(target, directory)
    if newest is not None:
        found["last_backup"] = newest.path
        found["last_backup_age_days"] = round(newest.age.total_seconds() / 86400, 2)
    if newest is None or newest.age > backup.STALE_AFTER:
        # A new database has nothing at risk yet: the clock starts with its first customer.
        try:
            first = m.Customer.select(m.Customer.created_at).order_by(m.Customer.created_at).first()
            at_risk = first is not None and (m.utcnow() - first.created_at) > backup.STALE_AFTER
        except peewee.DatabaseError:  # damaged: the integrity check says so; a backup won't help
            at_risk = False
        if at_risk or newest is not None:
            when = (
                _("no backup")
                if newest is None
                else _("the newest backup is {n} days old").format(n=newest.age.days)
            )
            problems.append(
                _("{when} in {dir}; fix: run crmtui backup (nightly, from cron)").format(
                    when=when, dir=directory
                )
            )
    probe = directory if directory.exists() else (database.parent if database else Path.home())
    with_room = shutil.disk_usage(probe).free if probe.exists() else None
    if with_room is not None:
        found["free_bytes"] = with_room
        if with_room < db_size + (64 << 20):
            problems.append(
                _(
                    "{n} MiB free on {dir}: a backup of the database would not fit; "
                    "fix: free space, or back up elsewhere with --to"
                ).format(n=with_room >> 20, dir=probe)
            )
    return found
