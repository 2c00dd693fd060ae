"""The import dialog: which file, what it holds, and `crmtui import`'s options with its defaults.

It returns the import's options (or None when cancelled) and reads nothing itself; the customer
screen checks the file first and shows what would happen.
"""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Checkbox, Collapsible, Input, Label, Select, Static

from crmtui.config import current_settings
from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.store.validation import is_region
from crmtui.tabular.errors import TableError
from crmtui.tabular.reading import delimiter_named
from crmtui.transfer import importing
from crmtui.transfer.importing import ImportOptions
from crmtui.transfer.paths import target_path

_KIND_LABELS = {
    "customers": _("Customers"),
    "purchases": _("Purchases"),
    "communications": _("Communications"),
    "followups": _("Follow-ups"),
}
_DUPLICATE_LABELS = {
    "error": _("reject the row"),
    "skip": _("skip the row"),
    "update": _("update the customer"),
}


def _chosen(select: Select) -> str | None:
    return None if select.is_blank() else str(select.value)


class ImportScreen(Dialog[ImportOptions | None]):
    """Ask for a file to import and how."""

    DEFAULT_CSS = """
    ImportScreen {
        & > #dialog {
            width: 72;
            overflow-y: auto;  # the reading options, opened, may not fit a small terminal
        }
        Collapsible {
            border: none;
            padding: 0;
            & > Contents {
                padding: 0;
            }
        }
        Grid {
            grid-size: 2;
            grid-columns: auto 1fr;
            grid-gutter: 0 2;
            height: auto;
        }
        #error {
            color: $error;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "check", _("Check the file"), id="import.check"),
        Binding("escape", "dismiss(None)", _("Cancel"), id="import.cancel"),
    ]

    def compose(self) -> ComposeResult:
        defaults = ImportOptions(source="")
        with Vertical(id="dialog"):
            yield Static(_("Import a CSV or Excel file"), id="title")
            with Grid():
                yield Label(_("File"))
                yield Input(placeholder=_("~/客户表.xlsx"), compact=True, id="path")
                yield Label(_("Records"))
                yield Select(
                    [(label, kind) for kind, label in _KIND_LABELS.items()],
                    value=defaults.kind,
                    allow_blank=False,
                    compact=True,
                    id="kind",
                )
                yield Label(_("Match by"))
                yield Select([], compact=True, id="key")
                yield Label(_("On a match"))
                yield Select(
                    [(_DUPLICATE_LABELS[choice], choice) for choice in importing.ON_DUPLICATE],
                    value=defaults.on_duplicate,
                    allow_blank=False,
                    compact=True,
                    id="on-duplicate",
                )
                yield Label(_("Phone region"))
                yield Input(
                    placeholder=current_settings().default_region, compact=True, id="region"
                )
                yield Label("")
                yield Checkbox(
                    _("Skip invalid rows (import the others)"),
                    defaults.skip_invalid,
                    compact=True,
                    id="skip-invalid",
                )
                yield Label("")
                yield Checkbox(
                    _("Dry run only (write nothing)"), defaults.dry_run, compact=True, id="dry-run"
                )
            # How the file is read: detected unless told, so out of the way until needed.
            with (
                Collapsible(
                    title=_("Reading the file: format, encoding, delimiter, sheet, mapping"),
                    id="reading",
                ),
                Grid(),
            ):
                yield Label(_("Format"))
                yield Select(
                    [("CSV", "csv"), ("XLSX", "xlsx")],
                    prompt=_("from the file's name"),
                    compact=True,
                    id="format",
                )
                yield Label(_("Encoding"))
                yield Input(placeholder=_("detected (CSV)"), compact=True, id="encoding")
                yield Label(_("Delimiter"))
                yield Input(
                    placeholder=_("detected (CSV): , ; or tab"), compact=True, id="delimiter"
                )
                yield Label(_("Sheet"))
                yield Input(placeholder=_("the first (XLSX)"), compact=True, id="sheet")
                yield Label(_("Mapping file"))
                yield Input(placeholder=_("none (TOML: [columns])"), compact=True, id="map")
            yield Static(id="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button(_("Check"), id="check", variant="primary")
                yield Button(_("Cancel"), id="cancel")
            yield Static(
                _("The file is checked first: nothing is written before you confirm."),
                id="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self._show_keys(ImportOptions(source="").kind)

    def _show_keys(self, kind: str) -> None:
        """Customers are matched to saved ones by a key (or not at all); history rows name
        their customer by a link column (or the best the row fills)."""
        select = self.query_one("#key", Select)
        if kind == "customers":
            select.set_options([(key, key) for key in importing.KEYS])
            select.prompt = _("nothing: every row is new")
        else:
            select.set_options([(key, key) for key in importing.CUSTOMER_KEYS])
            select.prompt = _("the best column the row fills")
        self.query_one("#on-duplicate", Select).disabled = kind != "customers"

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "kind":
            self._show_keys(str(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_check()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "check":
            self.action_check()
        else:
            self.dismiss(None)

    def _refuse(self, message: str, field: str) -> None:
        self.query_one("#error", Static).update(message)
        widget = self.query_one(f"#{field}")
        reading = self.query_one("#reading", Collapsible)
        if reading in widget.ancestors:
            reading.collapsed = False
        widget.focus()

    def action_check(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self._refuse(_("Name the file to import."), "path")
            return
        region = self.query_one("#region", Input).value.strip()
        if region and not is_region(region):
            self._refuse(
                _("{value!r} is not a region code such as CN, US or GB").format(value=region),
                "region",
            )
            return
        delimiter = self.query_one("#delimiter", Input).value.strip()
        try:
            delimiter = delimiter and delimiter_named(delimiter)
        except TableError as exc:
            self._refuse(str(exc), "delimiter")
            return
        mapping_file = self.query_one("#map", Input).value.strip()
        kind = str(self.query_one("#kind", Select).value)
        key = _chosen(self.query_one("#key", Select))
        self.dismiss(
            ImportOptions(
                source=str(target_path(path)),
                kind=kind,
                file_format=_chosen(self.query_one("#format", Select)),
                encoding=self.query_one("#encoding", Input).value.strip() or None,
                delimiter=delimiter or None,
                sheet=self.query_one("#sheet", Input).value.strip() or None,
                mapping_file=str(target_path(mapping_file)) if mapping_file else None,
                region=region.upper() or None,
                key=key if kind == "customers" else None,
                on_duplicate=str(self.query_one("#on-duplicate", Select).value),
                customer_key=None if kind == "customers" else key,
                dry_run=self.query_one("#dry-run", Checkbox).value,
                skip_invalid=self.query_one("#skip-invalid", Checkbox).value,
            )
        )
