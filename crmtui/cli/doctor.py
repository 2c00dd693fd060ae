"""`crmtui doctor`: is the database healthy?"""

import click

from crmtui.cli.common import acting_user, database_target, echo_json, json_option
from crmtui.i18n import _
from crmtui.store.health import check_database


@click.command(help=_("Check the database: library version, journal mode, schema, integrity."))
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
        width = max(len(label) for label, _v in lines)
        for label, value in lines:
            click.echo(f"{label.ljust(width)}  {value}")
        for problem in report.problems:
            click.echo(_("problem: {problem}").format(problem=problem), err=True)
    if not report.healthy:
        raise click.exceptions.Exit(1)
