"""One customer: a header card, and tabs for the overview, each kind of record, and history.

Every record tab lists its records newest first, a page at a time, and the same keys act on
whichever tab is shown: n adds, e edits, d deletes (after a confirmation). On the overview and
history tabs e edits the customer; on the history tab r restores a field's old value. Every
store call of the screen is made here; the lists and forms only show and collect.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from crmtui.formatting import consent_note, fit, local_time, money
from crmtui.i18n import _, ngettext
from crmtui.labels import action_label, choice_label, entity_label, field_label, yes_no
from crmtui.messages import CustomersChanged
from crmtui.screens.confirm import ConfirmScreen
from crmtui.screens.customer_form import CustomerFormScreen
from crmtui.screens.record_form import RecordFormScreen
from crmtui.screens.record_types import RecordType, record_types
from crmtui.store import changes, custom_fields, customers, followups, summary, timeline, users
from crmtui.store.errors import ConflictError, NotFoundError, StoreError
from crmtui.store.fields import FieldSpec
from crmtui.store.permissions import HISTORY_READ, denial
from crmtui.store.types import Actor, Customer, CustomFieldDef, HistoryEntry, Page, User
from crmtui.widgets.record_list import Column, RecordList

# Tab ids in order: keys 1… show them.
TABS = ("overview", *(record_type.key for record_type in record_types({})), "history")

# The fields of each kind of record by the name history gives it, to show history values as
# their fields do (users by name, times in local time).
_SPECS: dict[str, dict[str, FieldSpec]] = {
    customers.ENTITY.name: customers.FIELDS,
    followups.ENTITY.name: followups.FIELDS,
    **{kind.entity.name: dict(kind.fields) for kind in timeline.KINDS.values()},
}
LABEL_WIDTH = 18


class OverviewPane(TabPane):
    """The customer's figures and the details the card has no room for."""

    def __init__(self) -> None:
        super().__init__(_("Overview"), id="overview")

    def compose(self) -> ComposeResult:
        with VerticalScroll(can_focus=True):
            yield Static(id="overview-text")

    def show(self, content: Content) -> None:
        self.query_one("#overview-text", Static).update(content)


class RecordPane(TabPane):
    """A tab listing one kind of record about the customer."""

    def __init__(self, record_type: RecordType, fetch: Callable[[int, int], Page]) -> None:
        super().__init__(
            record_type.title,
            RecordList(
                record_type.columns,
                fetch,
                empty_text=_("None yet. Press n to add a {noun}.").format(noun=record_type.noun),
            ),
            id=record_type.key,
        )
        self.record_type = record_type

    @property
    def records(self) -> RecordList:
        return self.query_one(RecordList)


class HistoryPane(TabPane):
    """Every change to the customer and its records, newest first."""

    def __init__(self, columns: tuple[Column, ...], fetch: Callable[[int, int], Page]) -> None:
        super().__init__(
            _("History"),
            RecordList(columns, fetch, empty_text=_("No changes recorded.")),
            id="history",
        )

    @property
    def records(self) -> RecordList:
        return self.query_one(RecordList)


def _line(label: str, value: str) -> Content:
    return Content.assemble((fit(label, LABEL_WIDTH), "bold"), value or "—", "\n")


def card_content(customer: Customer) -> Content:
    """The header card: who the customer is and how to reach them, in three lines."""
    stage = choice_label(customer.stage)
    first = [(customer.name, "bold")]
    for extra in (customer.company, customer.title):
        if extra:
            first.append(" · " + extra)
    first.append(("  [" + stage + "]", "bold $accent"))
    if customer.key_account:
        first.append(("  ★ " + _("key account"), "$warning"))
    phones = " / ".join(p for p in (customer.phone_display, customer.alt_phone_display) if p)
    consent = yes_no(customer.marketing_consent) + consent_note(customer)
    parts = [
        *first,
        "\n",
        (_("Owner") + " ", "dim"),
        customer.owner or "—",
        "   ",
        (_("Tags") + " ", "dim"),
        ", ".join(customer.tags) or "—",
        "   ",
        (_("Consent") + " ", "dim"),
        consent,
        "\n",
        (_("Phone") + " ", "dim"),
        phones or "—",
        "   ",
        (_("Email") + " ", "dim"),
        customer.email or "—",
    ]
    return Content.assemble(*parts)


