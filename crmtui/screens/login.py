"""The login screen: the first screen once users have passwords.

User name, password (masked), then the two-step code when the user has turned it on. A
refusal says the store's one message for every kind of failure and asks again; a success
posts `LoggedIn`, and the app opens the customer table for that user.
"""

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from crmtui.i18n import _
from crmtui.messages import LoggedIn


class LoginScreen(Screen[None]):
    """Who is there: asks until a login succeeds (or the user quits with ctrl+q)."""

    def __init__(self, user_name: str = "", db_label: str = "") -> None:
        super().__init__()
        self.user_name = user_name
        self.db_label = db_label

    def compose(self) -> ComposeResult:
        with Vertical(id="login"):
            yield Static(_("Log in to crmtui"), id="title", markup=False)
            yield Static(self.db_label, id="database", markup=False)
            yield Label(_("User name"))
            yield Input(self.user_name, id="user")
            yield Label(_("Password"))
            yield Input(id="password", password=True)
            yield Label(_("Two-step code"), id="code-label")
            yield Input(id="code", max_length=8)
            yield Static("", id="message", markup=False)
            yield Static(_("enter: next · ctrl+q: quit"), id="hint", markup=False)

    def on_mount(self) -> None:
        self._ask_for_code(False)
        self.query_one("#password" if self.user_name else "#user", Input).focus()

    def _ask_for_code(self, ask: bool) -> None:
        self.set_class(ask, "-code")

    def _say(self, message: str, *, error: bool) -> None:
        shown = self.query_one("#message", Static)
        shown.update(message)
        shown.set_class(error, "-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "user":
            if event.value.strip():
                self.query_one("#password", Input).focus()
            return
        if not self.query_one("#user", Input).value.strip():
            self.query_one("#user", Input).focus()
            return
        self._log_in()

    def _log_in(self) -> None:
        # Imported here: argon2 loads only when someone logs in.
        from crmtui.store import auth

        name = self.query_one("#user", Input).value
        password = self.query_one("#password", Input)
        code = self.query_one("#code", Input)
        try:
            actor = auth.log_in(
                name, password.value, code.value if self.has_class("-code") else None
            )
        except auth.CodeRequiredError as exc:
            self._say(str(exc), error=False)
            self._ask_for_code(True)
            code.focus()
            return
        except auth.LoginFailedError as exc:
            self._say(str(exc), error=True)
            password.clear()
            code.clear()
            self._ask_for_code(False)
            password.focus()
            return
        # The password leaves the screen's memory with the screen; cleared here anyway.
        password.clear()
        code.clear()
        self.post_message(LoggedIn(actor))
