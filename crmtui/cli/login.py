"""`crmtui --user NAME …`: the password (and two-step code) from the environment or a prompt."""

import os

import click

from crmtui.i18n import _
from crmtui.store import auth
from crmtui.store.types import Actor

PASSWORD_ENV = "CRMTUI_PASSWORD"
CODE_ENV = "CRMTUI_TOTP"


def log_in(name: str) -> Actor:
    """Log `name` in, asking on the terminal for what the environment does not give.

    Prompts go to stderr, so a command's output (`--json`) stays clean.
    """
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        _("Password for {name}").format(name=name), hide_input=True, err=True
    )
    code = os.environ.get(CODE_ENV) or None
    try:
        return auth.log_in(name, password, code)
    except auth.CodeRequiredError:
        code = click.prompt(_("Two-step code from your authenticator app"), err=True)
        return auth.log_in(name, password, code)
