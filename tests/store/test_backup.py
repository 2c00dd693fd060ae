"""Backups (SPEC F9): made while others write, encrypted so that plain `age` opens them,
verified, restored with a safety copy; and nothing left behind by a backup that is killed."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from crmtui.store import audit, backup, customers, encryption, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.backup import BackupError
from crmtui.store.encryption import EncryptionError, Keys
from crmtui.store.types import Actor
from tests.store.backup_load import WRITER, fill, run_python

Make = Callable[..., backup.BackupResult]


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, str]:
    """An identity file and its public key."""
    path = tmp_path / "key.txt"
    return path, encryption.generate_identity(path)


@pytest.fixture
def make(db: str, actor: Actor, tmp_path: Path) -> Make:
    """Back up the test database into tmp_path/backups."""

    def run(keys: Keys | None = None, **options: object) -> backup.BackupResult:
        return backup.create_backup(actor, db, directory=tmp_path / "backups", keys=keys, **options)

    return run


def _names(actor: Actor) -> list[str]:
    return sorted(c.name for c in customers.list_customers(actor, limit=None).rows)


def _sqlite_names(path: Path) -> list[str]:
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return sorted(row[0] for row in conn.execute("SELECT name FROM customer"))
    finally:
        conn.close()


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_backup_change_restore_gives_the_data_at_backup_time(
    db: str, actor: Actor, make: Make, key: tuple[Path, str], encrypted: bool
) -> None:
    for name in ("张伟", "Alice"):
        customers.add_customer(actor, {"name": name})
    made = make(Keys(recipients=(key[1],)) if encrypted else None)
    assert made.manifest.tables["customer"] == 2
    assert made.manifest.schema_version == store_db.SCHEMA_VERSION
    opening = Keys(identity_file=key[0])
    backup.verify_backup(Path(made.path), opening)

    customers.add_customer(actor, {"name": "Later"})
    first = customers.list_customers(actor, limit=None).rows[0]
    customers.update_customer(actor, first.id, {"notes": "changed after the backup"}, None)

    result = backup.restore_backup(actor, db, Path(made.path), opening)
    store_db.open_database(db)
    assert _names(actor) == ["Alice", "张伟"]
    assert all(not c.notes for c in customers.list_customers(actor, limit=None).rows)
    assert result.tables["customer"] == 2
    # The safety copy holds the database as it was just before the restore.
    assert result.safety_copy
    safety = Path(result.safety_copy)
    if store_db.is_postgres_url(db):
        assert backup.read_manifest(safety).tables["customer"] == 3
        backup.verify_backup(safety, Keys())
    else:
        assert _sqlite_names(safety) == ["Alice", "Later", "张伟"]
        assert not Path(db + "-wal").exists() or Path(db + "-wal").stat().st_size == 0


def test_a_backup_lists_verifies_and_rotates(
    db: str, actor: Actor, make: Make, key: tuple[Path, str]
) -> None:
    customers.add_customer(actor, {"name": "Alice"})
    made = [make(), make(Keys(recipients=(key[1],))), make()]
    listed = backup.list_backups(actor, db, Path(made[0].path).parent)
    assert [b.path for b in listed] == [r.path for r in reversed(made)]
    assert [b.encryption for b in listed] == [None, "recipient", None]
    assert all(b.verified_at is None for b in listed)
    backup.verify_backup(Path(made[1].path), Keys(identity_file=key[0]))
    assert backup.list_backups(actor, db, Path(made[0].path).parent)[1].verified_at

    newest = make(keep=2)
    assert set(newest.removed) == {made[0].path, made[1].path}
    left = sorted(p.name for p in Path(newest.path).parent.iterdir())
    assert left == sorted(
        [Path(p).name for p in (made[2].path, newest.path)]
        + [Path(p).name + ".manifest.json" for p in (made[2].path, newest.path)]
    )


def test_wrong_passphrase_fails_and_the_right_one_opens(sqlite_target: str, tmp_path: Path) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Alice"})
    made = backup.create_backup(
        actor, sqlite_target, directory=tmp_path / "b", keys=Keys(passphrase="correct horse")
    )
    assert made.manifest.encryption == "passphrase"
    with pytest.raises(EncryptionError, match="wrong passphrase"):
        backup.verify_backup(Path(made.path), Keys(passphrase="wrong horse"))
    with pytest.raises(EncryptionError, match="passphrase"):
        backup.verify_backup(Path(made.path), Keys(identity_file=tmp_path / "none"))
    backup.verify_backup(Path(made.path), Keys(passphrase="correct horse"))


def test_passphrase_mode_refuses_beyond_its_memory_limit(
    sqlite_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    monkeypatch.setattr(encryption, "PASSPHRASE_LIMIT", 4096)
    with pytest.raises(EncryptionError, match="only up to"):
        backup.create_backup(
            actor, sqlite_target, directory=tmp_path / "b", keys=Keys(passphrase="x")
        )
    assert list((tmp_path / "b").iterdir()) == []


def _rewrite_manifest(path: Path) -> None:
    """Make the manifest agree with a tampered file, so that only decryption can notice."""
    manifest = json.loads(backup.manifest_path(path).read_text())
    manifest["size"] = path.stat().st_size
    manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    backup.manifest_path(path).write_text(json.dumps(manifest))


@pytest.fixture
def encrypted_backup(
    sqlite_target: str, tmp_path: Path, key: tuple[Path, str]
) -> tuple[Path, Keys]:
    """An encrypted backup of a few hundred customers (several 64 KiB age chunks)."""
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    fill(2000, "customer")
    made = backup.create_backup(
        actor, sqlite_target, directory=tmp_path / "b", keys=Keys(recipients=(key[1],))
    )
    assert Path(made.path).stat().st_size > 3 * 65536
    return Path(made.path), Keys(identity_file=key[0])


def test_any_flipped_byte_fails_verify(encrypted_backup: tuple[Path, Keys]) -> None:
    path, keys = encrypted_backup
    original = path.read_bytes()
    header_end = original.index(b"\n---") + 1
    # The version line, a recipient stanza, the header MAC, the nonce, the first chunk, a
    # middle chunk and the last byte.
    for offset in (0, 30, header_end + 10, header_end + 60, header_end + 1000, len(original) // 2,
                   len(original) - 1):  # fmt: skip
        for manifest_agrees in (False, True):
            damaged = bytearray(original)
            damaged[offset] ^= 0x01
            path.write_bytes(bytes(damaged))
            if manifest_agrees:
                _rewrite_manifest(path)
            with pytest.raises((BackupError, EncryptionError)) as failure:
                backup.verify_backup(path, keys)
            if not manifest_agrees:
                assert "SHA-256" in str(failure.value)
            path.write_bytes(original)
            _rewrite_manifest(path)
    backup.verify_backup(path, keys)


def test_a_truncated_backup_fails_verify(encrypted_backup: tuple[Path, Keys]) -> None:
    path, keys = encrypted_backup
    original = path.read_bytes()
    for length in (len(original) - 1, len(original) - 65536, 200):
        path.write_bytes(original[:length])
        with pytest.raises(BackupError, match="incomplete"):
            backup.verify_backup(path, keys)
        _rewrite_manifest(path)  # then age's own end-of-stream check refuses it
        with pytest.raises((BackupError, EncryptionError)):
            backup.verify_backup(path, keys)


def test_a_truncated_plain_backup_fails_verify(sqlite_target: str, tmp_path: Path) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    fill(2000, "customer")
    path = Path(backup.create_backup(actor, sqlite_target, directory=tmp_path / "b").path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BackupError, match="incomplete"):
        backup.verify_backup(path, Keys())
    _rewrite_manifest(path)
    with pytest.raises(BackupError, match=r"damaged|usable"):
        backup.verify_backup(path, Keys())


def test_encrypting_the_same_database_twice_gives_different_files(
    sqlite_target: str, tmp_path: Path, key: tuple[Path, str]
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Alice"})
    keys = Keys(recipients=(key[1],))
    first, second = (
        Path(backup.create_backup(actor, sqlite_target, directory=tmp_path / "b", keys=keys).path)
        for _ in range(2)
    )
    assert first.read_bytes() != second.read_bytes()
    passphrase = [
        Path(
            backup.create_backup(
                actor, sqlite_target, directory=tmp_path / "p", keys=Keys(passphrase="pw")
            ).path
        ).read_bytes()
        for _ in range(2)
    ]
    assert passphrase[0] != passphrase[1]


@pytest.mark.skipif(
    shutil.which("age") is None,
    reason="the age command line is not installed (Debian: apt-get install age)",
)
def test_plain_age_decrypts_a_backup_to_a_sound_database(
    encrypted_backup: tuple[Path, Keys], tmp_path: Path
) -> None:
    path, keys = encrypted_backup
    out = tmp_path / "decrypted.db"
    subprocess.run(
        ["age", "--decrypt", "-i", str(keys.identity_file), "-o", str(out), str(path)], check=True
    )
    conn = apsw.Connection(str(out))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT count(*) FROM customer").fetchall() == [(2000,)]
    conn.close()


def test_a_backup_is_refused_a_directory_it_cannot_write(
    sqlite_target: str, tmp_path: Path
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BackupError, match="cannot make backup directory"):
        backup.create_backup(actor, sqlite_target, directory=blocker / "b")
    with pytest.raises(BackupError, match="--keep"):
        backup.create_backup(actor, sqlite_target, directory=tmp_path / "b", keep=0)


def test_verify_names_what_is_wrong_with_a_file_that_is_no_backup(tmp_path: Path) -> None:
    stray = tmp_path / "notes.db"
    stray.write_text("hello")
    with pytest.raises(BackupError, match="has no manifest"):
        backup.verify_backup(stray, Keys())
    backup.manifest_path(stray).write_text("{not json")
    with pytest.raises(BackupError, match="not a crmtui backup manifest"):
        backup.verify_backup(stray, Keys())
    with pytest.raises(BackupError, match="no such backup file"):
        backup.verify_backup(tmp_path / "missing.db", Keys())


def test_a_backup_of_another_backend_is_not_restored(sqlite_target: str, tmp_path: Path) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    path = Path(backup.create_backup(actor, sqlite_target, directory=tmp_path / "b").path)
    manifest = json.loads(backup.manifest_path(path).read_text())
    manifest["backend"] = "postgresql"
    backup.manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="postgresql backup"):
        backup.restore_backup(actor, sqlite_target, path, Keys())


def test_backup_and_restore_need_an_admin(db: str, make_actor: Callable[..., Actor]) -> None:
    from crmtui.store.errors import PermissionDeniedError

    sales = make_actor("wang", "sales")
    with pytest.raises(PermissionDeniedError):
        backup.create_backup(sales, db)
    with pytest.raises(PermissionDeniedError):
        backup.list_backups(sales, db)


# ---------------------------------------------------------------------------------------
# Processes: writers during a backup, a backup killed, a restore while others work


def test_a_backup_while_four_processes_write_is_consistent(
    sqlite_target: str, tmp_path: Path
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    fill(20000, "seed", notes=400)
    writers = [
        run_python(WRITER, sqlite_target, f"w{i}", "12", stdout=subprocess.PIPE) for i in range(4)
    ]
    try:
        time.sleep(3)  # all four writing
        before = m.Customer.select().count()
        made = backup.create_backup(actor, sqlite_target, directory=tmp_path / "b")
        after = m.Customer.select().count()
    finally:
        written = [int(w.communicate(timeout=60)[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    assert all(n > 0 for n in written)
    counts = made.manifest.tables
    assert before <= counts["customer"] <= after
    assert before < after  # the writers did write while the backup ran
    report = backup.verify_backup(Path(made.path), Keys())
    assert report.tables == counts
    # One moment: every customer in the copy has its history row and search document.
    conn = apsw.Connection(made.path, flags=apsw.SQLITE_OPEN_READONLY)
    [(orphans,)] = conn.execute(
        "SELECT count(*) FROM customer c WHERE c.name LIKE 'w%' AND NOT EXISTS "
        "(SELECT 1 FROM history h WHERE h.entity_id = c.id AND h.entity = 'customer')"
    ).fetchall()
    [(docs,)] = conn.execute("SELECT count(*) FROM search_doc").fetchall()
    conn.close()
    assert orphans == 0
    assert docs == counts["search_doc"]
    assert counts["history"] == counts["customer"] - 20000


_KILLED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from crmtui.store import backup, db, users
    from crmtui.store.encryption import Keys
    db.open_database(sys.argv[1])
    keys = Keys(recipients=(sys.argv[3],)) if sys.argv[3] else None
    stage = sys.argv[4]
    def progress(label, done, total):
        if label == stage and done > 0:
            print("mid-way", flush=True)
            time.sleep(60)
    backup.create_backup(users.local_actor(), sys.argv[1], directory=Path(sys.argv[2]),
                         keys=keys, progress=progress)
    """
)


