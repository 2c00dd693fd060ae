"""Backups (SPEC F9): made while staff work, checked, listed, rotated and restored.

SQLite. A backup is SQLite's online backup API run inside one read transaction of its own
connection: the copy is the database as of that transaction's start, while others go on
writing to the WAL (stepping without the transaction would restart the copy at every write
of another process, for ever under steady work). The row counts of the manifest are read in
the same transaction, so they describe the copy exactly. The copy goes into a file that has no
name until it is complete (`scratch.PendingFile`); an encrypted backup's plaintext goes into
a nameless scratch file and is encrypted from there, so no plaintext ever has a name.

PostgreSQL. `pg_dump -Fc` of crmtui's schema, from a snapshot exported by a transaction of
our own that reads the row counts too; its output is streamed through the hash (and the
encryption) to the file. Verify replays the archive with `pg_restore` into a counter; restore
replays it into `psql` in one transaction, after dropping the schema.

Every backup has a manifest beside it, `NAME.manifest.json`: when, what made it, the schema
version, the row count of each table, the audit log's head (its last row and hash), the size
and SHA-256 of the file. Verify checks the file against it, then the database inside
(decrypted to a nameless file when encrypted). The head is read in the snapshot the backup
copies, on both backends, so it is the last audit row the backup holds; `audit verify` holds
the log to the heads of the backups it finds (`audit_anchors`), which catches a log cut back
or rewritten after a backup.

A backup writes an audit row (after it, so the row is not in the backup); a restore writes
one into the restored database, naming the backup and the head of the log it replaced.
"""

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import apsw
import platformdirs

from crmtui import __version__
from crmtui.config import APP_NAME, current_settings
from crmtui.i18n import _
from crmtui.store import audit, scratch
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.audit import Anchor, AuditHeadValue
from crmtui.store.encryption import (
    HashingWriter,
    Keys,
    decrypt_stream,
    encrypt_stream,
    mode_of,
)
from crmtui.store.errors import DatabaseFailure, StoreError
from crmtui.store.permissions import AUDIT_READ, DATABASE_BACKUP, DATABASE_RESTORE, authorize
from crmtui.store.types import Actor

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "crmtui-backup/1"
# Pages copied between progress reports (4 MiB at SQLite's default page size).
_STEP_PAGES = 1024
_CHUNK = 1 << 20
_MAP_AT_MOST = 1 << 40  # bytes of the database mapped into memory while it is copied
_REPORT_EVERY = 4 << 20  # bytes hashed between progress reports, as many as a copy's step
_NAME = re.compile(r"(?P<stem>.+)-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.(?:db|dump)(?:\.age)?")
STALE_AFTER = dt.timedelta(days=7)

# Called with what is being done, the bytes done and the bytes in all (None: not known).
Progress = Callable[[str, int, int | None], None]


