"""`crmtui doctor`: is the database healthy?"""

import click

from crmtui.cli.common import acting_user, database_target, echo_json, json_option
from crmtui.i18n import _
from crmtui.store.health import check_database


@click.command(
    help=_(
        "Check the database: library version, journal mode, schema, integrity, WAL size, "
        "file permissions, the newest backup's age and free disk. Exit status 1 on any "
        "problem, each with its fix."
    )
)
@json_option
def doctor(as_json: bool) -> None:
    report = check_database(acting_user(), database_target())
    if as_json:
        echo_json({**report.__dict__, "healthy": report.healthy})
    else:
        lines = [
            (_("database"), report.target),
            (_("backend"), report.backend),
            (_("library version"), report.library_version),
            (_("journal mode"), report.journal_mode),
            (_("schema version"), str(report.schema_version)),
            (_("quick check"), report.integrity),
            (_("customers"), str(report.customers)),
        ]
        if report.file_mode is not None:
            lines.append((_("file permissions"), report.file_mode))
        if report.wal_bytes is not None:
            lines.append((_("WAL size"), _("{n} MiB").format(n=report.wal_bytes >> 20)))
        lines.append(
            (
                _("last backup"),
                _("none")
                if report.last_backup is None
                else _("{days:.1f} days ago ({path})").format(
                    days=report.last_backup_age_days, path=report.last_backup
                ),
            )
        )
        if report.free_bytes is not None:
            lines.append((_("free disk"), _("{n} MiB").format(n=report.free_bytes >> 20)))
        width = max(len(label) for label, _v in lines)
        for label, value in lines:
            click.echo(f"{label.ljust(width)}  {value}")
        for problem in report.problems:
            click.echo(_("problem: {problem}").format(problem=problem), err=True)
    if not report.healthy:
        raise click.exceptions.Exit(1)
