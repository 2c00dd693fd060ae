"""A date (or date and time) input that shows, as you type, the day the text names.

People type `2025-03-05`, `2025/3/5`, `today`, `+3d`, `next monday`; the store reads them all
(`crmtui.store.dates`, a pure parser). The hint beside the input shows what it will save, so a
typo is seen before saving, not after.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from crmtui.formatting import local_time
from crmtui.i18n import _
from crmtui.store.dates import DateParseError, parse_date, parse_datetime


def date_hint(text: str, *, moment: bool) -> str:
    """What `text` means as a date (or a local date and time), or why it is not one."""
    if not text.strip():
        return _("e.g. today, +3d, 2025-03-05")
    try:
        if moment:
            return "→ " + local_time(parse_datetime(text))
        day = parse_date(text)
    except DateParseError:
        return _("not a date")
    return "→ " + day.isoformat() + day.strftime(" %a")


class DateInput(Horizontal):
    """An `Input` for a date, with the parsed date beside it."""

    DEFAULT_CSS = """
    DateInput {
        height: auto;
        width: 1fr;
        & > Input {
            width: 1fr;
        }
        & > .date-hint {
            width: 26;
            height: 1;
            padding: 0 1;
            color: $text-muted;
        }
    }
    """

    def __init__(
        self,
        value: str = "",
        *,
        moment: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._initial = value
        self.moment = moment

    def compose(self) -> ComposeResult:
        placeholder = _("YYYY-MM-DD") + (" HH:MM" if self.moment else "")
        yield Input(self._initial, placeholder=placeholder, compact=True)
        yield Static(date_hint(self._initial, moment=self.moment), classes="date-hint")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value

    @value.setter
    def value(self, text: str) -> None:
        self.input.value = text

    @property
    def hint(self) -> str:
        return str(self.query_one(".date-hint", Static).content)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one(".date-hint", Static).update(date_hint(event.value, moment=self.moment))

    def focus(self, scroll_visible: bool = True) -> DateInput:
        self.input.focus(scroll_visible)
        return self
