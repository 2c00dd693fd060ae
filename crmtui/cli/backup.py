"""`crmtui backup` (make, verify, list, keygen) and `crmtui restore`."""

import datetime as dt
import os
import sys
from pathlib import Path

import click

from crmtui.cli.common import (
    Progress,
    acting_user,
    database_target,
    echo_json,
    json_option,
    progress_bars,
)
from crmtui.config import current_settings
from crmtui.formatting import file_size
from crmtui.i18n import _
from crmtui.store import backup as store_backup
from crmtui.store.db import DatabaseOpenError
from crmtui.store.encryption import PASSPHRASE_ENV, Keys, generate_identity, mode_of

identity_option = click.option(
    "--identity",
    "-i",
    "identity",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("age identity file (from `crmtui backup keygen`) for a backup encrypted to a key."),
)


def _passphrase(*, confirm: bool) -> str:
    """The passphrase from the environment (cron), else typed at the terminal."""
    if passphrase := os.environ.get(PASSPHRASE_ENV):
        return passphrase
    if not sys.stdin.isatty():
        raise click.ClickException(
            _("set {env}, or run on a terminal to type the passphrase").format(env=PASSPHRASE_ENV)
        )
    passphrase = click.prompt(
        _("Passphrase"), hide_input=True, confirmation_prompt=confirm, err=True
    )
    if not passphrase:
        raise click.ClickException(_("the passphrase is empty"))
    return passphrase


def _keys_to_open(path: Path, identity: Path | None) -> Keys:
    """What opens the backup at `path`: its identity file, or a passphrase when it is one."""
    if not path.is_file():
        raise click.ClickException(_("{path}: no such backup file").format(path=path))
    with path.open("rb") as file:
        mode = mode_of(file.read(4096))
    if mode == "passphrase":
        return Keys(passphrase=_passphrase(confirm=False))
    return Keys(identity_file=identity)


