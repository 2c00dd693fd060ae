"""The Textual app: the screens, the global keys, and the header's status line.

The CLI opens the database and names the acting user before the app starts; the app only
calls store functions, so it runs alike on SQLite and PostgreSQL.
"""

import contextlib
import gc
import os
import shlex
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import ModalScreen, Screen

from crmtui.commands import binding_commands
from crmtui.config import resolve_db_target
from crmtui.formatting import count_text
from crmtui.i18n import _, ngettext
from crmtui.messages import CustomersChanged, EditCustomer, LoggedIn, NewCustomer, OpenCustomer
from crmtui.screens.customers import TRANSFER_GROUP, CustomersScreen
from crmtui.screens.help import HelpScreen, keys_of
from crmtui.store.db import redact_url
from crmtui.store.errors import DatabaseFailure, StoreError
from crmtui.store.permissions import AUDIT_READ, DATABASE_BACKUP, FOLLOWUP_READ, allowed
from crmtui.store.types import Actor, Customer

if TYPE_CHECKING:
    from crmtui.store.backup import BackupResult

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"
# Follow-ups turn overdue as time passes, so the count in the header is taken again this often.
OVERDUE_REFRESH_SECONDS = 60


class DatabaseStopped(Exception):
    """The database failed under the app (a lost connection, a lock held past the busy
    timeout): the app exits saying so in one line, where Textual would show a traceback."""

    def __rich__(self) -> str:  # Textual prints an error with __rich__ as it is, and exits
        return _("crmtui stopped: the database failed: {error}").format(
            error=" ".join(str(self).split())
        )


def shown_target(target: str) -> str:
    """The database as the header shows it: no password, and the home folder as `~`."""
    target = redact_url(target)
    home = str(Path.home())
    if target.startswith(home + "/"):
        return "~" + target.removeprefix(home)
    return target


def program_name() -> str:
    """How the user starts crmtui from their shell: `crmtui` when it is on the PATH, else
    the script in the virtual environment (after `make run`, `.venv/bin/crmtui`)."""
    if shutil.which("crmtui"):
        return "crmtui"
    script = Path(sys.executable).parent / "crmtui"
    if not script.exists():
        return "crmtui"
    with contextlib.suppress(ValueError):
        script = script.relative_to(Path.cwd())
    return shlex.quote(str(script))


def shell_command(target: str, user_name: str = "") -> str:
    """How to run crmtui from a shell on `target`: `--db` only when it is not the default,
    and `--user` for a user who logged in."""
    command = program_name()
    if target != resolve_db_target(None):
        command += f" --db {shlex.quote(redact_url(target))}"
    if user_name:
        command += f" --user {shlex.quote(user_name)}"
    return command


