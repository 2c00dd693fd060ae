"""The follow-up queue (`w` from anywhere): what to do next, most urgent first, triaged with
single keys.

The list holds the acting user's queue (`u` another user's, `e` everyone's) in four sections:
overdue, today, next 7 days and later, each under a heading with its count. Each key acts on
the item under the cursor with at most one short dialog, then the list is read again and the
cursor is on the item that came after it:

- `d` done: asks the outcome, kept as a communication on the customer (a recurring follow-up
  gets its next occurrence);
- `s` snooze: a choice of +1 day … end of month, or a typed date (`2025-03-05`, `mon`, `+2w`);
- `r` reschedule: a typed date, past ones allowed (the store's rule);
- `a` reassign, `p` priority: a choice;
- `i` why: the terms of the urgency score;
- `enter` opens the customer, `n` adds a follow-up for the customer.

Automatic items (a quiet key account, an SLA breach) are no follow-up: `d`, `s`, `r`, `a` and
`p` say in one line what clears them; `enter`, `n` and `i` work on them as on any item.
Every store call of the screen is made here; the list only shows, and asks the screen for
more items of a section (`read_section`) when it comes to rows not read yet: the screen reads
the sections' sizes and the first items only (`read_queue`), not the whole queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.strip import Strip
from textual.widgets import Footer, Header, Static

from crmtui.formatting import count_text, fit, local_time, text_table
from crmtui.i18n import _
from crmtui.labels import choice_label
from crmtui.messages import CustomersChanged, OpenCustomer
from crmtui.screens.dialog import Dialog
from crmtui.screens.prompts import ChoiceScreen, TextPromptScreen
from crmtui.store import customers, followups, queue, users
from crmtui.store.errors import ConflictError, NotFoundError, StoreError
from crmtui.store.queue import QueueItem
from crmtui.store.types import Actor
from crmtui.store.vocabulary import PRIORITIES
from crmtui.widgets.record_list import Column, ColumnList

SECTION_TITLES = {
    "overdue": _("Overdue"),
    "today": _("Today"),
    "week": _("Next 7 days"),
    "later": _("Later"),
}
KIND_LABELS = {
    "followup": _("follow-up"),
    "quiet": _("quiet key"),
    "sla": _("SLA breach"),
}
TYPE_A_DATE = "type"  # the snooze choice that asks for a date instead


@dataclass(frozen=True)
class Heading:
    """The line above a section: its title and how many items it holds."""

    section: str
    count: str

    def text(self) -> str:
        return f"{SECTION_TITLES[self.section]} · {self.count}"


QueueRow = QueueItem | Heading


def item_key(item: QueueItem) -> tuple[str, int]:
    """What identifies an item across reloads (ids are per kind)."""
    return item.kind, item.id


def _customer(item: QueueItem) -> str:
    return ("★ " if item.key_account else "") + item.customer_name


def _score(item: QueueItem) -> str:
    return f"{item.score:6.1f}"


def queue_columns(everyone: bool) -> tuple[Column, ...]:
    """The list's columns; everyone's queue also says whose each item is."""
    columns = [
        Column(_("Due"), lambda i: local_time(i.due_at), width=16),
        Column(_("Customer"), _customer, weight=2),
        Column(_("Title"), lambda i: i.title, weight=3),
    ]
    if everyone:
        columns.append(Column(_("Assignee"), lambda i: i.assignee, width=8))
    columns += [
        Column(_("Kind"), lambda i: KIND_LABELS.get(i.kind, i.kind), width=10),
        Column(_("Priority"), lambda i: choice_label(i.priority), width=8),
        Column(f"{_('Score'):>6}", _score, width=6),
    ]
    return tuple(columns)


# Items read at a time: the screen's first reading (`read_queue(first=…)`) and each further
# page of a section (`read_section`) as the cursor or the view gets there; more than a tall
# terminal shows.
PAGE = 50

# Reads `limit` items of `section` from `offset`, in the queue's order.
MoreItems = Callable[[str, int, int], list[QueueItem]]


class QueueList(ColumnList):
    """The queue's items under their section headings; the cursor rests on items only.

    The list knows how many items each section shows (its count, at most the store's
    DEFAULT_LIMIT) and holds the first items of each, as read; the rest of a section is read
    when a row of it is shown, up to the row needed and a PAGE more."""

    DEFAULT_CSS = """
    QueueList > .queue-list--heading {
        text-style: bold;
        color: $accent;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"queue-list--heading"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            queue_columns(everyone=False), empty_text="", page_size=PAGE, max_pages=4, id=id
        )
        # Each shown section: its heading, the row of the heading, and how many items it shows.
        self._sections: list[tuple[Heading, int, int]] = []
        self._loaded: dict[str, list[QueueItem]] = {}
        self._more: MoreItems | None = None

    def show(
        self,
        sections: Sequence[tuple[Heading, int]],
        loaded: Sequence[QueueItem],
        more: MoreItems | None,
        columns: tuple[Column, ...],
        empty: str,
    ) -> None:
        """Show `sections` (heading, number of items), of which the items `loaded` are the
        first; `more` reads the others."""
        self._sections = []
        row = 0
        for heading, count in sections:
            self._sections.append((heading, row, count))
            row += 1 + count
        self._loaded = {heading.section: [] for heading, _count in sections}
        for item in loaded:
            self._loaded.setdefault(item.section, []).append(item)
        self._more = more
        self.columns = columns
        self.empty_text = empty
        self._pages.clear()
        self._set_total(row)

    def _row(self, index: int) -> QueueRow | None:
        for heading, start, count in self._sections:
            if index == start:
                return heading
            if start < index <= start + count:
                return self._item(heading.section, index - start - 1, count)
        return None

    def _item(self, section: str, offset: int, count: int) -> QueueItem | None:
        """Item `offset` of a section showing `count` items, read if need be."""
        items = self._loaded[section]
        if offset >= len(items) and self._more is not None:
            wanted = min(offset + PAGE, count) - len(items)
            try:
                items.extend(self._more(section, len(items), wanted))
            except StoreError:
                self._more = None  # the reading shows what it has; a reload reads again
        return items[offset] if offset < len(items) else None

    def _read_page(self, number: int) -> tuple[QueueRow | None, ...]:
        start = number * self.page_size
        end = min(start + self.page_size, self._total)
        return tuple(self._row(index) for index in range(start, end))

    @property
    def current(self) -> QueueItem | None:
        """The item under the cursor, or None when the queue is empty."""
        row = self.row_at(self.cursor_row)
        return row if isinstance(row, QueueItem) else None

    def items(self) -> list[QueueItem]:
        """The items read so far, in the list's order."""
        return [
            item
            for heading, _start, _count in self._sections
            for item in self._loaded[heading.section]
        ]

    def index_of(self, key: tuple[str, int]) -> int | None:
        """The row of the item `key` among those read so far."""
        for heading, start, _count in self._sections:
            for offset, item in enumerate(self._loaded[heading.section]):
                if item_key(item) == key:
                    return start + 1 + offset
        return None

    def key_after(self, key: tuple[str, int]) -> tuple[str, int] | None:
        """The item listed after the item `key`, read if need be."""
        index = self.index_of(key)
        if index is None:
            return None
        for following in range(index + 1, self._total):
            row = self.row_at(following)
            if isinstance(row, QueueItem):
                return item_key(row)
        return None

    def place(self, index: int) -> None:
        """Put the cursor on row `index`, or on the nearest item after it (else before)."""
        self.cursor_row = index
        self.settle(1)

    def settle(self, step: int) -> None:
        """Off a heading: to the next item in the direction `step`, else the other way."""
        for direction in (step, -step):
            index = self.cursor_row
            while 0 <= index < self._total and not isinstance(self.row_at(index), QueueItem):
                index += direction
            if 0 <= index < self._total:
                self.cursor_row = index
                return

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self.settle(1)

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 1:
            self.scroll_to(y=0, animate=False)  # the first heading shows above the first item
        super().action_cursor_up()
        self.settle(-1)

    def action_cursor_top(self) -> None:
        self.scroll_to(y=0, animate=False)
        super().action_cursor_top()
        self.settle(1)

    def action_cursor_bottom(self) -> None:
        super().action_cursor_bottom()
        self.settle(-1)

    def action_page_down(self) -> None:
        super().action_page_down()
        self.settle(1)

    def action_page_up(self) -> None:
        super().action_page_up()
        self.settle(-1)

    def _row_line(self, index: int, row: Any, widths: Sequence[int], width: int) -> Strip:
        if isinstance(row, Heading):
            style = self.get_component_rich_style("queue-list--heading")
            return Strip([Segment(fit(" " + row.text(), width), style)])
        return super()._row_line(index, row, widths, width)


