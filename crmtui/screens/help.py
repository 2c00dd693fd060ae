"""The help screen (`?`): every key the current screen answers to, and what it does."""

import dataclasses
from typing import ClassVar, NamedTuple

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
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

    Keys bound to the same action are listed together, as `j, down`. The screen's own keys
    come first, then its widgets', then the app's, and last Textual's built-in ones (scrolling
    sideways, focus, copy; crmtui's bindings all have an id): at 80×24 the keys people look
    for fit without scrolling.
    """

    def rank(active: ActiveBinding) -> tuple[bool, bool, bool]:
        return (active.binding.id is None, active.node is screen.app, active.node is not screen)

    by_action: dict[tuple[int, str], list[str]] = {}
    descriptions: dict[tuple[int, str], str] = {}
    for active in sorted(screen.active_bindings.values(), key=rank):
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
    HelpScreen > VerticalScroll > Static {
        width: auto;  /* as wide as the table: a width-auto box has no room to share out */
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
