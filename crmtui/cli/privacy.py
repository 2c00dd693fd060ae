"""`crmtui privacy export|erase`: a person's right to their data, and to be forgotten."""

import json
from pathlib import Path

import click

from crmtui.cli.common import acting_user, confirm_unless_yes, echo_json, json_option, yes_option
from crmtui.i18n import _
from crmtui.store import privacy


@click.group("privacy", help=_("A person's data: all of it as JSON, or erased. Admins only."))
def privacy_group() -> None:
    pass


@privacy_group.command(
    "export",
    help=_(
        "Write everything held about one customer (its row, tags, contacts, every record, its "
        "history, the audit rows about it) as JSON, to FILE or standard output."
    ),
)
@click.argument("customer_id", type=int)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("Write to this file instead of standard output."),
)
def export(customer_id: int, output: Path | None) -> None:
    held = privacy.export_person(acting_user(), customer_id)
    text = json.dumps(held, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(
        _("wrote everything about customer {id} to {path}").format(id=customer_id, path=output),
        err=True,
    )


@privacy_group.command(
    "erase",
    help=_(
        "Anonymize one customer everywhere, its history included: the name becomes a "
        "pseudonym, contact details, contacts and the text of its records are removed; "
        "purchases keep their dates and amounts, so totals do not change. Cannot be undone "
        "(backups made before still hold the person: rotate them out)."
    ),
)
@click.argument("customer_id", type=int)
@yes_option
@json_option
def erase(customer_id: int, yes: bool, as_json: bool) -> None:
    actor = acting_user()
    confirm_unless_yes(yes, _("Erase customer {id} for good?").format(id=customer_id))
    changed = privacy.erase_person(actor, customer_id)
    if as_json:
        echo_json({"customer": customer_id, "changed": changed})
    else:
        click.echo(
            _("erased customer {id}; it is now {name!r}").format(
                id=customer_id, name=privacy.pseudonym(customer_id)
            )
        )
