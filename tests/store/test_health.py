"""What `crmtui doctor` reports, on both backends."""

import os
from pathlib import Path

import apsw
import pytest

from crmtui.store import customers, health, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.db import SCHEMA_VERSION, is_postgres_url
from crmtui.store.errors import PermissionDeniedError
from crmtui.store.types import Actor


def test_fresh_database_is_healthy(db: str, actor: Actor) -> None:
    for name in ("Alice", "张伟"):
        customers.add_customer(actor, {"name": name})
    report = health.check_database(actor, db)
    assert report.healthy
    assert report.problems == ()
    assert (report.integrity, report.schema_version, report.customers) == ("ok", SCHEMA_VERSION, 2)
    assert report.target == store_db.redact_url(db)
    if is_postgres_url(db):
        assert (report.backend, report.journal_mode) == ("postgresql", "wal (server)")
        assert report.library_version.split(".")[0].isdigit()
    else:
        assert (report.backend, report.journal_mode) == ("sqlite", "wal")
        assert report.library_version == apsw.sqlite_lib_version()
    secret = health.check_database(actor, "postgresql://crm:s3cret@db/crm")
    assert secret.target == "postgresql://crm@db/crm"


def test_sqlite_out_of_wal_mode_is_a_problem(sqlite_target: str) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    store_db.current_database().execute_sql("PRAGMA journal_mode=delete")
    report = health.check_database(actor, sqlite_target)
    assert not report.healthy
    [problem] = report.problems
    assert problem.startswith("journal mode is delete, not wal; fix: quit every program")


def test_a_damaged_sqlite_file_is_reported_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    store_db.open_database(str(path))
    actor = users.local_actor()
    with store_db.write_transaction():  # enough rows for the name index to fill pages
        m.Customer.insert_many([{"name": f"customer {i:03}"} for i in range(300)]).execute()
    store_db.current_database().execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store_db.close_database()
    size = path.stat().st_size
    with path.open("r+b") as file:  # scribble over a page near the end: an index page
        file.seek(size - 3 * 4096 + 100)
        file.write(os.urandom(2000))
    store_db.open_database(str(path))
    report = health.check_database(actor, str(path))
    assert not report.healthy
    assert report.integrity != "ok"
    assert "\n" not in report.integrity
    assert 0 < report.integrity.count(";") <= 4  # at most five findings
    [problem] = report.problems
    assert problem.startswith("integrity check failed: ")
    assert "\n" not in problem


@pytest.mark.parametrize("role", ["sales", "readonly", "marketing"])
def test_only_admins_and_managers_check_the_database(sqlite_target: str, role: str) -> None:
    store_db.open_database(sqlite_target)
    with pytest.raises(PermissionDeniedError, match="someone may not check the database"):
        health.check_database(Actor(1, "someone", role), sqlite_target)
    assert health.check_database(Actor(1, "boss", "manager"), sqlite_target).healthy


def test_doctor_names_the_risks_and_their_fixes(
    sqlite_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt
    import json

    from crmtui.store import backup

    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Alice"})
    report = health.check_database(actor, sqlite_target)
    assert report.healthy, report.problems  # a new database has nothing at risk yet
    assert (report.file_mode, report.last_backup) == ("0600", None)
    assert report.wal_bytes is not None and report.free_bytes

    # A month of work and no backup.
    later = m.utcnow() + dt.timedelta(days=30)
    monkeypatch.setattr(m, "utcnow", lambda: later)
    [problem] = health.check_database(actor, sqlite_target).problems
    assert "no backup" in problem and "fix: run crmtui backup" in problem

    made = Path(backup.create_backup(actor, sqlite_target).path)
    report = health.check_database(actor, sqlite_target)
    assert report.healthy and report.last_backup == str(made)
    manifest = json.loads(backup.manifest_path(made).read_text())
    manifest["created_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).isoformat()
    backup.manifest_path(made).write_text(json.dumps(manifest))
    [problem] = health.check_database(actor, sqlite_target).problems
    assert "8 days old" in problem

    backup.create_backup(actor, sqlite_target)
    os.chmod(sqlite_target, 0o644)
    [problem] = health.check_database(actor, sqlite_target).problems
    assert "chmod 600" in problem


def test_an_old_sqlite_is_a_problem_with_its_fix(
    sqlite_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    assert health.check_database(actor, sqlite_target).healthy  # APSW's SQLite is current
    # A floor above the library in use stands for a library below the floor.
    monkeypatch.setattr(health, "MIN_SQLITE", (999, 0, 0))
    [problem] = health.check_database(actor, sqlite_target).problems
    assert problem.startswith(f"SQLite {apsw.sqlite_lib_version()} is older than 999.0.0")
    assert "fix: upgrade APSW" in problem


def test_a_wal_held_back_by_an_open_session_is_a_problem(
    sqlite_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    # Another session in a read transaction since before the writes: no checkpoint can move
    # the WAL's pages into the file meanwhile, so the WAL grows and the file does not.
    reader = apsw.Connection(sqlite_target)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM customer").fetchall()
    try:
        for i in range(150):
            customers.add_customer(actor, {"name": f"Busy {i}", "notes": "x" * 8000})
        monkeypatch.setattr(health, "WAL_LIMIT", 1 << 20)
        report = health.check_database(actor, sqlite_target)
    finally:
        reader.close()
    assert report.wal_bytes is not None and report.wal_bytes > 1 << 20
    [problem] = report.problems
    assert problem.startswith(f"the WAL is {report.wal_bytes >> 20} MiB")
    assert "fix: quit crmtui sessions left open" in problem


def test_too_little_free_disk_for_a_backup_is_a_problem(
    sqlite_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    real = shutil.disk_usage

    def nearly_full(path: object) -> object:
        return real(path)._replace(free=10 << 20)  # a disk with 10 MiB left

    monkeypatch.setattr(health.shutil, "disk_usage", nearly_full)
    report = health.check_database(actor, sqlite_target)
    assert report.free_bytes == 10 << 20
    [problem] = report.problems
    assert problem.startswith("10 MiB free on ")
    assert "fix: free space, or back up elsewhere with --to" in problem
