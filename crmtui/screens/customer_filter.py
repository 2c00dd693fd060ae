"""The customer filter dialog: stage, tag, owner and key-account flag.

It returns the query with the filter the user chose (search and sort kept), or None when
cancelled; the customer screen applies it. It reads nothing from the store itself.
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog
from crmtui.store.types import CustomerQuery
from crmtui.store.vocabulary import STAGES
from crmtui.widgets.customer_table import STAGE_LABELS

_KEY_ACCOUNT = {"yes": True, "no": False}


def _chosen(select: Select) -> str | None:
    return None if select.is_blank() else str(select.value)


class FilterScreen(Dialog[CustomerQuery | None]):
    """Choose which customers the table shows."""

    DEFAULT_CSS = """
    FilterScreen {
        Grid {
            grid-size: 2;
            grid-columns: auto 1fr;
            grid-gutter: 1 2;
            height: auto;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", _("Apply"), id="filter.apply"),
        Binding("ctrl+r", "clear", _("Clear"), id="filter.clear"),
        Binding("escape", "dismiss(None)", _("Cancel"), id="filter.cancel"),
    ]

    def __init__(self, query: CustomerQuery, owners: Sequence[str]) -> None:
        super().__init__()
        self.current = query
        self.owners = list(owners)
        if query.owner and query.owner not in self.owners:
            self.owners.append(query.owner)  # e.g. a user disabled since the filter was saved

    def compose(self) -> ComposeResult:
        query = self.current
        any_label = _("any")
        with Vertical(id="dialog"):
            yield Static(_("Show only customers…"), id="title")
            with Grid():
                yield Label(_("Stage"))
                yield Select(
                    [(STAGE_LABELS[stage], stage) for stage in STAGES],
                    prompt=any_label,
                    value=query.stage or Select.NULL,
                    compact=True,
                    id="stage",
                )
                yield Label(_("Tag"))
                yield Input(query.tag or "", placeholder=any_label, compact=True, id="tag")
                yield Label(_("Owner"))
                yield Select(
                    [(name, name) for name in self.owners],
                    prompt=any_label,
                    value=query.owner or Select.NULL,
                    compact=True,
                    id="owner",
                )
                yield Label(_("Key account"))
                key_account = {True: "yes", False: "no"}.get(query.key_account, Select.NULL)
                yield Select(
                    [(_("key accounts only"), "yes"), (_("all but key accounts"), "no")],
                    prompt=any_label,
                    value=key_account,
                    compact=True,
                    id="key-account",
                )
            with Horizontal(id="buttons"):
                yield Button(_("Apply"), id="apply", variant="primary")
                yield Button(_("Clear"), id="clear")
                yield Button(_("Cancel"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "clear":
            self.action_clear()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        key_account = _chosen(self.query_one("#key-account", Select))
        self.dismiss(
            replace(
                self.current,
                stage=_chosen(self.query_one("#stage", Select)),
                tag=self.query_one("#tag", Input).value.strip() or None,
                owner=_chosen(self.query_one("#owner", Select)),
                key_account=None if key_account is None else _KEY_ACCOUNT[key_account],
            )
        )

    def action_clear(self) -> None:
        """Show every customer again (the search is kept: escape on the table clears it)."""
        self.dismiss(replace(self.current, stage=None, tag=None, owner=None, key_account=None))