def _age(created_at: str | dt.datetime) -> str:
    when = dt.datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
    seconds = int((dt.datetime.now(dt.UTC) - when).total_seconds())
    if seconds < 3600:
        return _("{n} min ago").format(n=max(seconds // 60, 0))
    if seconds < 2 * 86400:
        return _("{n} h ago").format(n=seconds // 3600)
    return _("{n} days ago").format(n=seconds // 86400)


def _in_mib(bars: Progress | None) -> store_backup.Progress | None:
    """The store counts bytes; the bars count MiB."""
    if bars is None:
        return None

    def update(label: str, done: int, total: int | None) -> None:
        bars(label, done >> 20, None if total is None else max(total >> 20, 1))

    return update


@click.group(
    invoke_without_command=True,
    help=_(
        "Back up the database, consistently, while others work.\n\n"
        "Writes NAME-TIME.db (SQLite) or NAME-TIME.dump (PostgreSQL, pg_dump -Fc) with a "
        "manifest beside it (time, versions, row counts, audit log head, SHA-256). With "
        "--encrypt the file is age-encrypted (NAME-TIME.db.age) for the recipients of "
        "--recipient or the config's [backup] recipient; `age -d -i KEYFILE` decrypts it "
        "without crmtui. "
        "Default directory: the config's [backup] dir, else backups/ beside the database."
    ),
)
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help=_("Directory to write to (e.g. a mounted off-site disk)."),
)
@click.option("--keep", type=click.IntRange(min=1), help=_("Keep only the newest N backups."))
@click.option("--encrypt", is_flag=True, help=_("Encrypt (age) for the recipient keys."))
@click.option(
    "--recipient",
    "-r",
    "recipients",
    multiple=True,
    metavar="KEY",
    help=_("age public key (age1…) to encrypt for; repeatable. Implies --encrypt."),
)
@click.option(
    "--passphrase",
    is_flag=True,
    help=_(
        "Encrypt with a passphrase ($CRMTUI_BACKUP_PASSPHRASE, else asked) instead of keys; "
        "held in memory, so up to 1 GiB."
    ),
)
@json_option
@click.pass_context
def backup(
    ctx: click.Context,
    directory: Path | None,
    keep: int | None,
    encrypt: bool,
    recipients: tuple[str, ...],
    passphrase: bool,
    as_json: bool,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    keys = None
    if passphrase:
        if recipients:
            raise click.ClickException(_("--passphrase and --recipient exclude each other"))
        keys = Keys(passphrase=_passphrase(confirm=True))
    elif encrypt or recipients:
        recipients = recipients or current_settings().backup_recipients
        if not recipients:
            raise click.ClickException(
                _(
                    "--encrypt needs a recipient: --recipient age1…, or [backup] recipient in "
                    "the config (crmtui backup keygen makes a key), or use --passphrase"
                )
            )
        keys = Keys(recipients=tuple(recipients))
    actor = acting_user()
    with progress_bars("MiB") as bars:
        result = store_backup.create_backup(
            actor,
            database_target(),
            directory=directory,
            keep=keep,
            keys=keys,
            progress=_in_mib(bars),
        )
    if as_json:
        echo_json(result)
        return
    manifest = result.manifest
    click.echo(
        _("backup {path}: {size}, {rows} rows in {tables} tables, {seconds:.1f} s{enc}").format(
            path=result.path,
            size=file_size(manifest.size),
            rows=sum(manifest.tables.values()),
            tables=len(manifest.tables),
            seconds=result.seconds,
            enc=_(", encrypted ({mode})").format(mode=manifest.encryption)
            if manifest.encryption
            else "",
        )
    )
    for path in result.removed:
        click.echo(_("removed old backup {path}").format(path=path))


@backup.command(
    "keygen",
    help=_(
        "Make an age key pair for encrypted backups: writes the identity (secret) to KEYFILE, "
        "readable by you only, and prints the public key (age1…) to give to --recipient or "
        "[backup] recipient. Keep KEYFILE away from the backups: it alone decrypts them."
    ),
)
@click.option(
    "-o",
    "--output",
    "keyfile",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("File to write the identity to (never overwritten)."),
)
def keygen(keyfile: Path) -> None:
    public = generate_identity(keyfile)
    click.echo(
        _("identity written to {path} (keep it safe, readable by you only)").format(path=keyfile),
        err=True,
    )
    click.echo(public)


@backup.command(
    "verify",
    help=_(
        "Check a backup: size and SHA-256 against its manifest; decrypted when encrypted; "
        "SQLite's integrity_check and foreign_key_check (PostgreSQL: pg_restore reads the "
        "whole archive); row counts against the manifest. Exit status 1 with the reason when "
        "any check fails."
    ),
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@identity_option
@json_option
def verify(file: Path, identity: Path | None, as_json: bool) -> None:
    keys = _keys_to_open(file, identity)
    with progress_bars("MiB") as bars:
        report = store_backup.verify_backup(file, keys, progress=_in_mib(bars))
    if as_json:
        echo_json({**report.__dict__, "ok": True})
        return
    click.echo(
        _("{path}: ok — backup of {created} ({age}), schema {schema}, {rows} rows").format(
            path=report.path,
            created=report.created_at,
            age=_age(report.created_at),
            schema=report.schema_version,
            rows=sum(report.tables.values()),
        )
    )
    for check in report.checks:
        click.echo(f"  ✓ {check}")


@backup.command(
    "list",
    help=_("This database's backups, newest first: time, size, encrypted or not, verified or not."),
)
@click.option(
    "--to",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help=_("Directory to look in (default: where `crmtui backup` writes)."),
)
@json_option
def list_command(directory: Path | None, as_json: bool) -> None:
    backups = store_backup.list_backups(acting_user(), database_target(), directory)
    if as_json:
        echo_json([{**b.__dict__, "created_at": b.created_at.isoformat()} for b in backups])
        return
    if not backups:
        click.echo(_("no backups yet"), err=True)
        return
    for info in backups:
        if not info.manifest:
            verified = _("no manifest")
        elif info.verified_at:
            verified = _("verified {age}").format(age=_age(info.verified_at))
        else:
            verified = _("not verified")
        click.echo(
            "  ".join(
                [
                    info.created_at.strftime("%Y-%m-%d %H:%M:%SZ"),
                    file_size(info.size).rjust(10),
                    (info.encryption or _("plain")).ljust(10),
                    verified.ljust(20),
                    info.path,
                ]
            )
        )


@click.command(
    help=_(
        "Replace the database with a backup. The backup is verified first (nothing changes if "
        "it fails); the database as it was is kept beside it (SQLite: DB.before-restore-TIME) "
        "or as a backup (PostgreSQL). Refused while another crmtui process has the database "
        "open, unless --force (what that process writes afterwards is lost; quit it)."
    )
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@identity_option
@click.option("--force", is_flag=True, help=_("Restore even while others have the database open."))
@json_option
def restore(file: Path, identity: Path | None, force: bool, as_json: bool) -> None:
    keys = _keys_to_open(file, identity)
    try:
        actor = acting_user()
    except DatabaseOpenError:
        actor = None  # a database too damaged to open is what restoring is for
    with progress_bars("MiB") as bars:
        result = store_backup.restore_backup(
            actor, database_target(), file, keys, force=force, progress=_in_mib(bars)
        )
    if as_json:
        echo_json(result)
        return
    click.echo(
        _("restored {target} from {path} (backup of {created}, {age}): {rows} rows").format(
            target=result.target,
            path=result.path,
            created=result.created_at,
            age=_age(result.created_at),
            rows=sum(result.tables.values()),
        )
    )
    for table, count in result.tables.items():
        if count:
            click.echo(f"  {table}: {count}")
    if result.safety_copy:
        click.echo(_("the database as it was is kept in {path}").format(path=result.safety_copy))
