"""What `crmtui doctor` reports: library version, journal mode, schema version, integrity."""

from dataclasses import dataclass

import apsw

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
            problems.append(f"journal mode is {journal}, not wal")
        version = tuple(int(p) for p in library.split(".")[:3])
        if version < MIN_SQLITE:
            problems.append(f"SQLite {library} is older than {'.'.join(map(str, MIN_SQLITE))}")
    if integrity != "ok":
        problems.append(f"integrity check failed: {integrity}")
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
    )
