"""What an import did or would do: the counts, the first rejected rows and where the reject
file is, and which column went to which field.

Shown after the check ("ask": import now, or not), after a dry run the user asked for
("dry-run"), and when an all-or-nothing import refused the file ("failed"). It dismisses with
True only for "import now".
"""

from pathlib import Path
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from crmtui.formatting import text_table
from crmtui.i18n import _, ngettext
from crmtui.screens.dialog import Dialog
from crmtui.transfer.importing import ImportResult

Mode = Literal["ask", "dry-run", "failed"]


class ImportReportScreen(Dialog[bool]):
    """Show `result`; in "ask" mode, ask whether to import the file for real."""

    DEFAULT_CSS = """
    ImportReportScreen {
        & > #dialog {
            width: 76;
            max-height: 22;
        }
        &.-failed > #dialog {
            border: thick $error;
        }
        #report {
            height: auto;
            max-height: 10;
        }
        .heading {
            text-style: bold;
            margin-top: 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _("Import"), id="import_report.yes"),
        Binding("n,escape", "answer(False)", _("Close"), id="import_report.no"),
    ]

    def __init__(self, result: ImportResult, mode: Mode) -> None:
        super().__init__(classes="-failed" if result.failed else None)
        self.result = result
        self.mode = mode
        self.ask = mode == "ask"

    def _title(self) -> str:
        file = Path(self.result.options.source).name  # the whole path is in the summary
        if self.mode == "ask":
            return _("Import {file}?").format(file=file)
        if self.mode == "failed":
            return _("Nothing was imported from {file}").format(file=file)
        return _("Dry run of {file}").format(file=file)

    def _summary(self) -> str:
        if self.mode == "failed":
            return _("No row was written: the database is as it was.")
        return self.result.text()

    def _rejects(self) -> str:
        result = self.result
        lines = []
        if result.failed:
            lines.append(
                _(
                    "All or nothing: one bad row stops the whole file. Fix the rows, or import "
                    "with “Skip invalid rows”."
                )
            )
        count = result.summary.rejected
        lines.append(
            ngettext(
                "{count:,} row rejected; every reason is in {path}",
                "{count:,} rows rejected; every reason is in {path}",
                count,
            ).format(count=count, path=result.rejects_file)
        )
        rows = [[str(r.line), r.column, r.reason] for r in result.first_rejects]
        lines.append(text_table([_("Line"), _("Column"), _("Reason")], rows, max_width=50))
        return "\n".join(lines)

    def compose(self) -> ComposeResult:
        result = self.result
        with Vertical(id="dialog"):
            yield Static(self._title(), id="title", markup=False)
            yield Static(self._summary(), id="summary", markup=False)
            with VerticalScroll(id="report"):
                if result.summary.rejected:
                    yield Static(_("Rejected rows"), classes="heading", markup=False)
                    yield Static(self._rejects(), id="rejects", markup=False)
                yield Static(_("Columns"), classes="heading", markup=False)
                yield Static("\n".join(result.mapping), id="mapping", markup=False)
            with Horizontal(id="buttons"):
                if self.ask:
                    yield Button(_("Import"), id="confirm", variant="primary")
                    yield Button(_("Cancel"), id="cancel")
                else:
                    yield Button(_("Close"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm" if self.ask else "#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and self.ask)