class CrmApp(App[None]):
    """crmtui in the terminal."""

    CSS_PATH = "app.tcss"
    TITLE = "crmtui"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", _("Quit"), id="app.quit"),
        Binding("question_mark", "help", _("Help"), key_display="?", id="app.help"),
        Binding("ctrl+t", "toggle_theme", _("Light/dark"), show=False, id="app.toggle_theme"),
        # Not in the footer: the customer table's keys fill 80 columns. `?` and ctrl+p list it.
        Binding("w", "queue", _("Follow-up queue"), show=False, id="app.queue"),
        Binding("A", "audit", _("Audit log"), show=False, id="app.audit"),
        Binding("B", "backup", _("Back up the database"), show=False, id="app.backup"),
    ]

    def __init__(self, actor: Actor | None, db_label: str, user_name: str = "") -> None:
        """`actor` None: users have passwords, and the app starts on the login screen
        (with `user_name` filled in)."""
        super().__init__()
        self.actor = actor
        self.db_label = db_label
        self.user_name = user_name
        self._backup_warning: str | None = None  # the header's text shown as a warning

    def get_default_screen(self) -> Screen:
        if self.actor is None:
            # Imported here: single-user mode, the usual start, never shows it.
            from crmtui.screens.login import LoginScreen

            return LoginScreen(self.user_name, shown_target(self.db_label))
        return CustomersScreen(self.actor, shell_command(self.db_label))

    def on_logged_in(self, message: LoggedIn) -> None:
        actor = self.actor = message.actor
        # Textual cannot switch away from the default screen (the login screen here), so the
        # customer table opens a screen stack (a mode) of its own; the login one stays behind,
        # out of reach.
        command = shell_command(self.db_label, actor.name)
        self.add_mode("crm", lambda: CustomersScreen(actor, command))
        self.switch_mode("crm")
        self.show_status()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from binding_commands(self, screen)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(keys_of(self.screen)))

    def action_queue(self) -> None:
        # Imported when first opened, not before the first screen (start-up time).
        from crmtui.screens.queue import QueueScreen

        if isinstance(self.screen, QueueScreen):
            return
        # From a customer opened from the queue: back to that queue, not a second one on top.
        while any(isinstance(screen, QueueScreen) for screen in self.screen_stack[1:-1]):
            self.pop_screen()
        if not isinstance(self.screen, QueueScreen):
            self.push_screen(QueueScreen(self.actor))

    def action_audit(self) -> None:
        from crmtui.screens.audit import AuditScreen  # when first opened (start-up time)

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen(self.actor, self.db_label))

    async def action_quit(self) -> None:
        # An import or export runs in a thread the process would wait for after the screen
        # is gone, looking hung: the user quits once it has ended.
        if any(w.group == TRANSFER_GROUP and w.is_running for w in self.workers):
            self.notify(
                _("An import or export is running: quit once it has ended."), severity="warning"
            )
            return
        await super().action_quit()

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.actor is None and action in ("queue", "command_palette", "audit", "backup"):
            return False  # nothing but the login before a login
        if action == "audit" and not allowed(self.actor, AUDIT_READ):
            return False  # not offered to those who may not read it
        if action in ("quit", "queue", "audit", "backup"):
            # Not while a form or a dialog is open, where `q` reaches the app from a check box
            # or a choice: quitting would drop what was typed without the form's warning
            # (and the queue or a backup would open over the form).
            return not any(
                isinstance(screen, ModalScreen) or getattr(screen, "HOLDS_INPUT", False)
                for screen in self.screen_stack
            )
        return True

    def _handle_exception(self, error: Exception) -> None:
        # Textual's one hook for an error no handler caught: it always ends the app.
        if isinstance(error, (StoreError, DatabaseFailure)) and not os.environ.get("CRMTUI_DEBUG"):
            stopped = DatabaseStopped(str(error))
            stopped.__cause__ = error
            error = stopped
        super()._handle_exception(error)

    def action_backup(self) -> None:
        if not allowed(self.actor, DATABASE_BACKUP):
            self.notify(
                _("{user} may not back up the database: ask an admin").format(user=self.actor.name),
                severity="error",
            )
            return
        # Imported when first opened, not before the first screen (start-up time).
        from crmtui.screens.backup import BackupScreen

        self.push_screen(BackupScreen(self.actor, self.db_label), self._backed_up)

    def _backed_up(self, result: "BackupResult | None") -> None:
        if result is not None:
            from crmtui.screens.backup import done_message

            self.notify(done_message(result), title=_("Backup made"))
        self.show_status()

    def on_open_customer(self, message: OpenCustomer) -> None:
        # Imported when first opened, not before the first screen (start-up time).
        from crmtui.screens.customer_detail import CustomerDetailScreen

        self.push_screen(CustomerDetailScreen(self.actor, message.customer_id))

    def on_new_customer(self, message: NewCustomer) -> None:
        self._open_customer_form(None)

    def on_edit_customer(self, message: EditCustomer) -> None:
        self._open_customer_form(message.customer_id)

    def _open_customer_form(self, customer_id: int | None) -> None:
        # Imported when first opened, not before the first screen (start-up time).
        from crmtui.screens.customer_form import CustomerFormScreen

        try:
            form = CustomerFormScreen.load(self.actor, customer_id)
        except StoreError as exc:  # deleted meanwhile, or the role may not read it
            self.notify(str(exc), severity="error")
            return
        self.push_screen(form, self._customer_saved)

    def _customer_saved(self, customer: Customer | None) -> None:
        if customer is not None:
            self.post_message(CustomersChanged())

    def on_customers_changed(self, message: CustomersChanged) -> None:
        # Every screen showing customers reloads (the table under a customer's screen too).
        for screen in self.screen_stack:
            if screen is not message.origin:
                screen.post_message(CustomersChanged())
        # A follow-up done or a contact logged changes the overdue count.
        self.show_status(message.overdue)

    def on_mount(self) -> None:
        # Everything made while starting lives as long as the app: out of the collector's
        # sight, a full collection no longer walks it (at a million customers those pauses
        # were the slowest page-downs, 100-150 ms).
        gc.freeze()
        # The count comes after the first screen is painted: it is not what the user waits for.
        self.sub_title = shown_target(self.db_label)
        if self.actor is not None:
            self.call_after_refresh(self.show_status)
        self.set_interval(OVERDUE_REFRESH_SECONDS, self.show_status)

    def show_status(self, overdue: int | None = None) -> None:
        """Put the user's count of overdue follow-ups (`overdue`, else counted now), the newest
        backup's age and the database in the header.

        The count comes first: a long database path is cut at the end of the line.
        """
        if self.actor is None:  # on the login screen: no one's follow-ups to count
            return
        # Here, not at the top: the count is taken after the first paint (start-up time).
        from crmtui.screens.backup import backup_note
        from crmtui.store import followups, queue

        parts = [shown_target(self.db_label)]
        # Before the database: for a role that may back up, how old the newest backup is.
        note = backup_note(self.actor, self.db_label)
        self._backup_warning = note.text if note is not None and note.warning else None
        if note is not None:
            parts.insert(0, note.text)
        # Asked first, not tried: a refusal is an audit row, and the header is redrawn often.
        if allowed(self.actor, FOLLOWUP_READ):  # a role that may not has none to count
            count = followups.count_overdue(self.actor) if overdue is None else overdue
            overdue = ngettext("{count} overdue follow-up", "{count} overdue follow-ups", count)
            parts.insert(0, overdue.format(count=count_text(count, queue.COUNT_CAP)))
        self.sub_title = " · ".join(parts)

    def format_title(self, title: str, sub_title: str) -> Content:
        content = super().format_title(title, sub_title)
        warning = self._backup_warning
        if warning and (start := content.plain.find(warning)) >= 0:
            # Not dimmed like the rest of the line: an overdue backup should catch the eye.
            style = f"bold not dim {self.theme_variables['text-warning']}"
            content = content.stylize(style, start, start + len(warning))
        return content
