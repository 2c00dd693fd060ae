"""The help screen (`?`): every key the current screen answers to, and what it does."""

import dataclasses
from typing import ClassVar, NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from crmtui.formatting import text_table
from crmtui.i18n import _


class KeyHelp(NamedTuple):
    keys: str
    description: str


def keys_of(screen: Screen) -> list[KeyHelp]:
    """The keys active on `screen` (its focused widget's, its own and the app's), described.

    Keys bound to the same action are listed together, as `j, down`.
    """
    by_action: dict[tuple[int, str], list[str]] = {}
    descriptions: dict[tuple[int, str], str] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description:
            continue
        slot = (id(active.node), binding.action)
        # Each key by its own name: a binding's key_display names only the first of its keys.
        shown = screen.app.get_key_display(dataclasses.replace(binding, key_display=None))
        by_action.setdefault(slot, []).append(shown)
        descriptions[slot] = binding.description
    return [
        KeyHelp(", ".join(dict.fromkeys(keys)), descriptions[slot])
        for slot, keys in by_action.items()
    ]


class HelpScreen(ModalScreen[None]):
    """A list of the keys of the screen it was opened from."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: auto;
        max-width: 90%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        padding: 0 1;
        background: $surface;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", _("Close"), id="help.close"),
    ]

    def __init__(self, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = text_table(
            [_("Key"), _("Does")], [[k.keys, k.description] for k in self.keys], max_width=50
        )
        with VerticalScroll() as scroll:
            scroll.border_title = _("Keys")
            scroll.border_subtitle = _("escape closes")
            yield Static(table, markup=False)
