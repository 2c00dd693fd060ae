"""The saved views dialog: pick a view, delete one, or save what the table shows as a view.

It returns what the user asked for (a `ViewRequest`), or None when cancelled; the customer
screen does it through the store.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.store.views import SavedView


@dataclass(frozen=True)
class ViewRequest:
    """Apply or delete `view`, or save the table's current view under `name`."""

    action: Literal["apply", "delete", "save"]
    view: SavedView | None = None
    name: str = ""


class ViewsScreen(Dialog[ViewRequest | None]):
    """The user's saved views, and a field to save the current one."""

    DEFAULT_CSS = """
    ViewsScreen {
        & > #dialog {
            max-height: 100%;
        }
        .title {
            text-style: bold;
        }
        OptionList {
            height: auto;
            max-height: 10;
            margin-bottom: 1;
        }
        #none {
            color: $text-muted;
            margin-bottom: 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "delete", _("Delete view"), id="views.delete"),
        Binding("escape", "dismiss(None)", _("Cancel"), id="views.cancel"),
    ]

    def __init__(self, views: Sequence[SavedView], current: str = "") -> None:
        super().__init__()
        self.views = list(views)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(_("Saved views"), classes="title")
            if self.views:
                yield OptionList(*(Option(view.name, id=str(view.id)) for view in self.views))
            else:
                yield Static(_("None yet."), id="none")
            yield Static(_("Save the table as it is now, as:"), classes="title")
            yield Input(self.current, placeholder=_("view name"), compact=True)
            yield Static(_("enter: open or save · delete: delete view · escape: close"), id="hint")

    def on_mount(self) -> None:
        if self.views:
            self.query_one(OptionList).focus()
        else:
            self.query_one(Input).focus()

    def _view(self, option_id: str | None) -> SavedView | None:
        return next((view for view in self.views if str(view.id) == option_id), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(ViewRequest("apply", self._view(event.option.id)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(ViewRequest("save", name=event.value))

    def action_delete(self) -> None:
        if not self.views or not self.query_one(OptionList).has_focus:
            return
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            view = self._view(options.get_option_at_index(options.highlighted).id)
            self.dismiss(ViewRequest("delete", view))