class BackupError(StoreError):
    """A backup, verify or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class Manifest:
    file: str
    created_at: str  # UTC, ISO 8601
    backend: str  # "sqlite" or "postgresql"
    database: str  # the path or the URL without its password
    crmtui_version: str
    library_version: str  # SQLite's, or the PostgreSQL server's
    tool_version: str  # "apsw …" or "pg_dump …"
    schema_version: int
    tables: dict[str, int]
    size: int
    sha256: str
    encryption: str | None  # None, "recipient" or "passphrase"
    recipients: tuple[str, ...] = ()
    verified_at: str | None = None
    format: str = MANIFEST_FORMAT
    # The audit log's last row and hash in the backup; None in manifests made before crmtui
    # recorded it (they still load) and for a database without an audit log.
    audit_head: AuditHeadValue | None = None

    def write(self, path: Path) -> None:
        """Write the manifest beside its backup, replacing any (the pending-file way)."""
        data = json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2) + "\n"
        pending = scratch.PendingFile(path.with_name(path.name + ".new"))
        try:
            os.write(pending.fd, data.encode())
            pending.publish()
        finally:
            pending.close()
        os.replace(pending.final, path)
        scratch.fsync_directory(path.parent)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def read_manifest(backup: Path) -> Manifest:
    path = manifest_path(backup)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError("unknown format")
        data["recipients"] = tuple(data.get("recipients", ()))
        if (head := data.get("audit_head")) is not None:
            data["audit_head"] = AuditHeadValue(int(head["seq"]), str(head["hash"]))
        return Manifest(**data)
    except FileNotFoundError:
        raise BackupError(
            _("{backup} has no manifest ({manifest} is missing)").format(
                backup=backup, manifest=path.name
            )
        ) from None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BackupError(
            _("{manifest} is not a crmtui backup manifest: {error}").format(
                manifest=path, error=exc
            )
        ) from None


@dataclass(frozen=True)
class BackupResult:
    path: str
    manifest: Manifest
    removed: tuple[str, ...]  # older backups rotated away
    seconds: float


@dataclass(frozen=True)
class BackupInfo:
    path: str
    created_at: dt.datetime
    size: int
    encryption: str | None
    verified_at: str | None
    manifest: bool  # False: no readable manifest beside it (cannot be verified)

    @property
    def age(self) -> dt.timedelta:
        return dt.datetime.now(dt.UTC) - self.created_at


@dataclass(frozen=True)
class VerifyReport:
    path: str
    backend: str
    encryption: str | None
    created_at: str
    schema_version: int
    tables: dict[str, int]
    checks: tuple[str, ...]  # what was checked and passed


@dataclass(frozen=True)
class RestoreResult:
    path: str
    target: str
    created_at: str
    schema_version: int
    tables: dict[str, int]
    safety_copy: str | None  # the database as it was before, kept


# ---------------------------------------------------------------------------------------
# Where backups live and what they are called


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_path(target: str) -> Path:
    return Path(target).expanduser().absolute()


def _pg_names(target: str) -> tuple[str, str]:
    """The database and the schema crmtui uses on the server named by `target`."""
    db = store_db.current_database()
    return tuple(db.execute_sql("SELECT current_database(), current_schema()").fetchone())


def backup_stem(target: str) -> str:
    if not store_db.is_postgres_url(target):
        return _sqlite_path(target).stem
    database, schema = _pg_names(target)
    return database if schema == "public" else f"{database}-{schema}"


def default_backup_dir(target: str) -> Path:
    """Config's [backup] dir, else `backups/` beside a SQLite file, else in the data dir."""
    if configured := current_settings().backup_dir:
        return Path(configured)
    if store_db.is_postgres_url(target):
        return Path(platformdirs.user_data_dir(APP_NAME)) / "backups"
    return _sqlite_path(target).parent / "backups"


def _backup_files(directory: Path, stem: str) -> list[tuple[tuple[str, int], Path]]:
    """This database's backups in `directory`, newest first, with their sort keys."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match and match["stem"] == stem and path.is_file():
            found.append(((match["stamp"], int(match["n"] or 0)), path))
    return sorted(found, reverse=True)


def _new_name(directory: Path, stem: str, suffix: str, now: dt.datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        base = f"{stem}-{stamp}{f'-{n}' if n else ''}"
        # Unique whatever the suffix, so that names sort in the order the backups were made.
        if not any(path.name.startswith(base + ".") for path in directory.iterdir()):
            return directory / (base + suffix)
    raise BackupError(_("too many backups made this second in {dir}").format(dir=directory))


def list_backups(actor: Actor, target: str, directory: Path | None = None) -> list[BackupInfo]:
    """This database's backups in `directory` (default: `default_backup_dir`), newest first."""
    authorize(actor, DATABASE_BACKUP)
    directory = directory or default_backup_dir(target)
    return [_info(path) for _key, path in _backup_files(directory, backup_stem(target))]


def _info(path: Path) -> BackupInfo:
    stat = path.stat()
    try:
        manifest = read_manifest(path)
    except BackupError:
        with path.open("rb") as file:
            encryption = mode_of(file.read(4096))
        created = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
        return BackupInfo(str(path), created, stat.st_size, encryption, None, manifest=False)
    return BackupInfo(
        str(path),
        dt.datetime.fromisoformat(manifest.created_at),
        stat.st_size,
        manifest.encryption,
        manifest.verified_at,
        manifest=True,
    )


def newest_backup(target: str, directory: Path | None = None) -> BackupInfo | None:
    """The newest backup of the open database, for `doctor` and the status line."""
    directory = directory or default_backup_dir(target)
    files = _backup_files(directory, backup_stem(target))
    return _info(files[0][1]) if files else None


def audit_anchors(actor: Actor, target: str, directory: Path | None = None) -> tuple[Anchor, ...]:
    """The audit heads the manifests of this database's backups in `directory` (default:
    `default_backup_dir`) recorded, for `audit.verify`. A backup without a readable manifest,
    or whose manifest has no head (made by an older crmtui), gives none."""
    authorize(actor, AUDIT_READ)
    directory = directory or default_backup_dir(target)
    found = []
    for _key, path in _backup_files(directory, backup_stem(target)):
        try:
            manifest = read_manifest(path)
        except BackupError:
            continue
        if manifest.audit_head is None:
            continue
        made = dt.datetime.fromisoformat(manifest.created_at)
        made = made.astimezone(dt.UTC).replace(tzinfo=None) if made.tzinfo else made
        head = manifest.audit_head
        found.append(Anchor(head.seq, head.hash, source=path.name, recorded_at=made))
    return tuple(found)