def overview_content(
    customer: Customer,
    figures: summary.CustomerSummary | None,
    problem: str,
    definitions: list[CustomFieldDef],
) -> Content:
    """The figures (or why they cannot be shown), then the customer's other details."""
    lines: list[Content] = []
    if figures is None:
        lines.append(Content.assemble((problem, "$text-error"), "\n"))
    else:
        spend = figures.spend
        first = figures.first_purchase
        last_purchase = figures.last_purchase.isoformat() if figures.last_purchase else ""
        if last_purchase and first and first != figures.last_purchase:
            last_purchase += "  " + _("(first {day})").format(day=first.isoformat())
        satisfaction = ""
        if figures.satisfaction is not None:
            satisfaction = ngettext(
                "{score} / 5 ({count} rating)",
                "{score} / 5 ({count} ratings)",
                figures.feedback_count,
            ).format(score=figures.satisfaction, count=figures.feedback_count)
        lines += [
            _line(_("Total spend"), ", ".join(money(s.total, s.currency) for s in spend)),
            _line(_("Orders"), str(figures.orders)),
            _line(_("Average order"), ", ".join(money(s.average, s.currency) for s in spend)),
            _line(_("Last purchase"), last_purchase),
            _line(_("Last contact"), local_time(figures.last_contact)),
            _line(_("Satisfaction"), satisfaction),
        ]
    lines.append(Content("\n"))
    place = ", ".join(p for p in (customer.address, customer.city, customer.region) if p)
    utm = " / ".join(
        p for p in (customer.utm_source, customer.utm_medium, customer.utm_campaign) if p
    )
    details = [
        ("address", place),
        ("country", customer.country),
        ("source", " · ".join(p for p in (customer.source, utm) if p)),
        ("preferred_channel", choice_label(customer.preferred_channel)),
        ("needs", customer.needs),
        ("preferences", customer.preferences),
        ("notes", customer.notes),
        ("external_id", customer.external_id),
    ]
    lines += [_line(field_label(name), value) for name, value in details]
    lines += [_line(d.label, str(customer.custom.get(d.key, ""))) for d in definitions]
    lines += [
        _line(_("Created"), local_time(customer.created_at)),
        _line(_("Updated"), local_time(customer.updated_at)),
    ]
    return Content("").join(lines)


