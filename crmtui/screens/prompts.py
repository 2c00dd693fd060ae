"""Small dialogs that ask for one value: a choice from a list, or a line of text.

Each dismisses with the value, or None when the user cancels (escape); the screen that asked
decides what to do with it.
"""

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from crmtui.i18n import _
from crmtui.screens.dialog import Dialog


class ChoiceScreen(Dialog[str | None]):
    """Pick one of `choices` ((value, label) pairs): enter picks, escape cancels."""

    DEFAULT_CSS = """
    ChoiceScreen OptionList {
        height: auto;
        max-height: 14;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", _("Cancel"), id="choice.cancel"),
    ]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], current: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            yield OptionList(*(Option(label, id=value) for value, label in self.choices))
            yield Static(_("enter: choose · escape: cancel"), id="hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for value, _label in self.choices]
        options.highlighted = values.index(self.current) if self.current in values else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class TextPromptScreen(Dialog[str | None]):
    """Ask for one line of text: enter answers, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", _("Cancel"), id="text_prompt.cancel"),
    ]

    def __init__(self, title: str, *, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            yield Input(self.value, placeholder=self.placeholder)
            yield Static(_("enter: done · escape: cancel"), id="hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)