@dataclass(frozen=True)
class Freshness:
    """How old the newest backup is, for the app's status line."""

    path: str | None  # the newest backup; None when there is none
    age: dt.timedelta | None

    @property
    def stale(self) -> bool:
        return self.age is None or self.age > STALE_AFTER


def backup_freshness(actor: Actor, target: str) -> Freshness:
    """The newest backup's age, from the file names and one manifest beside the database:
    cheap enough to read every minute, and the SQLite database is not touched. The age is
    by the store's clock (`m.utcnow`), as everything the app shows."""
    authorize(actor, DATABASE_BACKUP)
    newest = newest_backup(target)
    if newest is None:
        return Freshness(None, None)
    now = m.utcnow().replace(tzinfo=dt.UTC)
    return Freshness(newest.path, max(now - newest.created_at, dt.timedelta(0)))


def _rotate(directory: Path, stem: str, keep: int, made: Path) -> tuple[str, ...]:
    removed = []
    for _key, path in _backup_files(directory, stem)[keep:]:
        if path == made:
            continue
        path.unlink(missing_ok=True)
        manifest_path(path).unlink(missing_ok=True)
        removed.append(str(path))
    return tuple(removed)


# ---------------------------------------------------------------------------------------
# Making a backup


def _table_names() -> list[str]:
    return [store_db.SchemaVersion._meta.table_name] + [
        model._meta.table_name for model in m.ALL_MODELS
    ]


def _counts(execute: Callable[[str], Any], present: set[str]) -> dict[str, int]:
    return {
        name: int(execute(f'SELECT count(*) FROM "{name}"')[0][0])
        for name in _table_names()
        if name in present
    }


def _audit_head(execute: Callable[[str], Any], present: set[str]) -> AuditHeadValue | None:
    """The audit log's head as the snapshot `execute` reads sees it (None: no audit log)."""
    head_table, log_table = m.AuditHead._meta.table_name, m.AuditEntry._meta.table_name
    if head_table not in present:
        return None
    rows = execute(f'SELECT seq, hash FROM "{head_table}" WHERE id = {int(m.AUDIT_HEAD_ID)}')
    if not rows and log_table in present:
        # The head row removed: the log's last row, as `audit` itself carries on from.
        rows = execute(f'SELECT seq, hash FROM "{log_table}" ORDER BY seq DESC LIMIT 1')
    return (
        AuditHeadValue(int(rows[0][0]), str(rows[0][1]))
        if rows
        else AuditHeadValue(0, audit.GENESIS)
    )


def _schema_version(execute: Callable[[str], Any], present: set[str]) -> int:
    if "schema_version" not in present:
        return 0
    rows = execute("SELECT version FROM schema_version")
    return int(rows[0][0]) if rows else 0


def create_backup(
    actor: Actor,
    target: str,
    *,
    directory: Path | None = None,
    keep: int | None = None,
    keys: Keys | None = None,
    progress: Progress | None = None,
) -> BackupResult:
    """Back up the open database into `directory`; with `keys`, encrypted (age). `keep`
    removes this database's oldest backups beyond that many, once the new one is complete.

    The audit row is written after the backup, ok or failed: it is not in the backup, whose
    manifest's head is the row before it."""
    authorize(actor, DATABASE_BACKUP)
    try:
        made = _make_backup(target, directory, keep, keys, progress)
    except BaseException as exc:
        # The attempt is recorded whatever stopped it; what the reason says stays readable.
        reason = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
        where = str(directory or default_backup_dir(target))
        with contextlib.suppress(StoreError, DatabaseFailure):
            # The file was never named; the directory (the target column holds 64 characters
            # at most) and the reason say where and why.
            audit.record(actor, "backup", target=where[-64:], detail=reason[:500], result="failed")
        raise
    mode = made.manifest.encryption or "plain"
    audit.record(actor, "backup", target=Path(made.path).name, detail=mode)
    return made