class CustomerDetailScreen(Screen[None]):
    """One customer and everything recorded about it."""

    DEFAULT_CSS = """
    CustomerDetailScreen {
        & > #customer-card {
            height: auto;
            padding: 0 1;
            background: $boost;
        }
        & > TabbedContent {
            height: 1fr;
        }
        & TabPane {
            padding: 0;
        }
        & #overview VerticalScroll {
            padding: 0 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Back"), id="detail.back"),
        Binding("n", "new_record", _("New"), id="detail.new"),
        Binding("e", "edit", _("Edit"), id="detail.edit"),
        Binding("d", "delete_record", _("Delete"), id="detail.delete"),
        Binding("r", "restore", _("Restore old value"), id="detail.restore"),
        Binding(
            "right,right_square_bracket",
            "next_tab",
            _("Next tab"),
            key_display="→",
            id="detail.next_tab",
        ),
        Binding(
            "left,left_square_bracket",
            "previous_tab",
            _("Previous tab"),
            key_display="←",
            show=False,
            id="detail.previous_tab",
        ),
        *(
            Binding(
                str(number),
                f"show_tab('{tab}')",
                _("Go to tab {number}").format(number=number),
                show=False,
                id=f"detail.tab_{tab}",
            )
            for number, tab in enumerate(TABS, start=1)
        ),
    ]

    def __init__(self, actor: Actor, customer_id: int) -> None:
        super().__init__()
        self.actor = actor
        self.customer_id = customer_id
        self.customer: Customer | None = None
        self.users: list[User] = []
        self.user_names: dict[int, str] = {}
        self.definitions: list[CustomFieldDef] = []

    # Building the screen.

    def compose(self) -> ComposeResult:
        self._load_reference_data()
        yield Header()
        yield Static(id="customer-card")
        with TabbedContent(id="customer-tabs"):
            yield OverviewPane()
            for record_type in record_types(self.user_names):
                yield RecordPane(record_type, self._fetcher(record_type))
            yield HistoryPane(self._history_columns(), self._history_page)
        yield Footer()

    def _load_reference_data(self) -> None:
        """Users and custom fields, read once: forms offer them, lists name users by id."""
        try:
            self.users = users.list_users(self.actor)
            self.definitions = custom_fields.list_fields(self.actor)
        except StoreError:
            pass  # a role that may not read them sees ids and no custom fields
        self.user_names = {u.id: u.name for u in self.users}

    def _require(self, permission: str) -> None:
        """Each tab's list (and the figures) read as the customer opens, before the user asks
        for them: a role that may not read one is told so without trying (`denial`), else
        every opening would add a refused row per tab to the audit log."""
        if (refused := denial(self.actor, permission)) is not None:
            raise refused

    def _fetcher(self, record_type: RecordType) -> Callable[[int, int], Page]:
        def fetch(offset: int, limit: int) -> Page:
            self._require(record_type.reads)
            return record_type.page(self.actor, self.customer_id, offset, limit)

        return fetch

    def _history_page(self, offset: int, limit: int) -> Page:
        self._require(HISTORY_READ)
        return changes.list_customer_changes(
            self.actor, self.customer_id, offset=offset, limit=limit
        )

    def on_mount(self) -> None:
        if self.show_customer(opening=True):
            self.query_one(OverviewPane).query_one(VerticalScroll).focus()

    def show_customer(self, *, opening: bool = False) -> bool:
        """Read the customer again and show it; False (and back) if it is gone. `opening`:
        the user has just opened it (a view the audit log records), not a refresh."""
        read = customers.open_customer if opening else customers.get_customer
        try:
            self.customer = read(self.actor, self.customer_id)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            self.dismiss(None)
            return False
        self.query_one("#customer-card", Static).update(card_content(self.customer))
        try:
            self._require(HISTORY_READ)  # the figures come from the records
            figures, problem = summary.customer_summary(self.actor, self.customer_id), ""
        except StoreError as exc:
            figures, problem = None, str(exc)
        self.query_one(OverviewPane).show(
            overview_content(self.customer, figures, problem, self.definitions)
        )
        return True

    def reload(self, *panes: RecordPane | HistoryPane) -> None:
        """After a change: the card, the overview, history and the `panes` named."""
        if self.show_customer():
            for pane in (*panes, self.query_one(HistoryPane)):
                pane.records.reload()

    def _changed(self, *panes: RecordPane | HistoryPane) -> None:
        self.reload(*panes)
        # The customer table shows the last contact, so it reloads too.
        self.app.post_message(CustomersChanged())

    # History, as a person reads it.

    def _history_columns(self) -> tuple[Column, ...]:
        return (
            Column(_("When"), lambda e: local_time(e.at), width=16),
            Column(_("Who"), lambda e: e.user_name, weight=1),
            Column(_("What"), self._history_what, weight=2),
            Column(_("Change"), self._history_change, weight=3),
        )

    def field_name(self, field: str) -> str:
        """A field as the user knows it; a custom field by the label its admin gave it."""
        if field.startswith("custom."):
            key = field.removeprefix("custom.")
            return next((d.label for d in self.definitions if d.key == key), key)
        return field_label(field)

    def _history_what(self, entry: HistoryEntry) -> str:
        """The record, and the field changed: `purchase · Amount`, or `Title` of the customer."""
        if entry.field is None:
            return entity_label(entry.entity)
        if entry.entity == "customer":
            return self.field_name(entry.field)
        return entity_label(entry.entity) + " · " + self.field_name(entry.field)

    def _history_change(self, entry: HistoryEntry) -> str:
        if entry.field is None:  # a creation or a deletion of the whole record
            what = _snapshot_summary(entry.old_value) if entry.action == "delete" else ""
            return ": ".join(filter(None, (action_label(entry.action), what)))
        change = (
            self._history_value(entry, entry.old_value)
            + " → "
            + self._history_value(entry, entry.new_value)
        )
        if entry.action == "update":
            return change
        return f"{action_label(entry.action)}: {change}"

    def _history_value(self, entry: HistoryEntry, value: str | None) -> str:
        if not value:
            return "∅"
        spec = _SPECS.get(entry.entity, {}).get(entry.field or "")
        if spec is None:
            return value
        if spec.kind == "user" and value.isdigit():
            return self.user_names.get(int(value), value)
        if spec.kind == "moment":
            return local_time(dt.datetime.fromisoformat(value))
        if spec.kind == "choice":
            return choice_label(value)
        return value

    # Tabs.

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    def _active_pane(self) -> TabPane | None:
        return self.tabs.active_pane

    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = tab

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        index = TABS.index(self.tabs.active) if self.tabs.active in TABS else 0
        self.tabs.active = TABS[(index + step) % len(TABS)]

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The keys act on the tab shown, so its list takes the focus (and j/k move in it).
        pane = event.pane
        if isinstance(pane, RecordPane | HistoryPane):
            pane.records.focus()
        else:
            pane.query_one(VerticalScroll).focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        pane = self._active_pane() if self.is_mounted else None
        if action in ("new_record", "delete_record"):
            return isinstance(pane, RecordPane)
        if action == "restore":
            return isinstance(pane, HistoryPane)
        return True

    # Records.

    def _record_pane(self) -> RecordPane | None:
        pane = self._active_pane()
        return pane if isinstance(pane, RecordPane) else None

    def action_new_record(self) -> None:
        pane = self._record_pane()
        if pane is None or self.customer is None:
            return
        try:  # a role that may not add the record is told so before filling in the form
            form = RecordFormScreen(self.actor, pane.record_type, self.customer, None, self.users)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(form, lambda saved: self._record_saved(pane, saved))

    def action_edit(self) -> None:
        """Edit the record under the cursor; on the overview and history, the customer."""
        pane = self._record_pane()
        if pane is None:
            self._edit_customer()
            return
        listed = pane.records.current
        if listed is None or self.customer is None:
            self.notify(_("Nothing to edit here."))
            return
        try:
            # The form starts from the record as saved now, not as listed a while ago.
            record = pane.record_type.get(self.actor, listed.id)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            self._changed(pane)
            return
        form = RecordFormScreen(self.actor, pane.record_type, self.customer, record, self.users)
        self.app.push_screen(form, lambda saved: self._record_saved(pane, saved))

    def _record_saved(self, pane: RecordPane, saved: Any | None) -> None:
        if saved is not None:
            self.notify(_("Saved."))
            self._changed(pane)

    def action_delete_record(self) -> None:
        pane = self._record_pane()
        record = pane.records.current if pane else None
        if pane is None or record is None:
            return
        record_type = pane.record_type
        question = _("Delete this {noun}?\n{record}").format(
            noun=record_type.noun, record=record_type.describe(record)
        )

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                record_type.delete(self.actor, record.id, record.version)
            except (ConflictError, NotFoundError) as exc:
                # Changed or deleted since it was listed: the user decides again on what is.
                self.notify(str(exc), severity="warning")
            except StoreError as exc:
                self.notify(str(exc), severity="error")
                return
            else:
                self.notify(_("Deleted."))
            self._changed(pane)

        self.app.push_screen(
            ConfirmScreen(question, confirm_label=_("Delete"), danger=True), answered
        )

    # The customer.

    def _edit_customer(self) -> None:
        try:
            form = CustomerFormScreen.load(self.actor, self.customer_id)
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(form, self._customer_saved)

    def _customer_saved(self, saved: Customer | None) -> None:
        if saved is not None:
            self.notify(_("Saved."))
            self._changed()

    def action_restore(self) -> None:
        history = self.query_one(HistoryPane)
        entry = history.records.current
        if entry is None:
            return
        try:
            changes.restore_change(self.actor, entry.id)
        except StoreError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.notify(_("{field} restored.").format(field=self.field_name(entry.field or "")))
        # The field may be on any tab: every list reloads.
        self._changed(*self.query(RecordPane))

    def action_back(self) -> None:
        self.dismiss(None)


def _snapshot_summary(snapshot: str | None) -> str:
    """A deleted record in a few words, from the snapshot history keeps of it."""
    try:
        values = json.loads(snapshot or "{}")
    except ValueError:
        return snapshot or ""
    for key in ("name", "product", "title", "summary", "comment"):
        if values.get(key):
            return str(values[key])
    return ""
