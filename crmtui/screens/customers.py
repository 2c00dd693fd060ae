"""The home screen: the customer table, or how to add customers while there are none."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from crmtui.i18n import _
from crmtui.messages import EditCustomer, NewCustomer, OpenCustomer
from crmtui.store.types import Actor
from crmtui.widgets.customer_table import CustomerTable


def empty_database_message(command: str) -> Content:
    """What to do on an empty database; `command` is how to run crmtui on this database."""
    return Content.assemble(
        (_("No customers yet."), "bold"),
        "\n\n",
        _("To try crmtui with demo data, run in a shell:"),
        "\n    ",
        (f"{command} demo --customers 1000", "bold"),
        "\n\n",
        _("To add one customer:"),
        "\n    ",
        (f"{command} customer add --name NAME", "bold"),
        "\n\n",
        _("Importing CSV and Excel files ({command}) comes in a later version.").format(
            command=f"{command} import"
        ),
        "\n\n",
        _("Then press r to show them."),
    )


class CustomersScreen(Screen[None]):
    """All customers in a table, the first thing the user sees."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_customer", _("New"), id="customers.new"),
        Binding("e", "edit_customer", _("Edit"), id="customers.edit"),
        Binding("r", "reload", _("Reload"), id="customers.reload"),
    ]

    def __init__(self, actor: Actor, command: str) -> None:
        super().__init__()
        self.actor = actor
        self.command = command

    def compose(self) -> ComposeResult:
        yield Header()
        yield CustomerTable(self.actor, id="customer-table")
        yield Static(empty_database_message(self.command), id="empty-message")
        yield Footer()

    def on_customer_table_total_changed(self, event: CustomerTable.TotalChanged) -> None:
        if self.has_class("-empty") and event.total:
            event.table.focus()  # it was hidden, so nothing had the focus
        # The app.tcss rules for `-empty` swap the table for the message.
        self.set_class(event.total == 0, "-empty")

    def action_reload(self) -> None:
        self.query_one(CustomerTable).reload()

    def on_customer_table_selected(self, event: CustomerTable.Selected) -> None:
        self.post_message(OpenCustomer(event.customer.id))

    def action_new_customer(self) -> None:
        self.post_message(NewCustomer())

    def action_edit_customer(self) -> None:
        table = self.query_one(CustomerTable)
        customer = table.customer_at(table.cursor_row)
        if customer is not None:
            self.post_message(EditCustomer(customer.id))