def _make_backup(
    target: str,
    directory: Path | None,
    keep: int | None,
    keys: Keys | None,
    progress: Progress | None,
) -> BackupResult:
    if keep is not None and keep < 1:
        raise BackupError(_("--keep must be 1 or more"))
    started = _now()
    directory = directory or default_backup_dir(target)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(
            _("cannot make backup directory {dir}: {error}").format(
                dir=directory, error=exc.strerror
            )
        ) from None
    if not os.access(directory, os.W_OK):
        raise BackupError(_("cannot write to backup directory {dir}").format(dir=directory))
    postgres = store_db.is_postgres_url(target)
    stem = backup_stem(target)
    suffix = (".dump" if postgres else ".db") + (".age" if keys else "")
    final = _new_name(directory, stem, suffix, started)
    pending = scratch.PendingFile(final)
    try:
        if postgres:
            made = _pg_backup(target, pending, keys, progress)
        else:
            made = _sqlite_backup(_sqlite_path(target), pending, keys, progress)
        manifest = Manifest(
            file=final.name,
            created_at=started.isoformat(),
            backend="postgresql" if postgres else "sqlite",
            database=store_db.redact_url(target) if postgres else str(_sqlite_path(target)),
            crmtui_version=__version__,
            encryption=None if keys is None else ("passphrase" if keys.passphrase else "recipient"),
            recipients=keys.recipients if keys and not keys.passphrase else (),
            **{field.name: getattr(made, field.name) for field in dataclasses.fields(made)},
        )
        # The manifest first: a backup under its final name always has one.
        manifest.write(manifest_path(final))
        pending.publish()
    except OSError as exc:
        manifest_path(final).unlink(missing_ok=True)
        raise BackupError(
            _("cannot write backup in {dir}: {error}").format(
                dir=directory, error=exc.strerror or exc
            )
        ) from None
    finally:
        pending.close()
    removed = _rotate(directory, stem, keep, final) if keep else ()
    return BackupResult(str(final), manifest, removed, (_now() - started).total_seconds())