def why_text(item: QueueItem) -> str:
    """The score's terms as a small table that adds up to the score."""
    rows = [[f"{term.points:+.1f}", term.label] for term in item.terms]
    rows.append([f"{item.score:.1f}", _("score")])
    return text_table([_("Points"), _("Because")], rows, max_width=50)


class WhyScreen(Dialog[None]):
    """Why an item ranks where it does: the terms of its urgency score."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,i", "dismiss(None)", _("Close"), id="why.close"),
    ]

    def __init__(self, item: QueueItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        item = self.item
        title = _("Why {customer}: {title} ranks here").format(
            customer=item.customer_name, title=item.title
        )
        with Vertical(id="dialog"):
            yield Static(title, id="title", markup=False)
            yield Static(why_text(item), id="terms", markup=False)
            yield Static(_("escape: close"), id="hint", markup=False)


class QueueScreen(Screen[None]):
    """The follow-up queue of the acting user, of another user, or of everyone."""

    DEFAULT_CSS = """
    QueueScreen {
        & > #queue-status {
            height: 1;
            padding: 0 1;
            background: $panel;
            color: $text-muted;
        }
    }
    """

    AUTO_FOCUS = "#queue-list"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="queue.back"),
        Binding("d", "done", _("Done"), id="queue.done"),
        Binding("s", "snooze", _("Snooze"), id="queue.snooze"),
        Binding("r", "reschedule", _("Reschedule"), id="queue.reschedule"),
        Binding("a", "reassign", _("Reassign"), id="queue.reassign"),
        Binding("p", "priority", _("Priority"), id="queue.priority"),
        Binding("i", "why", _("Why"), id="queue.why"),
        Binding("enter", "open_customer", _("Open customer"), show=False, id="queue.open"),
        Binding("n", "new_followup", _("New follow-up"), show=False, id="queue.new"),
        Binding("e", "everyone", _("Everyone's queue"), show=False, id="queue.everyone"),
        Binding("u", "user", _("A user's queue"), show=False, id="queue.user"),
        Binding("ctrl+r", "reload", _("Reload"), show=False, id="queue.reload"),
    ]

    def __init__(self, actor: Actor) -> None:
        super().__init__()
        self.actor = actor
        self.user: str | None = None  # another user's queue; None: the actor's
        self.everyone = False
        self._reload_on_resume = True  # on opening, and back from another screen
        # The acting user's overdue count as the last reading of their own queue gave it
        # (None for another queue): passed on with CustomersChanged for the app's header.
        self._overdue: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="queue-status", markup=False)
        yield QueueList(id="queue-list")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def queue_list(self) -> QueueList:
        return self.query_one(QueueList)

    def on_screen_suspend(self) -> None:
        # A dialog of this screen changes nothing behind its back (the action it asks for
        # reloads the queue itself); another screen may.
        self._reload_on_resume = not isinstance(self.app.screen, ModalScreen)

    def on_screen_resume(self) -> None:
        # Opened, or back from a customer's screen or a form: what changed there shows here.
        if self._reload_on_resume:
            self.reload(keep=True)

    def on_customers_changed(self, event: CustomersChanged) -> None:
        self.reload(keep=True)

    def action_reload(self) -> None:
        self.reload(keep=True)

    # --- Reading the queue --------------------------------------------------------------------

    def _whose(self) -> str:
        if self.everyone:
            return _("Everyone's queue")
        if self.user:
            return _("Queue of {user}").format(user=self.user)
        return _("My queue ({user})").format(user=self.actor.name)

    def reload(self, *, keep: bool = False, then: tuple[str, int] | None = None) -> None:
        """Read the queue again. The cursor goes to the item `then`, or (`keep`) stays on its
        item; if that item left, it stays at the same place, on the item now there.

        One store call: the size of each section and the items down to a PAGE past the
        cursor's row; the list reads further items of a section when it shows them."""
        queue_list = self.queue_list
        index = queue_list.cursor_row
        current = queue_list.current
        target = then or (item_key(current) if keep and current else None)
        self._overdue = None
        user, everyone = self.user, self.everyone
        try:
            view = queue.read_queue(self.actor, user=user, everyone=everyone, first=index + PAGE)
        except StoreError as exc:
            queue_list.show([], [], None, queue_columns(everyone), str(exc))
            self.query_one("#queue-status", Static).update(self._whose())
            return
        if user is None and not everyone:
            self._overdue = view.counts["overdue"]  # the header's count, read with the queue
        shown = {
            section: count_text(count, queue.section_cap(section))
            for section, count in view.counts.items()
        }

        def more(section: str, offset: int, limit: int) -> list[QueueItem]:
            return queue.read_section(
                self.actor, section, user=user, everyone=everyone, offset=offset, limit=limit
            )

        queue_list.show(
            [
                (Heading(section, shown[section]), min(count, queue.DEFAULT_LIMIT))
                for section, count in view.counts.items()
                if count
            ],
            view.items,
            more,
            queue_columns(everyone),
            _("Nothing to do: no follow-up is due in this queue."),
        )
        status = [self._whose()] + [
            f"{SECTION_TITLES[section]} {shown[section]}" for section in queue.SECTIONS
        ]
        self.query_one("#queue-status", Static).update(" · ".join(status))
        found = queue_list.index_of(target) if target else None
        queue_list.place(found if found is not None else index)

    def _changed(self, item: QueueItem, message: str) -> None:
        """After a triage action: say so, read the queue again, tell the other screens (the
        customer table, the header's overdue count)."""
        self.notify(message)
        self.reload(then=self.queue_list.key_after(item_key(item)))
        self.app.post_message(CustomersChanged(origin=self, overdue=self._overdue))

    def _failed(self, exc: StoreError) -> None:
        """A store refusal in one line; changed or gone meanwhile: read the queue again."""
        if isinstance(exc, ConflictError | NotFoundError):
            self.notify(
                _("{error}. The queue is read again.").format(error=exc), severity="warning"
            )
            self.reload(keep=True)
        else:
            self.notify(str(exc), severity="error", title=_("Nothing was changed"))

    def _followup(self, doing: str) -> QueueItem | None:
        """The follow-up under the cursor; for an automatic item, a word on what clears it."""
        item = self.queue_list.current
        if item is None:
            self.notify(_("Nothing to {doing}: the queue is empty.").format(doing=doing))
            return None
        if item.kind == "quiet":
            self.notify(
                _(
                    "A quiet key account, not a follow-up: it leaves the queue when a "
                    "communication with {customer} is logged (enter opens the customer)."
                ).format(customer=item.customer_name),
                severity="warning",
            )
            return None
        if item.kind == "sla":
            self.notify(
                _(
                    "An overdue service item, not a follow-up: it leaves the queue when it is "
                    "resolved (enter opens the customer)."
                ),
                severity="warning",
            )
            return None
        return item

    # --- Triage -------------------------------------------------------------------------------

    @work(exclusive=True, group="dialog")
    async def action_done(self) -> None:
        item = self._followup(_("mark done"))
        if item is None:
            return
        outcome = await self.app.push_screen_wait(
            TextPromptScreen(
                _("Done: {title} ({customer}). Outcome:").format(
                    title=item.title, customer=item.customer_name
                ),
                placeholder=_("what came of it"),
            )
        )
        if outcome is None:
            return
        try:
            _done, following = followups.complete_followup(
                self.actor, item.id, outcome, item.version
            )
        except StoreError as exc:
            self._failed(exc)
            return
        message = _("Done: {title}.").format(title=item.title)
        if following is not None:
            message += " " + _("Next on {due}.").format(due=local_time(following.due_at))
        self._changed(item, message)

    @work(exclusive=True, group="dialog")
    async def action_snooze(self) -> None:
        item = self._followup(_("snooze"))
        if item is None:
            return
        try:
            ready = followups.snooze_choices()
        except StoreError as exc:
            self._failed(exc)
            return
        choices = [
            (str(index), f"{label:<14} {local_time(moment)}")
            for index, (label, moment) in enumerate(ready)
        ]
        choices.append((TYPE_A_DATE, _("type a date…")))
        picked = await self.app.push_screen_wait(
            ChoiceScreen(_("Snooze {title} until:").format(title=item.title), choices)
        )
        if picked is None:
            return
        until: object
        if picked == TYPE_A_DATE:
            typed = await self.app.push_screen_wait(
                TextPromptScreen(
                    _("Snooze {title} until:").format(title=item.title),
                    placeholder=_("2025-03-05 14:00, mon, +2w"),
                )
            )
            if not typed:
                return
            until = typed
        else:
            until = ready[int(picked)][1]
        try:
            snoozed = followups.snooze_followup(self.actor, item.id, until, item.version)
        except StoreError as exc:
            self._failed(exc)
            return
        self._changed(
            item,
            _("{title} snoozed until {due}.").format(
                title=item.title, due=local_time(snoozed.due_at)
            ),
        )

    @work(exclusive=True, group="dialog")
    async def action_reschedule(self) -> None:
        item = self._followup(_("reschedule"))
        if item is None:
            return
        typed = await self.app.push_screen_wait(
            TextPromptScreen(
                _("New due time of {title} (now {due}):").format(
                    title=item.title, due=local_time(item.due_at)
                ),
                placeholder=_("2025-03-05 14:00, mon, +2w"),
            )
        )
        if not typed:
            return
        try:
            moved = followups.reschedule_followup(self.actor, item.id, typed, item.version)
        except StoreError as exc:
            self._failed(exc)
            return
        self._changed(
            item,
            _("{title} now due {due}.").format(title=item.title, due=local_time(moved.due_at)),
        )

    def _user_names(self) -> list[str] | None:
        try:
            return [user.name for user in users.list_users(self.actor) if user.active]
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return None

    @work(exclusive=True, group="dialog")
    async def action_reassign(self) -> None:
        item = self._followup(_("reassign"))
        if item is None:
            return
        names = self._user_names()
        if names is None:
            return
        assignee = await self.app.push_screen_wait(
            ChoiceScreen(
                _("Assign {title} to:").format(title=item.title),
                [(name, name) for name in names],
                current=item.assignee,
            )
        )
        if assignee is None or assignee == item.assignee:
            return
        await self._update(
            item,
            {"assignee": assignee},
            _("{title} assigned to {user}.").format(title=item.title, user=assignee),
        )

    @work(exclusive=True, group="dialog")
    async def action_priority(self) -> None:
        item = self._followup(_("change"))
        if item is None:
            return
        priority = await self.app.push_screen_wait(
            ChoiceScreen(
                _("Priority of {title}:").format(title=item.title),
                [(name, choice_label(name)) for name in PRIORITIES],
                current=item.priority,
            )
        )
        if priority is None or priority == item.priority:
            return
        await self._update(
            item,
            {"priority": priority},
            _("{title}: priority {priority}.").format(
                title=item.title, priority=choice_label(priority)
            ),
        )

    async def _update(self, item: QueueItem, changes: dict[str, Any], message: str) -> None:
        try:
            followups.update_followup(self.actor, item.id, changes, item.version)
        except StoreError as exc:
            self._failed(exc)
            return
        self._changed(item, message)

    # --- Looking closer -----------------------------------------------------------------------

    def action_why(self) -> None:
        item = self.queue_list.current
        if item is not None:
            self.app.push_screen(WhyScreen(item))

    def action_open_customer(self) -> None:
        item = self.queue_list.current
        if item is not None:
            self.post_message(OpenCustomer(item.customer_id))

    def action_new_followup(self) -> None:
        item = self.queue_list.current
        if item is None:
            self.notify(_("The queue is empty: add a follow-up from a customer's screen."))
            return
        # Imported when first used (start-up time), like the app does for the detail screen.
        from crmtui.screens.record_form import RecordFormScreen
        from crmtui.screens.record_types import record_types

        try:
            customer = customers.get_customer(self.actor, item.customer_id)
            known = users.list_users(self.actor)
            kinds = record_types({u.id: u.name for u in known})
            record_type = next(kind for kind in kinds if kind.key == "followups")
            form = RecordFormScreen(self.actor, record_type, customer, None, known)
        except StoreError as exc:
            self._failed(exc)
            return
        self.app.push_screen(form, self._followup_added)

    def _followup_added(self, saved: Any | None) -> None:
        if saved is not None:
            self.notify(_("Follow-up added: {title}.").format(title=saved.title))
            self.reload(keep=True)
            self.app.post_message(CustomersChanged(origin=self, overdue=self._overdue))

    # --- Whose queue --------------------------------------------------------------------------

    def action_everyone(self) -> None:
        self.everyone = not self.everyone
        self.user = None
        self.reload()

    @work(exclusive=True, group="dialog")
    async def action_user(self) -> None:
        names = self._user_names()
        if names is None:
            return
        current = self.user or ("" if self.everyone else self.actor.name)
        picked = await self.app.push_screen_wait(
            ChoiceScreen(_("Whose queue?"), [(name, name) for name in names], current=current)
        )
        if picked is None:
            return
        self.everyone = False
        self.user = None if picked == self.actor.name else picked
        self.queue_list.cursor_row = 0
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
