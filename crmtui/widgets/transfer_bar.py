"""A line with a progress bar for an import or export running in a thread, under the table.

Not a dialog: the user goes on moving in the table while it fills. The thread reports through
`report` (a `crmtui.transfer.progress.Progress`), which posts a message, the one thread-safe
way into a widget; the bar updates when the message arrives, and shows the rows a second.
"""

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ProgressBar, Static

from crmtui.i18n import _


class TransferBar(Horizontal):
    """What is being done, a bar (with a total when one is known), and the count and rate."""

    DEFAULT_CSS = """
    TransferBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        display: none;
        &.-running {
            display: block;
        }
        #transfer-label {
            width: auto;
            margin-right: 1;
        }
        ProgressBar {
            width: auto;
            margin-right: 1;
        }
        #transfer-rate {
            width: 1fr;
            color: $text-muted;
        }
    }
    """

    class Moved(Message):
        """A report from the thread: the stage and the rows done in it."""

        def __init__(self, label: str, done: int) -> None:
            self.label = label
            self.done = done
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._label = ""
        self._started = time.monotonic()
        self._totals: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="transfer-label", markup=False)
        yield ProgressBar(show_eta=False)
        yield Static(id="transfer-rate", markup=False)

    def start(self, label: str, totals: dict[str, int] | None = None) -> None:
        """Show the bar at `label`; `totals` gives the rows each stage will count, where known
        (a bar without one shows that work goes on)."""
        self._totals = dict(totals or {})
        self.add_class("-running")
        self._stage(label)

    def finish(self) -> None:
        self.remove_class("-running")

    def report(self, label: str, done: int) -> None:
        """Called from the worker thread."""
        self.post_message(self.Moved(label, done))

    def _stage(self, label: str) -> None:
        self._label = label
        self._started = time.monotonic()
        self.query_one("#transfer-label", Static).update(label)
        self.query_one(ProgressBar).update(total=self._totals.get(label), progress=0)
        self.query_one("#transfer-rate", Static).update("")

    def on_transfer_bar_moved(self, event: Moved) -> None:
        event.stop()
        if event.label != self._label:
            self._stage(event.label)
        self.query_one(ProgressBar).update(progress=event.done)
        elapsed = time.monotonic() - self._started
        rate = _("{rate:,.0f} rows/s").format(rate=event.done / elapsed) if elapsed > 0 else ""
        self.query_one("#transfer-rate", Static).update(f"{event.done:,} · {rate}")
