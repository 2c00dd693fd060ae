"""Backing up from the app (SPEC F9): a dialog with a progress bar while the store makes the
backup in a thread, and the header's word on how old the newest backup is.

The backup is the one `crmtui backup` makes with no options (into the default directory,
plain); it goes on while others work, so the dialog only waits for it and cannot stop it.
"""

from dataclasses import dataclass
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static

from crmtui.formatting import ago, file_size
from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.store import backup as store_backup
from crmtui.store import db as store_db
from crmtui.store.errors import StoreError
from crmtui.store.permissions import DATABASE_BACKUP, allowed
from crmtui.store.types import Actor


@dataclass(frozen=True)
class BackupNote:
    """What the header says about the newest backup; `warning` when it is overdue."""

    text: str
    warning: bool


def backup_note(actor: Actor, target: str) -> BackupNote | None:
    """The header's note on backups; None for a role that may not back up (nothing to do)."""
    # Asked first, not tried: a refusal is an audit row, and the header asks every minute.
    if not allowed(actor, DATABASE_BACKUP):
        return None
    try:
        fresh = store_backup.backup_freshness(actor, target)
    except StoreError:
        return BackupNote(_("backups unreadable"), warning=True)
    if fresh.age is None:
        return BackupNote(_("no backup"), warning=True)
    if fresh.stale:
        return BackupNote(_("backup overdue: {age}").format(age=ago(fresh.age)), warning=True)
    return BackupNote(_("backup {age}").format(age=ago(fresh.age)), warning=False)


def done_message(result: store_backup.BackupResult) -> str:
    """The notification when a backup is complete: where it is and how big."""
    return _("{path} ({size}, {seconds:.1f} s)").format(
        path=result.path, size=file_size(result.manifest.size), seconds=result.seconds
    )


class BackupScreen(Dialog[store_backup.BackupResult | None]):
    """Makes a backup while showing how far it is; dismisses with the result, or stays open
    with the reason when it fails (then escape closes it, with None)."""

    DEFAULT_CSS = """
    BackupScreen {
        #step {
            height: auto;
        }
        #progress {
            margin-top: 1;
        }
        &.-failed {
            & > #dialog {
                border: thick $error;
            }
            #step {
                color: $text-error;
            }
            #progress {
                display: none;
            }
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Close"), id="backup.close"),
    ]

    class Progressed(Message):
        """From the backup's thread: `done` of `total` bytes (None: not known) of `label`."""

        def __init__(self, label: str, done: int, total: int | None) -> None:
            super().__init__()
            self.label, self.done, self.total = label, done, total

    class Finished(Message):
        """From the backup's thread: the backup is complete, or `error` says why not."""

        def __init__(
            self, result: store_backup.BackupResult | None, error: str | None = None
        ) -> None:
            super().__init__()
            self.result, self.error = result, error

    def __init__(self, actor: Actor, target: str) -> None:
        super().__init__()
        self.actor = actor
        self.target = target
        self.running = True

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(_("Backing up the database"), id="title")
            yield Static(_("starting…"), id="step", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="progress")
            yield Static(
                _("Others can go on working meanwhile. It cannot be stopped half-way."),
                id="hint",
            )

    def on_mount(self) -> None:
        self._back_up()

    @work(thread=True, exclusive=True)
    def _back_up(self) -> None:
        def report(label: str, done: int, total: int | None) -> None:
            self.post_message(self.Progressed(label, done, total))  # thread-safe

        try:
            with store_db.thread_connection():
                result = store_backup.create_backup(self.actor, self.target, progress=report)
        except StoreError as error:  # disk full, a directory it cannot write, …
            self.post_message(self.Finished(None, str(error)))
        else:
            self.post_message(self.Finished(result))

    def on_backup_screen_progressed(self, message: Progressed) -> None:
        if message.total:
            step = _("{label}: {done} of {total}").format(
                label=message.label,
                done=file_size(message.done),
                total=file_size(message.total),
            )
        else:
            step = _("{label}: {done}").format(label=message.label, done=file_size(message.done))
        self.query_one("#step", Static).update(step)
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def on_backup_screen_finished(self, message: Finished) -> None:
        self.running = False
        if message.result is not None:
            self.dismiss(message.result)
            return
        self.add_class("-failed")
        self.query_one("#title", Static).update(_("The backup failed"))
        self.query_one("#step", Static).update(message.error or "")
        self.query_one("#hint", Static).update(_("No backup was made. Press escape to close this."))

    def action_close(self) -> None:
        if not self.running:
            self.dismiss(None)
