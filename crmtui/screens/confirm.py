"""A yes/no question in a dialog, for any action that deserves a second thought.

Push it and wait for the answer (`await app.push_screen_wait(ConfirmScreen(...))` in a worker,
or `push_screen(ConfirmScreen(...), callback)`): it dismisses with True for yes, False for no.
"""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog


class ConfirmScreen(Dialog[bool]):
    """Ask `question`; y (or the confirm button) answers yes, n or escape answers no.

    With `danger`, the confirm button is red and the focus starts on the cancel button, so an
    absent-minded enter does not delete anything.
    """

    DEFAULT_CSS = """
    ConfirmScreen {
        & > #dialog {
            width: auto;
            min-width: 40;
            max-width: 76;
            max-height: 20;
        }
        &.-danger > #dialog {
            border: thick $error;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _("Yes"), id="confirm.yes"),
        Binding("n,escape", "answer(False)", _("No"), id="confirm.no"),
    ]

    def __init__(
        self,
        question: str,
        *,
        title: str = "",
        confirm_label: str = "",
        cancel_label: str = "",
        danger: bool = False,
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self.question = question
        self.title_text = title
        self.confirm_label = confirm_label or _("Yes")
        self.cancel_label = cancel_label or _("No")
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            if self.title_text:
                yield Static(self.title_text, id="title", markup=False)
            yield Static(self.question, id="question", markup=False)
            with Horizontal(id="buttons"):
                yield Button(
                    self.confirm_label, id="confirm", variant="error" if self.danger else "primary"
                )
                yield Button(self.cancel_label, id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.danger else "#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
