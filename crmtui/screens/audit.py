"""The audit log, for admins: every act newest first, and a key that verifies the chain."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header

from crmtui.formatting import local_time
from crmtui.i18n import _, ngettext
from crmtui.store import audit
from crmtui.store import backup as store_backup
from crmtui.store.errors import StoreError
from crmtui.store.types import Actor, Page
from crmtui.widgets.record_list import Column, RecordList

COLUMNS = (
    Column(_("When"), lambda e: local_time(e.at), width=16),
    Column(_("Who"), lambda e: e.user_name or "-", weight=1),
    Column(_("From"), lambda e: e.origin, weight=1),
    # Wide enough for the longest action ("communication.update"): it is what one scans for.
    Column(_("What"), lambda e: e.action, width=20),
    Column(_("Record"), lambda e: e.target, weight=2),
    Column(_("Result"), lambda e: e.result, width=6),
    Column(_("Detail"), lambda e: e.detail, weight=2),
)


class AuditScreen(Screen[None]):
    """Rows a page at a time, so a log of millions opens as fast as a short one."""

    AUTO_FOCUS = "#audit-list"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="audit.back"),
        Binding("V", "verify", _("Verify the chain"), id="audit.verify"),
        Binding("ctrl+r", "reload", _("Reload"), show=False, id="audit.reload"),
    ]

    def __init__(self, actor: Actor, target: str) -> None:
        super().__init__()
        self.actor = actor
        self.target = target  # the database's path or URL: its backups' heads are anchors

    def compose(self) -> ComposeResult:
        yield Header()
        yield RecordList(
            COLUMNS, self._page, empty_text=_("Nothing recorded yet."), id="audit-list"
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = _("Audit log")

    def _page(self, offset: int, limit: int) -> Page:
        return audit.list_entries(self.actor, offset=offset, limit=limit)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.query_one(RecordList).reload()

    def action_verify(self) -> None:
        try:
            # Held to the heads the backups in the usual place recorded, as `audit verify`.
            anchors = store_backup.audit_anchors(self.actor, self.target)
            report = audit.verify(self.actor, anchors=anchors)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        if report.ok:
            told = _("Audit log intact: {count} rows, each in its place.").format(
                count=report.checked
            )
            held = (
                ngettext(
                    "It holds the head {n} backup recorded.",
                    "It holds the heads {n} backups recorded.",
                    len(anchors),
                ).format(n=len(anchors))
                if anchors
                else _("No backup recorded a head to hold it to.")
            )
            self.notify("\n".join([f"{told} {held}", *report.notes]))
        else:
            self.notify(
                "\n".join([*report.problems, *report.notes]),
                title=_("Audit log tampered with"),
                severity="error",
                timeout=30,
            )