def _hash_and_sync(fd: int, progress: Progress | None) -> tuple[int, str]:
    """The file's size and SHA-256, read while a thread syncs the file to disk: the one is
    the CPU's work and the other the disk's (at a million customers, 4.3 GB: about 6 s and
    3.5 s one after the other), so they overlap."""
    total = os.fstat(fd).st_size
    failed: list[OSError] = []

    def sync() -> None:
        try:
            os.fsync(fd)
        except OSError as exc:  # raised in the backup's thread, below
            failed.append(exc)

    syncing = threading.Thread(target=sync, daemon=True)
    syncing.start()
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(os.dup(fd), "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if progress and (size % _REPORT_EVERY == 0 or size == total):
                    progress(_("checking"), size, total)
    finally:
        syncing.join()
    if failed:
        raise failed[0]
    return size, digest.hexdigest()


@dataclass(frozen=True)
class _Made:
    """What a backend's backup step found out, for the manifest."""

    library_version: str
    tool_version: str
    schema_version: int
    tables: dict[str, int]
    size: int
    sha256: str
    audit_head: AuditHeadValue | None


def _sqlite_backup(
    path: Path, pending: scratch.PendingFile, keys: Keys | None, progress: Progress | None
) -> _Made:
    if keys is None:
        tables, version, head = _sqlite_copy(path, pending.fd, progress)
        size, sha256 = _hash_and_sync(pending.fd, progress)
    else:
        plain = scratch.scratch_file(pending.final.parent)
        try:
            tables, version, head = _sqlite_copy(path, plain, progress)
            total = os.fstat(plain).st_size
            writer = HashingWriter(
                pending.fd, (lambda d: progress(_("encrypting"), d, total)) if progress else None
            )
            with os.fdopen(os.dup(plain), "rb") as source:
                source.seek(0)
                encrypt_stream(source, writer, keys)
            size, sha256 = writer.size, writer.sha256.hexdigest()
        finally:
            os.close(plain)
    tool = f"apsw {apsw.apsw_version()}"
    return _Made(apsw.sqlite_lib_version(), tool, version, tables, size, sha256, head)


def _sqlite_copy(
    path: Path, dest_fd: int, progress: Progress | None
) -> tuple[dict[str, int], int, AuditHeadValue | None]:
    """Copy the database at `path` into the empty file `dest_fd`, as of one moment; return the
    row counts, schema version and audit head of that moment."""
    source = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        source.set_busy_timeout(store_db.BUSY_TIMEOUT_SECONDS * 1000)
        # The pages are read from a map of the file, not by a read call each: about a fifth
        # less CPU for the copy (a million customers' database has a million pages). Pages
        # still in the WAL are read as usual; SQLite maps at most what it was built to allow.
        # The price: a disk error under the map kills the process (SIGBUS) instead of raising;
        # the copy has no name yet, so nothing half-made is left either way.
        source.execute(f"PRAGMA mmap_size={_MAP_AT_MOST}")

        def execute(sql: str) -> list[tuple]:
            return source.execute(sql).fetchall()

        # The first read starts the transaction whose snapshot the backup steps copy: the
        # backup API keeps a read transaction it did not open.
        source.execute("BEGIN")
        present = {row[0] for row in execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        tables = _counts(execute, present)
        version = _schema_version(execute, present)
        head = _audit_head(execute, present)
        page = execute("PRAGMA page_size")[0][0]
        with (
            scratch.open_fd_database(dest_fd, read_only=False) as dest,
            dest.backup("main", source, "main") as step,
        ):
            while not step.done:
                step.step(_STEP_PAGES)
                if progress:
                    done = step.pagecount - step.remaining
                    progress(_("copying"), done * page, step.pagecount * page)
        source.execute("COMMIT")
    except apsw.Error as exc:
        raise BackupError(
            _("cannot back up {path}: {error}").format(path=path, error=exc)
        ) from None
    finally:
        source.close()
    return tables, version, head


# PostgreSQL ------------------------------------------------------------------------------


def _pg_connection_args(target: str) -> tuple[str, dict[str, str]]:
    """The conninfo for the PostgreSQL tools, with any password moved to the environment
    (the command line of a process is visible to every local user)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if target.startswith("postgres://"):
        target = "postgresql://" + target.removeprefix("postgres://")
    params = conninfo_to_dict(target)
    env = dict(os.environ)
    if password := params.pop("password", None):
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            _("{tool} is not installed; PostgreSQL backups need its client tools").format(tool=name)
        )
    return found


def _tool_failed(name: str, code: int, stderr: IO[bytes]) -> BackupError:
    stderr.seek(0)
    lines = [line for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
    detail = " ".join(lines[-1].split()) if lines else f"exit status {code}"
    return BackupError(_("{tool} failed: {error}").format(tool=name, error=detail))


def _pg_backup(
    target: str, pending: scratch.PendingFile, keys: Keys | None, progress: Progress | None
) -> _Made:
    import psycopg

    pg_dump = _tool("pg_dump")
    conninfo, env = _pg_connection_args(target)
    with psycopg.connect(target, autocommit=True) as conn:
        # A snapshot of our own that pg_dump reads from: the row counts are of its moment.
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        schema = conn.execute("SELECT current_schema()").fetchone()[0]

        def execute(sql: str) -> list[tuple]:
            return conn.execute(sql).fetchall()

        present = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).fetchall()
        }
        tables = _counts(execute, present)
        version = _schema_version(execute, present)
        # In the snapshot pg_dump reads too: exactly the last audit row the dump holds.
        head = _audit_head(execute, present)
        server = conn.execute("SHOW server_version").fetchone()[0]
        command = [pg_dump, "-Fc", "--snapshot", snapshot, "-n", schema, "-d", conninfo]
        report = (lambda done: progress(_("dumping"), done, None)) if progress else None
        writer = HashingWriter(pending.fd, report)
        with tempfile.TemporaryFile() as stderr:
            dump = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)
            assert dump.stdout is not None
            try:
                if keys is None:
                    while chunk := dump.stdout.read(_CHUNK):
                        writer.write(chunk)
                else:
                    encrypt_stream(dump.stdout, writer, keys)
            finally:
                dump.stdout.close()
                code = dump.wait()
            if code != 0:
                raise _tool_failed("pg_dump", code, stderr)
        conn.execute("COMMIT")
    tool = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout.strip()
    return _Made(server, tool, version, tables, writer.size, writer.sha256.hexdigest(), head)


# ---------------------------------------------------------------------------------------
# Verifying


def _check_file(path: Path, manifest: Manifest) -> None:
    size = path.stat().st_size
    if size != manifest.size:
        raise BackupError(
            _("{path} is damaged or incomplete: {size} bytes, the manifest says {expected}").format(
                path=path, size=size, expected=manifest.size
            )
        )
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    if digest != manifest.sha256:
        raise BackupError(
            _("{path} is damaged: its SHA-256 differs from the manifest's").format(path=path)
        )


def _open_backup(path: Path) -> tuple[Manifest, str | None]:
    """The backup's manifest and encryption, once its file is found to match the manifest."""
    if not path.is_file():
        raise BackupError(_("{path}: no such backup file").format(path=path))
    manifest = read_manifest(path)
    _check_file(path, manifest)
    with path.open("rb") as file:
        encryption = mode_of(file.read(4096))
    if encryption != manifest.encryption:
        raise BackupError(
            _("{path} does not match its manifest (encrypted: {found}, manifest: {said})").format(
                path=path, found=encryption or "no", said=manifest.encryption or "no"
            )
        )
    return manifest, encryption


def verify_backup(path: Path, keys: Keys, progress: Progress | None = None) -> VerifyReport:
    """Check a backup: its file against the manifest, then what it holds; BackupError with
    the first fault found.

    It reads only the file and its manifest, never the database, so it runs anywhere a copy
    of the backup is (the off-site disk, another machine) and needs no permission there.
    """
    manifest, encryption = _open_backup(path)
    checks = ["size and SHA-256 match the manifest"]
    if encryption:
        checks.append("decrypted (age)")
    if manifest.backend == "sqlite":
        with _plain_sqlite(path, encryption, keys, path.parent, progress) as fd:
            checks += _check_sqlite_copy(fd, manifest)
    else:
        _pg_replay(path, encryption, keys, manifest, sink=None, progress=progress)
        checks.append("pg_restore read the whole archive; row counts match the manifest")
    with contextlib.suppress(OSError):  # a read-only copy (off-site) is verified all the same
        manifest = dataclasses.replace(manifest, verified_at=_now().isoformat())
        manifest.write(manifest_path(path))
    return VerifyReport(
        str(path),
        manifest.backend,
        encryption,
        manifest.created_at,
        manifest.schema_version,
        manifest.tables,
        tuple(checks),
    )


@contextlib.contextmanager
def _plain_sqlite(
    path: Path, encryption: str | None, keys: Keys, where: Path, progress: Progress | None
) -> Iterator[int]:
    """A descriptor of the backup's database: the file itself, or its decryption in a
    nameless file in `where` (falling back to the temporary directory)."""
    if encryption is None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    try:
        fd = scratch.scratch_file(where)
    except OSError:
        fd = scratch.scratch_file(Path(tempfile.gettempdir()))
    try:
        size = path.stat().st_size
        report = (lambda done: progress(_("decrypting"), done, size)) if progress else None
        writer = HashingWriter(fd, report)
        with path.open("rb") as source:
            decrypt_stream(source, writer, encryption, keys)
        yield fd
    finally:
        os.close(fd)


def _check_sqlite_copy(fd: int, manifest: Manifest) -> list[str]:
    try:
        with scratch.open_fd_database(fd, read_only=True) as conn:

            def execute(sql: str) -> list[tuple]:
                return conn.execute(sql).fetchall()

            found = [row[0] for row in execute("PRAGMA integrity_check(5)")]
            if found != ["ok"]:
                raise BackupError(
                    _("the database in the backup is damaged: {found}").format(
                        found=" ".join("; ".join(map(str, found)).split())
                    )
                )
            broken = execute("PRAGMA foreign_key_check")
            if broken:
                raise BackupError(
                    _(
                        "the database in the backup has {n} broken references (first in {table})"
                    ).format(n=len(broken), table=broken[0][0])
                )
            present = {
                row[0] for row in execute("SELECT name FROM sqlite_schema WHERE type='table'")
            }
            tables = _counts(execute, present)
            version = _schema_version(execute, present)
    except apsw.Error as exc:
        raise BackupError(
            _("the backup does not hold a usable database: {error}").format(error=exc)
        ) from None
    _compare(tables, version, manifest)
    return ["integrity_check ok", "foreign_key_check ok", "row counts match the manifest"]


def _compare(tables: dict[str, int], version: int, manifest: Manifest) -> None:
    if version != manifest.schema_version:
        raise BackupError(
            _("the backup holds schema version {found}, the manifest says {said}").format(
                found=version, said=manifest.schema_version
            )
        )
    for name in sorted(set(tables) | set(manifest.tables)):
        if tables.get(name) != manifest.tables.get(name):
            raise BackupError(
                _("table {table} holds {found} rows, the manifest says {said}").format(
                    table=name, found=tables.get(name, 0), said=manifest.tables.get(name, 0)
                )
            )


_COPY = re.compile(rb'COPY (?:"?[^\s."]+"?\.)?"?([^\s"(]+)"? \(')


class _CopyCounter:
    """Counts the data rows of each COPY block in `pg_restore`'s SQL output, passing the
    text on to `sink` (psql) when there is one. A row is one line: COPY escapes newlines."""

    def __init__(self, sink: IO[bytes] | None) -> None:
        self.sink = sink
        self.tables: dict[str, int] = {}
        self._table: str | None = None

    def feed(self, line: bytes) -> None:
        if self._table is not None:
            if line == b"\\.\n":
                self._table = None
            else:
                self.tables[self._table] += 1
        elif line.startswith(b"COPY ") and (match := _COPY.match(line)):
            self._table = match[1].decode()
            self.tables.setdefault(self._table, 0)
        if self.sink is not None:
            self.sink.write(line)


def _pg_replay(
    path: Path,
    encryption: str | None,
    keys: Keys,
    manifest: Manifest,
    sink: IO[bytes] | None,
    progress: Progress | None,
) -> None:
    """Run the archive through `pg_restore -f -` (decrypting it on the way in) and count its
    rows against the manifest; the SQL goes on to `sink` when given."""
    pg_restore = _tool("pg_restore")
    size = path.stat().st_size
    with tempfile.TemporaryFile() as stderr:
        restore = subprocess.Popen(
            [pg_restore, "--no-owner", "--no-privileges", "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert restore.stdin is not None and restore.stdout is not None
        failure: list[BaseException] = []

        def feed() -> None:
            # In a thread: pg_restore's output is read here meanwhile, or both would block.
            assert restore.stdin is not None
            try:
                report = (lambda d: progress(_("reading"), d, size)) if progress else None
                writer = HashingWriter(restore.stdin.fileno(), report)
                with path.open("rb") as source:
                    if encryption is None:
                        while chunk := source.read(_CHUNK):
                            writer.write(chunk)
                    else:
                        decrypt_stream(source, writer, encryption, keys)
            except BaseException as exc:  # handed to the main thread
                failure.append(exc)
            finally:
                restore.stdin.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        counter = _CopyCounter(sink)
        for line in restore.stdout:
            counter.feed(line)
        feeder.join()
        code = restore.wait()
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0]
        if code != 0:
            raise _tool_failed("pg_restore", code, stderr)
    counts = {name: counter.tables.get(name, 0) for name in manifest.tables}
    extra = set(counter.tables) - set(manifest.tables)
    if extra:
        raise BackupError(
            _("the backup holds tables the manifest does not name: {tables}").format(
                tables=", ".join(sorted(extra))
            )
        )
    _compare(counts, manifest.schema_version, manifest)


# ---------------------------------------------------------------------------------------
# Restoring


def restore_backup(
    actor: Actor | None,
    target: str,
    path: Path,
    keys: Keys,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Replace the database with a backup, verified first; the database as it was is kept.

    `actor` is None when the database cannot be opened (the reason to restore): then, on
    SQLite, the file system's permissions are the only gate, as they are for the file itself.
    """
    if actor is not None:
        authorize(actor, DATABASE_RESTORE)
    manifest, encryption = _open_backup(path)
    postgres = store_db.is_postgres_url(target)
    if (manifest.backend == "postgresql") != postgres:
        raise BackupError(
            _("{path} is a {backend} backup; it cannot be restored into {target}").format(
                path=path, backend=manifest.backend, target=store_db.redact_url(target)
            )
        )
    if manifest.schema_version > store_db.SCHEMA_VERSION:
        raise BackupError(
            _(
                "{path} holds schema version {found}, newer than this crmtui ({mine}); upgrade"
            ).format(path=path, found=manifest.schema_version, mine=store_db.SCHEMA_VERSION)
        )
    # The head of the log about to be replaced, for the restore's audit row (None: the
    # database could not be opened, or holds no readable head).
    replaced = None
    if actor is not None:
        with contextlib.suppress(StoreError, DatabaseFailure):
            replaced = audit.head()
    try:
        if postgres:
            safety = _pg_restore(target, path, encryption, keys, manifest, force, progress)
        else:
            safety = _sqlite_restore(_sqlite_path(target), path, encryption, keys, manifest, force)
    except BaseException as exc:
        # Nothing was replaced (a restore either completes or leaves the database as it was),
        # so the attempt goes into the database as it is, when there is one to write to.
        if actor is not None:
            _record_failed_restore(actor, target, path, exc, postgres)
        raise
    _record_restore(actor, target, path, manifest, replaced, postgres)
    return RestoreResult(
        str(path),
        store_db.redact_url(target),
        manifest.created_at,
        manifest.schema_version,
        manifest.tables,
        safety,
    )


def _record_restore(
    actor: Actor | None,
    target: str,
    path: Path,
    manifest: Manifest,
    replaced: AuditHeadValue | None,
    postgres: bool,
) -> None:
    """Write the restore's row into the restored database's log, so the log says it was
    restored, from which backup, by whom (no one: the database could not be opened), and
    where the log it replaced ended (`audit.verify` reads that to tell the backups of the
    replaced log from a log cut short).

    A SQLite database is opened for it and closed again (the restore closed it, and the
    caller opens it anew); opening upgrades the schema of a backup made by an older crmtui,
    as the next opening would. PostgreSQL's connection reads the restored schema as it is."""
    detail = audit.restore_detail(replaced, manifest.audit_head)
    if not postgres:
        store_db.open_database(target)
    try:
        audit.record(actor, audit.RESTORE, target=path.name[:64], detail=detail)
    finally:
        if not postgres:
            store_db.close_database()


def _record_failed_restore(
    actor: Actor, target: str, path: Path, exc: BaseException, postgres: bool
) -> None:
    reason = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
    with contextlib.suppress(StoreError, DatabaseFailure):
        if not postgres:
            store_db.open_database(target)  # the restore may have closed it before failing
        try:
            audit.record(
                actor, audit.RESTORE, target=path.name[:64], detail=reason[:500], result="failed"
            )
        finally:
            if not postgres:
                store_db.close_database()  # as after a restore: the caller opens it anew


def _safety_name(database: Path) -> Path:
    stamp = _now().strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        name = database.with_name(f"{database.name}.before-restore-{stamp}{f'-{n}' if n else ''}")
        if not name.exists():
            return name
    raise BackupError(_("too many safety copies this second beside {db}").format(db=database))


def _sqlite_restore(
    database: Path,
    path: Path,
    encryption: str | None,
    keys: Keys,
    manifest: Manifest,
    force: bool,
) -> str | None:
    directory = database.parent
    pending = scratch.PendingFile(database)
    try:
        # The restored database is made nameless beside the database and checked there, so a
        # restore that fails (or is killed) leaves the database as it was.
        if encryption is None:
            with path.open("rb") as source, os.fdopen(os.dup(pending.fd), "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
        else:
            with path.open("rb") as source:
                decrypt_stream(source, HashingWriter(pending.fd), encryption, keys)
        _check_sqlite_copy(pending.fd, manifest)
        os.fsync(pending.fd)
        store_db.close_database()
        with store_db.exclusive_lock(database, force=force):
            safety = _set_aside(database)
            pending.publish()
    except OSError as exc:
        raise BackupError(
            _("cannot restore into {dir}: {error}").format(dir=directory, error=exc.strerror or exc)
        ) from None
    finally:
        pending.close()
    return str(safety) if safety else None


def _set_aside(database: Path) -> Path | None:
    """Move the database (with what its WAL holds) to a safety copy, and remove its -wal and
    -shm: left beside the restored file, SQLite would apply the old WAL to it."""
    wal, shm = (database.with_name(database.name + suffix) for suffix in ("-wal", "-shm"))
    if not database.exists():
        wal.unlink(missing_ok=True)
        shm.unlink(missing_ok=True)
        return None
    # Fold the WAL into the file first, so the safety copy is one self-contained file; a
    # damaged database may refuse, and then its WAL goes along beside it.
    with contextlib.suppress(apsw.Error):
        conn = apsw.Connection(str(database))
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    safety = _safety_name(database)
    os.rename(database, safety)
    if wal.exists() and wal.stat().st_size > 0:
        os.rename(wal, safety.with_name(safety.name + "-wal"))
    wal.unlink(missing_ok=True)
    shm.unlink(missing_ok=True)
    return safety


def _pg_restore(
    target: str,
    path: Path,
    encryption: str | None,
    keys: Keys,
    manifest: Manifest,
    force: bool,
    progress: Progress | None,
) -> str | None:
    # Verified in full before anything changes: the same replay, into nothing.
    _pg_replay(path, encryption, keys, manifest, sink=None, progress=None)
    psql = _tool("psql")
    db = store_db.current_database()
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
    locked = db.execute_sql(f"SELECT pg_try_advisory_lock({store_db.PG_LOCK_KEY})").fetchone()[0]
    if not locked and not force:
        raise store_db.DatabaseInUseError(target)
    try:
        # The database as it is, as a plain backup in the usual place.
        safety = _make_backup(target, None, None, None, None).path
        conninfo, env = _pg_connection_args(target)
        with tempfile.TemporaryFile() as stderr:
            replay = subprocess.Popen(
                [psql, "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
            assert replay.stdin is not None
            quoted = '"' + schema.replace('"', '""') + '"'
            # The archive makes the schema anew; whatever the schema holds now goes first
            # (tables made since the backup included), all in psql's one transaction.
            replay.stdin.write(
                f"SET lock_timeout = '30s';\nDROP SCHEMA IF EXISTS {quoted} CASCADE;\n".encode()
            )
            try:
                _pg_replay(path, encryption, keys, manifest, sink=replay.stdin, progress=progress)
            finally:
                with contextlib.suppress(BrokenPipeError):
                    replay.stdin.close()
                code = replay.wait()
            if code != 0:
                raise _tool_failed("psql", code, stderr)
    finally:
        if locked:
            db.execute_sql(f"SELECT pg_advisory_unlock({store_db.PG_LOCK_KEY})")
    return safety
