"""The dialog shown when a save is refused because someone else saved the record first.

Each field whose saved value differs from the form's is listed with their value beside yours;
per field the user keeps theirs or takes mine, and the form then saves against their version.
Nothing is overwritten without the user seeing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from crmtui.i18n import _

FIELD_WIDTH = 16


@dataclass(frozen=True)
class Difference:
    """One field as saved by someone else and as in the form."""

    name: str
    label: str
    theirs: str
    mine: str
    keep_mine: bool  # the choice offered first: mine if the user changed the field


class ConflictScreen(ModalScreen[dict[str, bool] | None]):
    """Their values beside yours; dismisses with {field: keep mine?}, or None to go back."""

    DEFAULT_CSS = """
    ConflictScreen {
        align: center middle;
        & > Vertical {
            width: 100%;
            max-width: 120;
            height: auto;
            max-height: 100%;
            margin: 1 1;
            padding: 0 1;
            border: thick $error;
            background: $surface;
        }
        & .conflict-message {
            margin-bottom: 1;
        }
        & DataTable {
            height: auto;
            max-height: 12;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "keep_mine", _("Keep mine"), id="conflict.keep_mine"),
        Binding("t", "take_theirs", _("Take theirs"), id="conflict.take_theirs"),
        Binding("space", "switch", _("Switch"), show=False, id="conflict.switch"),
        Binding("ctrl+s", "save", _("Save"), priority=True, id="conflict.save"),
        Binding("escape", "back", _("Back to form"), id="conflict.back"),
    ]

    def __init__(self, noun: str, differences: list[Difference]) -> None:
        super().__init__()
        self.noun = noun
        self.differences = {d.name: d for d in differences}
        self.keep_mine = {d.name: d.keep_mine for d in differences}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                _(
                    "Someone else saved this {noun} while you were editing it. Nothing was "
                    "saved yet. For each field keep yours (m) or take theirs (t), then save "
                    "(ctrl+s); escape goes back to the form."
                ).format(noun=self.noun),
                classes="conflict-message",
            )
            yield DataTable(cursor_type="row", zebra_stripes=True)
            yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        room = max(20, min(self.app.size.width, 120) - FIELD_WIDTH - 12)
        table.add_column(_("Field"), width=FIELD_WIDTH, key="field")
        table.add_column(_("Theirs (saved)"), width=room // 2, key="theirs")
        table.add_column(_("Yours"), width=room - room // 2, key="mine")
        for name, difference in self.differences.items():
            table.add_row(difference.label, *self._cells(name), key=name)
        table.focus()

    def _cells(self, name: str) -> tuple[Text, Text]:
        """Their value and mine, the one that will be saved marked and bright."""
        difference = self.differences[name]
        mine = self.keep_mine[name]

        def cell(value: str, chosen: bool) -> Text:
            shown = value.replace("\n", " ") or _("(empty)")
            if chosen:
                return Text("✔ " + shown, style="bold")
            return Text("  " + shown, style="dim strike")

        return cell(difference.theirs, not mine), cell(difference.mine, mine)

    def _choose(self, keep_mine: bool | None) -> None:
        """Set (or with None, switch) the choice of the field under the cursor."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self.keep_mine[name] = not self.keep_mine[name] if keep_mine is None else keep_mine
        theirs, mine = self._cells(name)
        table.update_cell(name, "theirs", theirs)
        table.update_cell(name, "mine", mine)

    def action_keep_mine(self) -> None:
        self._choose(True)

    def action_take_theirs(self) -> None:
        self._choose(False)

    def action_switch(self) -> None:
        self._choose(None)

    def action_save(self) -> None:
        self.dismiss(dict(self.keep_mine))

    def action_back(self) -> None:
        self.dismiss(None)
