"""`crmtui audit`: who did what, when, from where; and `audit verify`, the chain's check."""

from pathlib import Path

import click

from crmtui.cli.common import acting_user, database_target, echo_json, json_option
from crmtui.formatting import local_time, text_table
from crmtui.i18n import _, ngettext
from crmtui.store import audit
from crmtui.store import backup as store_backup


@click.group(
    "audit",
    invoke_without_command=True,
    help=_(
        "The audit log, newest first: logins, changes, views of a customer, imports, exports, "
        "backups, restores, refused attempts. Admins only."
    ),
)
@click.option("--user", "user_name", metavar="NAME", help=_("Only what this user did."))
@click.option(
    "--customer", "customer_id", type=int, metavar="ID", help=_("Only about this customer.")
)
@click.option(
    "--since", metavar="WHEN", help=_("Only from this day or time on (2025-03-05, -7d, today).")
)
@click.option("--limit", type=int, default=100, show_default=True, help=_("How many rows; 0: all."))
@json_option
@click.pass_context
def audit_group(
    ctx: click.Context,
    user_name: str | None,
    customer_id: int | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    page = audit.list_entries(
        acting_user(), user=user_name, customer_id=customer_id, since=since, limit=limit or None
    )
    if as_json:
        echo_json(list(page.rows))
        return
    rows = [
        [
            str(e.seq),
            local_time(e.at),
            e.user_name or "-",
            e.origin,
            e.action,
            e.target,
            e.result,
            e.detail,
        ]
        for e in page.rows
    ]
    headers = [_("#"), _("when"), _("user"), _("from"), _("action"), _("target")]
    headers += [_("result"), _("detail")]
    if rows:
        click.echo(text_table(headers, rows))
    if len(page.rows) < page.total:
        click.echo(_("{shown} of {total} rows").format(shown=len(page.rows), total=page.total))
    elif not rows:
        click.echo(_("no audit rows match"))


@audit_group.command(
    "verify",
    help=_(
        "Check the audit log's hash chain: an edited row, a removed row or a log cut short "
        "makes it fail (exit status 1), naming the rows. The log is also held to the head "
        "(last row and hash) recorded in the manifest of each of this database's backups, "
        "so a log cut back or rewritten after a backup fails too, naming the backup."
    ),
)
@click.option(
    "--backups",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help=_("Where the backups are, when not in the usual place (`crmtui backup list`'s)."),
)
@json_option
def verify(directory: Path | None, as_json: bool) -> None:
    actor = acting_user()
    anchors = store_backup.audit_anchors(actor, database_target(), directory)
    report = audit.verify(actor, anchors=anchors)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "head": report.head,
                "backups": len(anchors),
                "problems": report.problems,
                "notes": report.notes,
            }
        )
    else:
        if report.ok:
            click.echo(
                _("audit log ok: {count} rows, chain intact").format(count=report.checked)
                + " "
                + ngettext(
                    "(held to {n} backup's head)", "(held to {n} backups' heads)", len(anchors)
                ).format(n=len(anchors))
            )
        for problem in report.problems:
            click.echo(problem, err=True)
        for note in report.notes:
            click.echo(note, err=not report.ok)
    if not report.ok:
        raise SystemExit(1)
