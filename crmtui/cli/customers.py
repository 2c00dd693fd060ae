"""`crmtui customer …`: add, list, show, edit, delete and read the history of customers."""

from collections.abc import Callable
from typing import Any

import click

from crmtui.cli.common import (
    acting_user,
    confirm_unless_yes,
    echo_json,
    json_option,
    yes_option,
)
from crmtui.formatting import consent_note, local_time, text_table
from crmtui.i18n import _
from crmtui.labels import duplicate_label
from crmtui.store import changes, customers, duplicates
from crmtui.store.types import Customer, CustomerQuery
from crmtui.store.vocabulary import STAGES

# Options shared by `add` and `edit`: (option name, customer field, help).
_FIELD_OPTIONS: list[tuple[str, str, str]] = [
    ("--name", "name", _("Name of the customer (a person or a company).")),
    ("--company", "company", _("Company name.")),
    ("--title", "title", _("Job title or role.")),
    ("--email", "email", _("Email address.")),
    ("--address", "address", _("Postal address.")),
    ("--city", "city", _("City.")),
    ("--region", "region", _("Province, state or region.")),
    ("--country", "country", _("Country code, e.g. CN.")),
    ("--source", "source", _("Where the customer came from (channel).")),
    ("--stage", "stage", _("Lifecycle stage: {stages}.").format(stages=", ".join(STAGES))),
    ("--owner", "owner", _("User name of the owner ('' for nobody).")),
    ("--notes", "notes", _("Notes.")),
    ("--external-id", "external_id", _("Identifier in another system.")),
    (
        "--consent-source",
        "consent_source",
        _("Where the customer gave marketing consent (a web form, a call…): with --consent."),
    ),
]


def _field_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option, field, help_text in reversed(_FIELD_OPTIONS):
        command = click.option(option, field, default=None, help=help_text)(command)
    command = click.option(
        "--phone",
        "phones",
        multiple=True,
        help=_("Phone number in any layout; give twice for a second number."),
    )(command)
    command = click.option(
        "--key-account/--no-key-account", "key_account", default=None, help=_("Key-account flag.")
    )(command)
    command = click.option(
        "--consent/--no-consent",
        "marketing_consent",
        default=None,
        help=_("Whether the customer agreed to marketing."),
    )(command)
    return click.option(
        "--set",
        "custom",
        multiple=True,
        metavar="KEY=VALUE",
        help=_("A custom field value (see `crmtui field list`); repeatable."),
    )(command)


def _values(options: dict[str, Any]) -> dict[str, object]:
    """The customer fields the user gave on the command line."""
    values: dict[str, object] = {
        field: options[field] for _o, field, _h in _FIELD_OPTIONS if options[field] is not None
    }
    for flag in ("key_account", "marketing_consent"):
        if options[flag] is not None:
            values[flag] = options[flag]
    phones = options["phones"]
    if len(phones) > 2:
        raise click.UsageError(_("give at most two --phone options"))
    if phones:
        values["phone"] = phones[0]
    if len(phones) > 1:
        values["alt_phone"] = phones[1]
    if options["custom"]:
        custom: dict[str, str] = {}
        for item in options["custom"]:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise click.UsageError(_("--set takes KEY=VALUE, not {item!r}").format(item=item))
            custom[key.strip()] = value
        values["custom"] = custom
    return values


def _print_customer(customer: Customer) -> None:
    rows = [
        (_("id"), str(customer.id)),
        (_("version"), str(customer.version)),
        (_("name"), customer.name),
        (_("company"), customer.company),
        (_("title"), customer.title),
        (_("phone"), customer.phone_display),
        (_("phone 2"), customer.alt_phone_display),
        (_("email"), customer.email),
        (_("address"), customer.address),
        (_("city"), customer.city),
        (_("stage"), customer.stage),
        (_("owner"), customer.owner),
        (_("tags"), ", ".join(customer.tags)),
        (_("key account"), _("yes") if customer.key_account else _("no")),
        (
            _("marketing consent"),
            (_("yes") if customer.marketing_consent else _("no")) + consent_note(customer),
        ),
        (_("last contact"), local_time(customer.last_contact_at)),
        (_("notes"), customer.notes),
        *[(key, str(value)) for key, value in sorted(customer.custom.items())],
        (_("created"), local_time(customer.created_at)),
        (_("updated"), local_time(customer.updated_at)),
    ]
    width = max(len(label) for label, _v in rows)
    for label, value in rows:
        if value:
            click.echo(f"{label.ljust(width)}  {value}")


@click.group(help=_("Add, list, show, edit and delete customers."))
def customer() -> None:
    pass


@customer.command("add", help=_("Add a customer. Only --name is required."))
@_field_options
@click.option("--tag", "tags", multiple=True, help=_("A tag; repeatable."))
@json_option
def add(as_json: bool, tags: tuple[str, ...], **options: Any) -> None:
    values = _values(options)
    if "name" not in values:
        raise click.UsageError(_("--name is required"))
    if tags:
        values["tags"] = tags
    actor = acting_user()
    created = customers.add_customer(actor, values)
    for duplicate in duplicates.possible_duplicates(actor, values, exclude=created.id):
        # Added all the same: names need not be unique, and a script reads stdout only.
        message = _("Warning: customer {id} may duplicate {customer}")
        click.echo(message.format(id=created.id, customer=duplicate_label(duplicate)), err=True)
    if as_json:
        echo_json(created)
    else:
        click.echo(_("added customer {id}: {name}").format(id=created.id, name=created.name))


