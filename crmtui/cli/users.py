"""`crmtui user …`: who may log in, with which role, password and two-step verification."""

import io
import sys

import click

from crmtui.cli.common import acting_user, echo_json, json_option
from crmtui.formatting import local_time, text_table
from crmtui.i18n import _
from crmtui.store import accounts, passwords, users
from crmtui.store.types import User
from crmtui.store.vocabulary import ROLES

password_stdin_option = click.option(
    "--password-stdin",
    "password_stdin",
    is_flag=True,
    help=_(
        "Read the new password from the first line of standard input instead of asking "
        "twice (with --user, give your own password in $CRMTUI_PASSWORD)."
    ),
)


def _new_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice, hidden, at a prompt."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    click.echo(_("Rules: {rules}.").format(rules=passwords.rules()), err=True)
    return click.prompt(
        _("New password"),
        hide_input=True,
        confirmation_prompt=_("Repeat the new password"),
        err=True,
    )


def _done(message: str, changed: User, as_json: bool) -> None:
    if as_json:
        echo_json(changed)
    else:
        click.echo(message.format(name=changed.name, role=changed.role))


@click.group(
    help=_(
        "Users: who logs in, with which role. Until a user has a password, crmtui asks for "
        "no login (single-user mode); then every command needs `crmtui --user NAME`, and "
        "managing users needs an admin."
    )
)
def user() -> None:
    pass


@user.command("add", help=_("Add a user who logs in with a password; the first must be an admin."))
@click.argument("name")
@click.option(
    "--role", type=click.Choice(ROLES), required=True, help=_("What the user may see and do.")
)
@click.option("--full-name", default="", help=_("The user's full name, as others see it."))
@password_stdin_option
@json_option
def add(name: str, role: str, full_name: str, password_stdin: bool, as_json: bool) -> None:
    actor = acting_user()
    accounts.check_new_user(actor, name, role)  # before the password is typed for nothing
    first = not users.login_required()
    added = accounts.add_user(actor, name, role, _new_password(password_stdin), full_name=full_name)
    _done(_("added user {name} ({role})"), added, as_json)
    if first and not as_json:
        click.echo(
            _(
                "From now on crmtui asks who you are: `crmtui --user {name} …`, "
                "and the app opens on a login screen."
            ).format(name=added.name)
        )


@user.command("list", help=_("List the users, their roles and how they log in."))
@json_option
def list_(as_json: bool) -> None:
    listed = users.list_users(acting_user())
    if as_json:
        echo_json(listed)
        return
    yes, no = _("yes"), _("no")
    rows = [
        [
            u.name,
            u.full_name,
            u.role,
            yes if u.active else no,
            yes if u.has_password else no,
            yes if u.two_step else no,
            local_time(u.locked_until),
        ]
        for u in listed
    ]
    headers = [_("name"), _("full name"), _("role"), _("active"), _("password"), _("two-step")]
    click.echo(text_table([*headers, _("locked until")], rows))


@user.command("passwd", help=_("Set a user's password: your own, or anyone's as an admin."))
@click.argument("name")
@password_stdin_option
@json_option
def passwd(name: str, password_stdin: bool, as_json: bool) -> None:
    actor = acting_user()
    changed = accounts.set_password(actor, name, _new_password(password_stdin))
    _done(_("new password set for {name}"), changed, as_json)


@user.command("role", help=_("Give a user another role."))
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@json_option
def role_(name: str, role: str, as_json: bool) -> None:
    _done(_("{name} is now {role}"), accounts.set_role(acting_user(), name, role), as_json)


@user.command("disable", help=_("Stop a user from logging in (their records stay)."))
@click.argument("name")
@json_option
def disable(name: str, as_json: bool) -> None:
    changed = accounts.set_active(acting_user(), name, False)
    _done(_("disabled user {name}"), changed, as_json)


@user.command("enable", help=_("Let a disabled user log in again."))
@click.argument("name")
@json_option
def enable(name: str, as_json: bool) -> None:
    changed = accounts.set_active(acting_user(), name, True)
    _done(_("enabled user {name}"), changed, as_json)


@user.command("unlock", help=_("End a user's lock-out after failed logins, at once."))
@click.argument("name")
@json_option
def unlock(name: str, as_json: bool) -> None:
    _done(_("unlocked user {name}"), accounts.unlock(acting_user(), name), as_json)


@user.group(
    "totp",
    help=_("Two-step verification: a code from an authenticator app at each login."),
)
def totp() -> None:
    pass


def _qr_code(uri: str) -> str:
    # Imported here: only this command draws QR codes.
    import segno

    drawn = io.StringIO()
    segno.make(uri, error="m").terminal(out=drawn, compact=True)
    return drawn.getvalue()


@totp.command(
    "enable",
    help=_(
        "Turn on two-step verification for NAME (default: you): shows a secret as a QR code "
        "and as text for an authenticator app, then asks for the app's code to confirm."
    ),
)
@click.argument("name", required=False)
def totp_enable(name: str | None) -> None:
    actor = acting_user()
    setup = accounts.start_two_step(actor, name or actor.name)
    click.echo(_("Scan this QR code with an authenticator app (or type the secret into it):"))
    click.echo(_qr_code(setup.uri), nl=False)
    secret = " ".join(setup.secret[i : i + 4] for i in range(0, len(setup.secret), 4))
    click.echo(_("secret: {secret}").format(secret=secret))
    code = click.prompt(_("Code the app shows now"), err=True)
    accounts.enable_two_step(actor, setup.user, setup.secret, code)
    click.echo(
        _("two-step verification is on for {name}: each login asks for a code").format(
            name=setup.user
        )
    )


@totp.command(
    "disable",
    help=_("Turn off two-step verification for NAME (default: you; anyone's as an admin)."),
)
@click.argument("name", required=False)
def totp_disable(name: str | None) -> None:
    actor = acting_user()
    changed = accounts.disable_two_step(actor, name or actor.name)
    click.echo(_("two-step verification is off for {name}").format(name=changed.name))
