"""The `crmtui` command: opens the app, or runs a subcommand for scripts and cron."""

import click

from crmtui import __version__
from crmtui.cli.common import CliState, LazyGroup, app_actor
from crmtui.config import resolve_db_target
from crmtui.i18n import _

# Each subcommand's module is imported when the command runs (or a help lists it), not when
# the app opens (start-up time: the demo data alone takes tens of milliseconds to import).
SUBCOMMANDS = {
    "customer": "crmtui.cli.customers:customer",
    "followup": "crmtui.cli.followups:followup",
    "followups": "crmtui.cli.followups:followups_queue",
    "field": "crmtui.cli.fields:field",
    "doctor": "crmtui.cli.doctor:doctor",
    "export": "crmtui.cli.exports:export",
    "demo": "crmtui.cli.demo:demo",
    "reindex": "crmtui.cli.reindex:reindex",
    "import": "crmtui.cli.imports:import_group",
    "backup": "crmtui.cli.backup:backup",
    "restore": "crmtui.cli.backup:restore",
    "audit": "crmtui.cli.audit:audit_group",
    "privacy": "crmtui.cli.privacy:privacy_group",
    "user": "crmtui.cli.users:user",
}


@click.group(
    cls=LazyGroup,
    lazy_subcommands=SUBCOMMANDS,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_(
        "crmtui: customers, their history and your follow-ups, in the terminal.\n\n"
        "Without a command, opens the app on the database."
    ),
)
@click.option(
    "--db",
    "db_option",
    metavar="PATH|URL",
    help=_(
        "SQLite file or postgresql:// URL to use "
        "(default: $CRMTUI_DB, else crmtui.db in the user data directory)."
    ),
)
@click.option(
    "--user",
    "user_name",
    metavar="NAME",
    envvar="CRMTUI_USER",
    help=_(
        "Log in as NAME (default: $CRMTUI_USER), once users have passwords; the password is "
        "asked, or read from $CRMTUI_PASSWORD, and a two-step code from $CRMTUI_TOTP. "
        "The app asks on its login screen."
    ),
)
@click.version_option(__version__, prog_name="crmtui")
@click.pass_context
def main(ctx: click.Context, db_option: str | None, user_name: str | None) -> None:
    ctx.obj = CliState(target=resolve_db_target(db_option), user_name=user_name)
    if ctx.invoked_subcommand is None:
        actor = app_actor(ctx)
        from crmtui.app import CrmApp  # Textual loads only when the app opens

        app = CrmApp(actor=actor, db_label=ctx.obj.target, user_name=user_name or "")
        app.run()
        ctx.exit(app.return_code or 0)
