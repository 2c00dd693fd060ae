"""The export dialog: where the customer table's current view goes, and as what.

It returns the file, the format and the Excel option (or None when cancelled); the customer
screen runs the export. The format follows the file's extension as it is typed, and the
extension follows a format chosen.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.transfer import exporting
from crmtui.transfer.paths import target_path

_FORMAT_LABELS = {"csv": "CSV", "xlsx": _("Excel workbook (XLSX)"), "json": "JSON"}


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    fmt: str
    excel: bool  # CSV with a byte-order mark, for Excel


class ExportScreen(Dialog[ExportRequest | None]):
    """Ask where to export `what` (the view, in words) to; `path` is the file offered."""

    DEFAULT_CSS = """
    ExportScreen {
        & > #dialog {
            width: 70;
        }
        Grid {
            grid-size: 2;
            grid-columns: auto 1fr;
            grid-gutter: 1 2;
            height: auto;
        }
        #what {
            color: $text-muted;
            margin-bottom: 1;
        }
        #error {
            color: $error;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", _("Export"), id="export.export"),
        Binding("escape", "dismiss(None)", _("Cancel"), id="export.cancel"),
    ]

    def __init__(self, what: str, path: str) -> None:
        super().__init__()
        self.what = what
        self.path = path

    def compose(self) -> ComposeResult:
        fmt = exporting.named_format(self.path) or "csv"
        with Vertical(id="dialog"):
            yield Static(_("Export the customers shown"), id="title")
            yield Static(self.what, id="what", markup=False)
            with Grid():
                yield Label(_("File"))
                yield Input(self.path, compact=True, id="path")
                yield Label(_("Format"))
                yield Select(
                    [(label, key) for key, label in _FORMAT_LABELS.items()],
                    value=fmt,
                    allow_blank=False,
                    compact=True,
                    id="format",
                )
                yield Label("")
                yield Checkbox(
                    _("For Excel (UTF-8 with a byte-order mark)"),
                    compact=True,
                    disabled=fmt != "csv",
                    id="excel",
                )
            yield Static(id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button(_("Export"), id="export", variant="primary")
                yield Button(_("Cancel"), id="cancel")
            yield Static(_("enter or ctrl+s: export · escape: cancel"), id="hint", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        named = exporting.named_format(event.value)
        select = self.query_one("#format", Select)
        if named is not None and select.value != named:
            select.value = named

    def on_select_changed(self, event: Select.Changed) -> None:
        fmt = str(event.value)
        self.query_one("#excel", Checkbox).disabled = fmt != "csv"
        path = self.query_one("#path", Input)
        if path.value.strip() and exporting.named_format(path.value) != fmt:
            path.value = exporting.with_format(path.value.strip(), fmt)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export":
            self.action_export()
        else:
            self.dismiss(None)

    def action_export(self) -> None:
        text = self.query_one("#path", Input).value
        if not text.strip():
            self.query_one("#error", Static).update(_("Name the file to write."))
            return
        fmt = str(self.query_one("#format", Select).value)
        excel = self.query_one("#excel", Checkbox).value and fmt == "csv"
        self.dismiss(ExportRequest(target_path(text), fmt, excel))
