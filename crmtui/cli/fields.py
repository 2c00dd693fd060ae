"""`crmtui field …`: custom customer fields an admin defines."""

import click

from crmtui.cli.common import acting_user, echo_json, json_option
from crmtui.formatting import text_table
from crmtui.i18n import _
from crmtui.store import custom_fields
from crmtui.store.vocabulary import CUSTOM_FIELD_KINDS


@click.group(help=_("Define the optional customer fields your team needs."))
def field() -> None:
    pass


@field.command("add", help=_("Define a custom field; set values with `customer edit --set`."))
@click.argument("key")
@click.option("--label", default="", help=_("Name shown to users (default: the key)."))
@click.option(
    "--type",
    "kind",
    type=click.Choice(CUSTOM_FIELD_KINDS),
    default="text",
    show_default=True,
    help=_("Kind of value."),
)
@click.option("--choice", "choices", multiple=True, help=_("An allowed value of a choice field."))
@json_option
def add(key: str, label: str, kind: str, choices: tuple[str, ...], as_json: bool) -> None:
    created = custom_fields.define_field(acting_user(), key, label, kind, choices)
    if as_json:
        echo_json(created)
    else:
        click.echo(_("added field {key} ({kind})").format(key=created.key, kind=created.kind))


@field.command("list", help=_("List the custom fields."))
@json_option
def list_(as_json: bool) -> None:
    defined = custom_fields.list_fields(acting_user())
    if as_json:
        echo_json(defined)
    elif defined:
        rows = [[d.key, d.label, d.kind, ", ".join(d.choices)] for d in defined]
        click.echo(text_table([_("key"), _("label"), _("type"), _("choices")], rows))


@field.command("remove", help=_("Remove a custom field; stored values stay, hidden."))
@click.argument("key")
def remove(key: str) -> None:
    custom_fields.remove_field(acting_user(), key)
    click.echo(_("removed field {key}").format(key=key))
