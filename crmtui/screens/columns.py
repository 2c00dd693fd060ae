"""The column chooser: which columns of the customer table are shown.

It returns the keys of the columns to hide, or None when cancelled; the customer screen applies
them and remembers them for the user.
"""

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.widgets.customer_table import COLUMNS


class ColumnsScreen(Dialog[frozenset[str] | None]):
    """Tick the columns to show: space ticks or unticks, enter applies, escape cancels."""

    DEFAULT_CSS = """
    ColumnsScreen {
        & > #dialog {
            width: 50;
            max-height: 100%;
        }
        SelectionList {
            height: auto;
            max-height: 14;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding: the list would take enter as "tick" too.
        Binding("enter", "apply", _("Apply"), priority=True, id="columns.apply"),
        Binding("escape", "dismiss(None)", _("Cancel"), id="columns.cancel"),
    ]

    def __init__(self, hidden: Iterable[str]) -> None:
        super().__init__()
        self.hidden = frozenset(hidden)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(_("Columns to show"), id="title")
            yield SelectionList[str](
                *(
                    Selection(
                        column.label,
                        column.key,
                        column.key not in self.hidden,
                        disabled=not column.hideable,
                    )
                    for column in COLUMNS
                )
            )
            yield Static(_("space: show/hide · enter: apply · escape: cancel"), id="hint")

    def action_apply(self) -> None:
        shown = set(self.query_one(SelectionList).selected)
        self.dismiss(frozenset(column.key for column in COLUMNS if column.key not in shown))
