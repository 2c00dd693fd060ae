"""Backups on PostgreSQL (issue 6, item 6): what test_backup.py proves of SQLite, proved of
`pg_dump`/`pg_restore` too: one moment while four processes write, nothing left by a killed
backup, a damaged archive refused by verify, passphrase encryption, and the doctor's age of
the newest backup. Skipped, with the reason, when CRMTUI_TEST_PG is unset."""

import dataclasses
import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import peewee
import pytest

from crmtui.store import backup, encryption, health, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.backup import BackupError
from crmtui.store.encryption import Keys
from crmtui.store.types import Actor
from tests.store.backup_load import WRITER, fill, run_python


@pytest.fixture
def pg(pg_target: str) -> tuple[str, Actor]:
    store_db.open_database(pg_target)
    return pg_target, users.local_actor()


def test_a_backup_while_four_processes_write_is_one_moment(
    pg: tuple[str, Actor], tmp_path: Path
) -> None:
    target, actor = pg
    fill(5000, "seed")
    writers = [run_python(WRITER, target, f"w{i}", "10", stdout=subprocess.PIPE) for i in range(4)]
    try:
        time.sleep(3)  # all four writing
        before = m.Customer.select().count()
        made = backup.create_backup(actor, target, directory=tmp_path / "b")
        after = m.Customer.select().count()
    finally:
        written = [int(w.communicate(timeout=60)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers) and all(n > 0 for n in written)
    counts = made.manifest.tables
    assert before <= counts["customer"] <= after and before < after
    # verify counts the rows in the archive itself: they are the manifest's moment.
    assert backup.verify_backup(Path(made.path), Keys()).tables == counts

    result = backup.restore_backup(actor, target, Path(made.path), Keys())
    store_db.open_database(target)
    assert m.Customer.select().count() == counts["customer"] == result.tables["customer"]
    # Every customer a writer added has its history row: no transaction was cut in two.
    orphans = (
        m.Customer.select()
        .where(
            m.Customer.name.startswith("w"),
            ~peewee.fn.EXISTS(
                m.History.select().where(
                    m.History.entity == "customer", m.History.entity_id == m.Customer.id
                )
            ),
        )
        .count()
    )
    assert orphans == 0
    assert m.History.select().where(m.History.entity == "customer").count() == (
        counts["customer"] - 5000
    )


_KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from crmtui.store import backup, db, users
    from crmtui.store.encryption import Keys
    db.open_database(sys.argv[1])
    keys = Keys(recipients=(sys.argv[3],)) if sys.argv[3] else None
    def progress(label, done, total):
        if done > 0:
            print("mid-way", flush=True)
            time.sleep(60)
    backup.create_backup(users.local_actor(), sys.argv[1], directory=Path(sys.argv[2]),
                         keys=keys, progress=progress)
    """
)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_killed_backup_leaves_nothing_behind(
    pg: tuple[str, Actor], tmp_path: Path, encrypted: bool
) -> None:
    target, _actor = pg
    fill(3000, "c")
    public = encryption.generate_identity(tmp_path / "key.txt")
    out = tmp_path / "backups"
    out.mkdir()
    child = run_python(
        _KILLED, target, str(out), public if encrypted else "", stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "mid-way"
        open_files = [
            os.readlink(f"/proc/{child.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{child.pid}/fd")
        ]
        in_progress = [f for f in open_files if f.startswith(str(out))]
        assert in_progress and all(f.endswith("(deleted)") for f in in_progress)
        assert list(out.iterdir()) == []
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert list(out.iterdir()) == []


def _rewrite_manifest(path: Path, **changes: object) -> None:
    """Make the manifest match the file as it is now, with `changes`: what is left to catch
    a damaged archive is the archive's content itself."""
    data = path.read_bytes()
    manifest = backup.read_manifest(path)
    manifest = dataclasses.replace(
        manifest, size=len(data), sha256=hashlib.sha256(data).hexdigest(), **changes
    )
    manifest.write(backup.manifest_path(path))


def test_verify_reads_the_archive_not_only_its_hash(pg: tuple[str, Actor], tmp_path: Path) -> None:
    target, actor = pg
    fill(2000, "c")
    made = backup.create_backup(actor, target, directory=tmp_path / "b")
    path = Path(made.path)
    original = path.read_bytes()

    path.write_bytes(original[: len(original) * 2 // 3])  # cut short, manifest to match
    _rewrite_manifest(path)
    with pytest.raises(BackupError, match="pg_restore failed"):
        backup.verify_backup(path, Keys())

    path.write_bytes(original)  # sound archive, but the manifest's count is not its count
    _rewrite_manifest(path, tables={**made.manifest.tables, "customer": 1999})
    with pytest.raises(BackupError, match="table customer holds 2000 rows, the manifest says 1999"):
        backup.verify_backup(path, Keys())

    path.write_bytes(original)  # a flipped byte: the hash in the manifest catches it
    _rewrite_manifest(path)
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(BackupError, match="SHA-256 differs"):
        backup.verify_backup(path, Keys())


def test_passphrase_backup_round_trip(pg: tuple[str, Actor], tmp_path: Path) -> None:
    target, actor = pg
    fill(100, "p")
    made = backup.create_backup(
        actor, target, directory=tmp_path / "b", keys=Keys(passphrase="correct horse")
    )
    path = Path(made.path)
    assert path.name.endswith(".dump.age") and made.manifest.encryption == "passphrase"
    with pytest.raises(encryption.EncryptionError, match="wrong passphrase"):
        backup.verify_backup(path, Keys(passphrase="wrong"))
    backup.verify_backup(path, Keys(passphrase="correct horse"))
    fill(5, "later")
    backup.restore_backup(actor, target, path, Keys(passphrase="correct horse"))
    store_db.open_database(target)
    assert m.Customer.select().count() == 100


def test_doctor_reports_the_newest_backups_age(
    pg: tuple[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, actor = pg
    fill(1, "a")
    report = health.check_database(actor, target)
    assert report.healthy and report.last_backup is None

    later = m.utcnow() + dt.timedelta(days=30)  # a month of work and no backup
    monkeypatch.setattr(m, "utcnow", lambda: later)
    [problem] = health.check_database(actor, target).problems
    assert "no backup" in problem and "fix: run crmtui backup" in problem

    made = Path(backup.create_backup(actor, target).path)  # into the default directory
    report = health.check_database(actor, target)
    assert report.healthy and report.last_backup == str(made)
    assert report.file_mode is None and report.wal_bytes is None  # the server's files
    manifest = json.loads(backup.manifest_path(made).read_text())
    manifest["created_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=9)).isoformat()
    backup.manifest_path(made).write_text(json.dumps(manifest))
    [problem] = health.check_database(actor, target).problems
    assert "9 days old" in problem
