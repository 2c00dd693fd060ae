"""Messages that cross screens: a screen asks, the app decides which screen answers.

The customer table's screen posts these; the app opens the detail screen or the form. So the
table needs no knowledge of the screens that show or edit a customer.
"""

from textual.message import Message

from crmtui.store.types import Actor


class OpenCustomer(Message):
    """Show one customer's detail screen."""

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        super().__init__()


class NewCustomer(Message):
    """Open an empty customer form."""


class EditCustomer(Message):
    """Open the customer form on an existing customer."""

    def __init__(self, customer_id: int) -> None:
        self.customer_id = customer_id
        super().__init__()


class CustomersChanged(Message, bubble=False):
    """Customers were added, changed or deleted: lists showing them should reload.

    Post it to the app (`app.post_message`); the app passes it to every screen but `origin`,
    the screen that made the change and has shown it already. It does not bubble, so a
    screen's copy does not come back to the app to be passed on again. `overdue` is the
    acting user's count of overdue items when the origin has just read it (the queue screen
    does, with the queue): the app's header shows it instead of counting again.
    """

    def __init__(self, origin: object | None = None, overdue: int | None = None) -> None:
        self.origin = origin
        self.overdue = overdue
        super().__init__()


class LoggedIn(Message):
    """The login screen's user logged in: the app opens its first screen for them."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        super().__init__()