@pytest.mark.parametrize(
    ("encrypted", "stage"),
    [(False, "copying"), (True, "copying"), (True, "encrypting")],
    ids=["plain", "encrypted-copying", "encrypted-encrypting"],
)
def test_a_backup_killed_mid_way_leaves_nothing_behind(
    sqlite_target: str, tmp_path: Path, key: tuple[Path, str], encrypted: bool, stage: str
) -> None:
    store_db.open_database(sqlite_target)
    fill(5000, "c", notes=400)
    store_db.close_database()
    out = tmp_path / "backups"
    out.mkdir()
    temp = tmp_path / "tmp"
    temp.mkdir()
    child = run_python(
        _KILLED,
        sqlite_target,
        str(out),
        key[1] if encrypted else "",
        stage,
        stdout=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "mid-way"
        # Mid-way, the files being written have no name anywhere.
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
    assert list(temp.iterdir()) == []
    # Nor anywhere beside the database.
    assert {p.name for p in tmp_path.iterdir()} <= {
        "backups", "tmp", "home", "key.txt", "crm.db", "crm.db-lock", "crm.db-wal", "crm.db-shm"
    }  # fmt: skip


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from crmtui.store import db
    db.open_database(sys.argv[1])
    print("open", flush=True)
    time.sleep(60)
    """
)


def test_restore_is_refused_while_another_process_has_the_database_open(
    db: str, actor: Actor, make: Make
) -> None:
    customers.add_customer(actor, {"name": "Alice"})
    made = make()
    customers.add_customer(actor, {"name": "Later"})
    holder = run_python(_HOLDER, db, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(store_db.DatabaseInUseError, match="another crmtui process"):
            backup.restore_backup(actor, db, Path(made.path), Keys())
        store_db.open_database(db)
        assert _names(actor) == ["Alice", "Later"]  # nothing changed
        # but the attempt is recorded, in the database as it is
        last = m.AuditEntry.select().order_by(m.AuditEntry.seq.desc()).get()
        assert (last.action, last.target, last.result) == (
            "restore",
            Path(made.path).name,
            "failed",
        )
        assert "another crmtui process" in last.detail
    finally:
        holder.kill()
        holder.wait()
    backup.restore_backup(actor, db, Path(made.path), Keys())
    store_db.open_database(db)
    assert _names(actor) == ["Alice"]


def test_a_process_opening_the_database_during_a_restore_is_refused(sqlite_target: str) -> None:
    store_db.open_database(sqlite_target)
    with store_db.exclusive_lock(Path(sqlite_target)):
        opener = subprocess.run(
            [sys.executable, "-c", _HOLDER.replace("time.sleep(60)", ""), sqlite_target],
            capture_output=True,
            text=True,
        )
    assert opener.returncode != 0
    assert "being restored" in opener.stderr


def test_restore_brings_back_a_database_too_damaged_to_open(
    sqlite_target: str, tmp_path: Path
) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Alice"})
    made = backup.create_backup(actor, sqlite_target, directory=tmp_path / "b")
    store_db.close_database()
    Path(sqlite_target).write_bytes(b"this is not a database" * 100)
    with pytest.raises(store_db.DatabaseOpenError):
        store_db.open_database(sqlite_target)
    result = backup.restore_backup(None, sqlite_target, Path(made.path), Keys())
    store_db.open_database(sqlite_target)
    assert _names(actor) == ["Alice"]
    assert result.safety_copy
    assert Path(result.safety_copy).read_bytes().startswith(b"this is not a database")


# ---------------------------------------------------------------------------------------
# The audit log: the head in the manifest, a row for each backup and restore


def _audit_rows() -> list[m.AuditEntry]:
    return list(m.AuditEntry.select().order_by(m.AuditEntry.seq))


def test_a_backup_records_the_audit_head_it_holds_and_is_recorded(
    db: str, actor: Actor, make: Make, tmp_path: Path
) -> None:
    customers.add_customer(actor, {"name": "Alice"})
    before = audit.head()
    made = make()
    assert made.manifest.audit_head == before
    assert backup.read_manifest(Path(made.path)).audit_head == before
    # The backup's own row comes after it: not in the backup, one past the manifest's head.
    last = _audit_rows()[-1]
    assert (last.seq, last.action, last.target, last.result) == (
        before.seq + 1,
        "backup",
        Path(made.path).name,
        "ok",
    )
    assert last.user_name == actor.name
    anchors = backup.audit_anchors(actor, db, tmp_path / "backups")
    assert [(a.seq, a.hash, a.source) for a in anchors] == [
        (before.seq, before.hash, Path(made.path).name)
    ]
    assert audit.verify(actor, anchors=anchors).ok


def test_the_head_is_of_the_snapshot_the_backup_copies(sqlite_target: str, tmp_path: Path) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    customers.add_customer(actor, {"name": "Alice"})
    made = backup.create_backup(actor, sqlite_target, directory=tmp_path / "b")
    conn = apsw.Connection(made.path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        held = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    assert made.manifest.audit_head == audit.AuditHeadValue(*held)


def test_a_manifest_without_an_audit_head_still_loads(
    db: str, actor: Actor, make: Make, tmp_path: Path
) -> None:
    made = make()
    path = backup.manifest_path(Path(made.path))
    old = json.loads(path.read_text())
    del old["audit_head"]  # as crmtui wrote manifests before it recorded the head
    path.write_text(json.dumps(old))
    assert backup.read_manifest(Path(made.path)).audit_head is None
    backup.verify_backup(Path(made.path), Keys())
    assert backup.audit_anchors(actor, db, tmp_path / "backups") == ()


def test_a_failed_backup_is_recorded_as_failed(db: str, actor: Actor, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with pytest.raises(BackupError):
        backup.create_backup(actor, db, directory=blocked / "backups")
    last = _audit_rows()[-1]
    assert (last.action, last.result) == ("backup", "failed")
    assert "cannot make backup directory" in last.detail


def test_a_restore_is_recorded_in_the_restored_log(
    db: str, actor: Actor, make: Make, tmp_path: Path
) -> None:
    customers.add_customer(actor, {"name": "Alice"})
    made = make()
    held = made.manifest.audit_head
    assert held is not None
    customers.add_customer(actor, {"name": "Later"})
    later = make()  # of the log the restore replaces
    replaced = audit.head()

    backup.restore_backup(actor, db, Path(made.path), Keys())
    store_db.open_database(db)
    rows = _audit_rows()
    restore = rows[-1]
    assert (restore.seq, restore.action, restore.target, restore.result) == (
        held.seq + 1,
        "restore",
        Path(made.path).name,
        "ok",
    )
    assert restore.user_name == actor.name
    assert f"backup_head={held.seq}" in restore.detail
    assert f"replaced_head={replaced.seq}:{replaced.hash}" in restore.detail
    assert [row.action for row in rows].count("backup") == 0  # the backup's row came after it
    # The backups of the replaced log are told apart from a log cut short: notes, not faults.
    report = audit.verify(actor, anchors=backup.audit_anchors(actor, db, tmp_path / "backups"))
    assert report.ok, report.problems
    assert any(Path(later.path).name in note for note in report.notes)
    if store_db.is_postgres_url(db):
        # The restore's safety backup went to the usual place, with the replaced log's head.
        safety = backup.audit_anchors(actor, db)
        assert [(a.seq, a.hash) for a in safety] == [(replaced.seq, replaced.hash)]
        report = audit.verify(actor, anchors=safety)
        assert report.ok and len(report.notes) == 1


def test_a_restore_by_no_one_says_so(sqlite_target: str, tmp_path: Path) -> None:
    store_db.open_database(sqlite_target)
    actor = users.local_actor()
    made = backup.create_backup(actor, sqlite_target, directory=tmp_path / "b")
    store_db.close_database()
    Path(sqlite_target).write_bytes(b"this is not a database" * 100)
    backup.restore_backup(None, sqlite_target, Path(made.path), Keys())
    store_db.open_database(sqlite_target)
    restore = _audit_rows()[-1]
    assert (restore.action, restore.user_name, restore.user_id) == ("restore", "", None)
    assert "replaced_head=unknown" in restore.detail
    assert audit.verify(actor).ok