@customer.command("list", help=_("List customers, filtered and sorted."))
@click.option("--search", "-s", default="", help=_("Text in name, company or email, or a phone."))
@click.option("--stage", type=click.Choice(STAGES), help=_("Only this stage."))
@click.option("--tag", help=_("Only customers with this tag."))
@click.option("--owner", help=_("Only customers owned by this user."))
@click.option("--key-account", is_flag=True, default=None, help=_("Only key accounts."))
@click.option(
    "--sort",
    type=click.Choice(customers.SORTABLE),
    default="name",
    show_default=True,
    help=_("Column to sort by."),
)
@click.option("--desc", is_flag=True, help=_("Sort in descending order."))
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help=_("At most this many rows; 0 lists all."),
)
@click.option("--offset", type=click.IntRange(min=0), default=0, help=_("Skip this many rows."))
@json_option
def list_(
    search: str,
    stage: str | None,
    tag: str | None,
    owner: str | None,
    key_account: bool | None,
    sort: str,
    desc: bool,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    query = CustomerQuery(
        search=search,
        stage=stage,
        tag=tag,
        owner=owner,
        key_account=key_account,
        sort=sort,
        descending=desc,
    )
    page = customers.list_customers(acting_user(), query, offset=offset, limit=limit or None)
    if as_json:
        echo_json(list(page.rows))
        return
    rows = [
        [
            str(c.id),
            c.name,
            c.company,
            c.phone_display,
            c.stage,
            c.owner,
            local_time(c.last_contact_at),
        ]
        for c in page.rows
    ]
    headers = [
        _("id"),
        _("name"),
        _("company"),
        _("phone"),
        _("stage"),
        _("owner"),
        _("last contact"),
    ]
    if rows:
        click.echo(text_table(headers, rows))
    if len(page.rows) < page.total:
        click.echo(
            _("showing {shown} of {total}; use --limit 0 for all").format(
                shown=len(page.rows), total=page.total
            ),
            err=True,
        )


@customer.command("show", help=_("Show one customer."))
@click.argument("customer_id", type=int)
@json_option
def show(customer_id: int, as_json: bool) -> None:
    found = customers.open_customer(acting_user(), customer_id)
    if as_json:
        echo_json(found)
    else:
        _print_customer(found)


@customer.command(
    "edit",
    help=_(
        "Change fields of a customer. With --if-version N the edit is refused (exit 1) when "
        "the customer is no longer at version N, so no one else's change is overwritten."
    ),
)
@click.argument("customer_id", type=int)
@_field_options
@click.option("--tag", "tags", multiple=True, help=_("Replace all tags with these; repeatable."))
@click.option("--add-tag", multiple=True, help=_("Add a tag; repeatable."))
@click.option("--remove-tag", multiple=True, help=_("Remove a tag; repeatable."))
@click.option("--if-version", type=int, help=_("Only save if the customer is at this version."))
@json_option
def edit(
    customer_id: int,
    tags: tuple[str, ...],
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    if_version: int | None,
    as_json: bool,
    **options: Any,
) -> None:
    actor = acting_user()
    values = _values(options)
    expected = if_version
    if tags and (add_tag or remove_tag):
        raise click.UsageError(_("use either --tag or --add-tag/--remove-tag"))
    if tags:
        values["tags"] = tags
    elif add_tag or remove_tag:
        current = customers.get_customer(actor, customer_id)
        values["tags"] = [t for t in (*current.tags, *add_tag) if t not in remove_tag]
        # The tag list was read now: a change by someone else in between is refused.
        expected = current.version if if_version is None else if_version
    if not values:
        raise click.UsageError(_("nothing to change: give at least one field option"))
    saved = customers.update_customer(actor, customer_id, values, expected)
    if as_json:
        echo_json(saved)
    else:
        click.echo(
            _("saved customer {id} (version {version})").format(id=saved.id, version=saved.version)
        )


@customer.command("delete", help=_("Delete a customer and all its records (history keeps it)."))
@click.argument("customer_id", type=int)
@click.option("--if-version", type=int, help=_("Only delete if the customer is at this version."))
@yes_option
def delete(customer_id: int, if_version: int | None, yes: bool) -> None:
    actor = acting_user()
    found = customers.get_customer(actor, customer_id)
    confirm_unless_yes(
        yes,
        _("Delete customer {id} ({name}) and all its records?").format(
            id=found.id, name=found.name
        ),
    )
    customers.delete_customer(actor, customer_id, if_version)
    click.echo(_("deleted customer {id}: {name}").format(id=found.id, name=found.name))


@customer.command("history", help=_("Show every change to a customer and its records."))
@click.argument("customer_id", type=int)
@click.option("--limit", type=click.IntRange(min=0), default=0, help=_("At most this many; 0 all."))
@json_option
def history(customer_id: int, limit: int, as_json: bool) -> None:
    entries = changes.customer_changes(acting_user(), customer_id, limit=limit or None)
    if as_json:
        echo_json(entries)
        return
    if not entries:
        raise click.ClickException(_("no history for customer {id}").format(id=customer_id))
    rows = [
        [
            local_time(e.at),
            e.user_name,
            f"{e.entity} {e.entity_id}",
            e.action,
            e.field or "",
            e.old_value or "",
            e.new_value or "",
        ]
        for e in entries
    ]
    headers = [_("when"), _("who"), _("record"), _("action"), _("field"), _("old"), _("new")]
    click.echo(text_table(headers, rows))
