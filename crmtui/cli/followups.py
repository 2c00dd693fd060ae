"""`crmtui followup …`: promise, list, complete, snooze and wait follow-ups; and
`crmtui followups`: the follow-up queue, in the order the queue screen shows it."""

import click

from crmtui.cli.common import acting_user, echo_json, json_option
from crmtui.formatting import local_time, text_table
from crmtui.i18n import _
from crmtui.store import followups, queue
from crmtui.store.types import FollowUp
from crmtui.store.vocabulary import PRIORITIES


def _print_followups(items: list[FollowUp]) -> None:
    rows = [
        [
            str(i.id),
            local_time(i.due_at),
            i.priority,
            i.customer_name,
            i.title,
            i.assignee,
            i.recurrence,
        ]
        for i in items
    ]
    headers = [
        _("id"),
        _("due"),
        _("priority"),
        _("customer"),
        _("title"),
        _("assignee"),
        _("repeats"),
    ]
    click.echo(text_table(headers, rows))


@click.group(help=_("Add, list, complete and snooze follow-ups."))
def followup() -> None:
    pass


@followup.command("add", help=_("Promise a follow-up to a customer."))
@click.argument("customer_id", type=int)
@click.option("--due", required=True, help=_("When: 2025-03-05, '2025-03-05 14:00', +3d, mon…"))
@click.option("--title", required=True, help=_("What to do."))
@click.option("--priority", type=click.Choice(PRIORITIES), help=_("Priority (default normal)."))
@click.option("--assignee", help=_("User who does it (default: you)."))
@click.option("--every", "recurrence", help=_("Repeat: weekly, monthly, quarterly… or an RRULE."))
@click.option("--notes", help=_("Notes."))
@json_option
def add(
    customer_id: int,
    due: str,
    title: str,
    priority: str | None,
    assignee: str | None,
    recurrence: str | None,
    notes: str | None,
    as_json: bool,
) -> None:
    values: dict[str, object] = {"due_at": due, "title": title}
    optional = {
        "priority": priority,
        "assignee": assignee,
        "recurrence": recurrence,
        "notes": notes,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    created = followups.add_followup(acting_user(), customer_id, values)
    if as_json:
        echo_json(created)
    else:
        click.echo(
            _("added follow-up {id}, due {due}").format(
                id=created.id, due=local_time(created.due_at)
            )
        )


@followup.command("list", help=_("List open follow-ups by due time (yours unless told)."))
@click.option("--user", "assignee", help=_("Another user's follow-ups."))
@click.option("--all", "everyone", is_flag=True, help=_("Everyone's follow-ups."))
@click.option("--customer", "customer_id", type=int, help=_("Only this customer's."))
@click.option("--overdue", is_flag=True, help=_("Only those past due."))
@click.option(
    "--status",
    type=click.Choice(("open", "done", "cancelled")),
    default="open",
    show_default=True,
    help=_("Which follow-ups."),
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help=_("At most this many; 0 lists all."),
)
@json_option
def list_(
    assignee: str | None,
    everyone: bool,
    customer_id: int | None,
    overdue: bool,
    status: str,
    limit: int,
    as_json: bool,
) -> None:
    if assignee and everyone:
        raise click.UsageError(_("use either --user or --all"))
    page = followups.list_followups(
        acting_user(),
        assignee=assignee,
        everyone=everyone,
        customer_id=customer_id,
        status=status,
        overdue=overdue,
        limit=limit or None,
    )
    if as_json:
        echo_json(list(page.rows))
    elif page.rows:
        _print_followups(list(page.rows))


@followup.command("done", help=_("Complete a follow-up; the outcome is logged on the customer."))
@click.argument("followup_id", type=int)
@click.option("--outcome", required=True, help=_("What came of it."))
@json_option
def done(followup_id: int, outcome: str, as_json: bool) -> None:
    completed, following = followups.complete_followup(acting_user(), followup_id, outcome)
    if as_json:
        echo_json({"done": completed, "next": following})
        return
    click.echo(_("follow-up {id} done").format(id=completed.id))
    if following:
        click.echo(
            _("next: follow-up {id}, due {due}").format(
                id=following.id, due=local_time(following.due_at)
            )
        )


@followup.command("snooze", help=_("Move a follow-up's due time: +1d, +1w, mon, 2025-03-05…"))
@click.argument("followup_id", type=int)
@click.argument("when")
@json_option
def snooze(followup_id: int, when: str, as_json: bool) -> None:
    _echo_moved(followups.snooze_followup(acting_user(), followup_id, when), as_json)


@followup.command(
    "reschedule", help=_("Set a follow-up's due time to any date, today or past included.")
)
@click.argument("followup_id", type=int)
@click.argument("when")
@json_option
def reschedule(followup_id: int, when: str, as_json: bool) -> None:
    _echo_moved(followups.reschedule_followup(acting_user(), followup_id, when), as_json)


def _echo_moved(moved: FollowUp, as_json: bool) -> None:
    if as_json:
        echo_json(moved)
    else:
        click.echo(
            _("follow-up {id} now due {due}").format(id=moved.id, due=local_time(moved.due_at))
        )


@followup.command(
    "wait",
    help=_(
        "Hide a follow-up from the queue until WHEN (+3d, mon, 2025-03-05…), keeping its due "
        "time; it reappears then. WHEN '' stops the waiting."
    ),
)
@click.argument("followup_id", type=int)
@click.argument("when")
@json_option
def wait(followup_id: int, when: str, as_json: bool) -> None:
    waiting = followups.wait_followup(acting_user(), followup_id, when)
    if as_json:
        echo_json(waiting)
    elif waiting.snoozed_until is None:
        click.echo(_("follow-up {id} is in the queue again").format(id=waiting.id))
    else:
        click.echo(
            _("follow-up {id} waits until {until}").format(
                id=waiting.id, until=local_time(waiting.snoozed_until)
            )
        )


_WITHIN_HELP = {
    "overdue": _("Only overdue items."),
    "today": _("Overdue and due today (local time)."),
    "week": _("Through the next 7 days."),
}


@click.command(
    "followups",
    help=_(
        "The follow-up queue: your open follow-ups (not waiting), key accounts without "
        "contact and SLA breaches of your customers; by section (overdue, today, week, "
        "later), most urgent first. Exit status 0 when nothing is due."
    ),
)
@click.option("--user", help=_("Another user's queue."))
@click.option("--all", "everyone", is_flag=True, help=_("Everyone's queue."))
@click.option("--overdue", "within", flag_value="overdue", help=_WITHIN_HELP["overdue"])
@click.option("--today", "within", flag_value="today", help=_WITHIN_HELP["today"])
@click.option("--week", "within", flag_value="week", help=_WITHIN_HELP["week"])
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=queue.DEFAULT_LIMIT,
    show_default=True,
    help=_("At most this many items per section, the most urgent; 0 lists all."),
)
@json_option
def followups_queue(
    user: str | None, everyone: bool, within: str | None, limit: int, as_json: bool
) -> None:
    if user and everyone:
        raise click.UsageError(_("use either --user or --all"))
    items = queue.list_queue(
        acting_user(), user=user, everyone=everyone, within=within, limit=limit or None
    )
    if as_json:
        echo_json(items)
        return
    if not items:
        return
    rows = [
        [
            i.section,
            local_time(i.due_at),
            i.kind,
            str(i.id),
            i.customer_name,
            i.title,
            i.priority,
            f"{i.score:.1f}",
            i.assignee,
        ]
        for i in items
    ]
    headers = [
        _("section"),
        _("due"),
        _("kind"),
        _("id"),
        _("customer"),
        _("title"),
        _("priority"),
        _("score"),
        _("assignee"),
    ]
    click.echo(text_table(headers, rows))
