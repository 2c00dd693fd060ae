"""The home screen: the customer table, or how to add customers while there are none.

Over the table: a search line (`/`), and a status line with the count of matches, the filter,
the search, the marks and the view in use. The filter, column and view dialogs and the bulk
actions on marked rows start here; the store does the work.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from crmtui.i18n import _, ngettext
from crmtui.messages import CustomersChanged, EditCustomer, NewCustomer, OpenCustomer
from crmtui.store import customers as customer_store
from crmtui.store import users
from crmtui.store import views as view_store
from crmtui.store.errors import NotFoundError, StoreError
from crmtui.store.permissions import CUSTOMER_WRITE, allowed
from crmtui.store.types import Actor, Customer, CustomerQuery
from crmtui.store.vocabulary import STAGES
from crmtui.widgets.customer_table import DEFAULT_HIDDEN, STAGE_LABELS, CustomerTable

if TYPE_CHECKING:
    from crmtui.screens.views import ViewRequest

# The workers that export or import (crmtui.screens.transfers): one at a time, and the app
# does not quit under one.
TRANSFER_GROUP = "transfer"

# How long typing pauses before the table follows the search box: one query per burst of keys,
# not per key, yet quick enough to feel immediate.
SEARCH_DELAY = 0.1


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
        _("Then press r to show them."),
        "\n\n",
        _("To import a CSV or Excel file, press i (or run {command} in a shell).").format(
            command=f"{command} import customers FILE"
        ),
    )


def has_filter(query: CustomerQuery) -> bool:
    """Whether `query` leaves some customers out (a search or a filter, not just a sort)."""
    return replace(query, sort="name", descending=False) != CustomerQuery()


def describe(query: CustomerQuery, total: int) -> list[str]:
    """The parts of the status line that say what the table shows."""
    count = f"{total:,}"
    if has_filter(query):
        parts = [ngettext("{count} match", "{count} matches", total).format(count=count)]
    else:
        parts = [ngettext("{count} customer", "{count} customers", total).format(count=count)]
    if query.search.strip():
        parts.append(_("search: {term}").format(term=query.search.strip()))
    if query.stage:
        parts.append(_("stage: {stage}").format(stage=STAGE_LABELS.get(query.stage, query.stage)))
    if query.tag:
        parts.append(_("tag: {tag}").format(tag=query.tag))
    if query.owner:
        parts.append(_("owner: {owner}").format(owner=query.owner))
    if query.key_account is not None:
        parts.append(_("key accounts") if query.key_account else _("not key accounts"))
    return parts


class CustomersScreen(Screen[None]):
    """All customers in a table, the first thing the user sees."""

    AUTO_FOCUS = "#customer-table"  # not the search line, hidden until `/`

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", _("Search"), key_display="/", id="customers.search"),
        Binding("f", "filter", _("Filter"), id="customers.filter"),
        Binding("c", "columns", _("Columns"), show=False, id="customers.columns"),
        Binding("v", "views", _("Views"), id="customers.views"),
        Binding("n", "new_customer", _("New"), id="customers.new"),
        Binding("e", "edit_customer", _("Edit"), id="customers.edit"),
        Binding("x", "bulk_menu", _("Bulk"), id="customers.bulk"),
        Binding("t", "bulk_add_tag", _("Add tag"), show=False, id="customers.add_tag"),
        Binding("T", "bulk_remove_tag", _("Remove tag"), show=False, id="customers.remove_tag"),
        Binding("p", "bulk_stage", _("Change stage"), show=False, id="customers.stage"),
        Binding("o", "bulk_owner", _("Assign owner"), show=False, id="customers.owner"),
        Binding("d,delete", "bulk_delete", _("Delete"), show=False, id="customers.delete"),
        Binding("escape", "clear_search", _("Clear search"), show=False, id="customers.clear"),
        Binding("r", "reload", _("Reload"), show=False, id="customers.reload"),
        Binding("X", "export_view", _("Export view"), show=False, id="customers.export"),
        Binding("i", "import_file", _("Import file"), show=False, id="customers.import"),
    ]

    def __init__(self, actor: Actor, command: str) -> None:
        super().__init__()
        self.actor = actor
        self.command = command
        self._search_timer: Timer | None = None
        self._view: view_store.SavedView | None = None  # the saved view last opened
        self._reload_on_resume = False

    def compose(self) -> ComposeResult:
        yield Header()
        # The search line (`/`) is mounted when first wanted, above the status line: hidden
        # until then, it would only add to the time before the first paint (about 2% of it).
        yield Static(id="table-status", markup=False)
        yield CustomerTable(self.actor, hidden=self._remembered_hidden(), id="customer-table")
        yield Static(empty_database_message(self.command), id="empty-message")
        # Compact, without the palette hint (ctrl+p is in the help): the main keys fit in 80
        # columns.
        yield Footer(compact=True, show_command_palette=False)

    def _remembered_hidden(self) -> frozenset[str]:
        try:
            hidden = view_store.hidden_columns(self.actor)
        except StoreError:
            return DEFAULT_HIDDEN
        return DEFAULT_HIDDEN if hidden is None else frozenset(hidden)

    @property
    def table(self) -> CustomerTable:
        return self.query_one(CustomerTable)

    def _search_line(self, value: str | None = None) -> Input:
        """The search line, mounted now if it is not yet (see `compose`); `value` replaces
        what it holds."""
        try:
            search = self.query_one("#search", Input)
        except NoMatches:
            pass
        else:
            if value is not None:
                search.value = value
            return search
        search = Input(
            value or "",
            placeholder=_("Search name, company, phone, email…"),
            compact=True,
            id="search",
        )
        self.mount(search, before=self.query_one("#table-status"))
        return search

    # --- What the table shows ---------------------------------------------------------------

    def on_customer_table_total_changed(self, event: CustomerTable.TotalChanged) -> None:
        # An empty database shows how to add customers; a search or filter matching nothing
        # shows the empty table, with the filter that explains it (app.tcss swaps them).
        empty = event.total == 0 and not has_filter(event.table.query)
        if self.has_class("-empty") and not empty:
            event.table.focus()  # it was hidden, so nothing had the focus
        self.set_class(empty, "-empty")
        self.show_status()

    def on_customer_table_marks_changed(self, event: CustomerTable.MarksChanged) -> None:
        self.show_status()

    def show_status(self) -> None:
        table = self.table
        parts = describe(table.query, table.total)
        if table.marked:
            marked = len(table.marked)
            parts.append(ngettext("{count} marked", "{count} marked", marked).format(count=marked))
        view = self._view
        if view is not None and (view.query, frozenset(view.hidden)) == (table.query, table.hidden):
            parts.append(_("view: {name}").format(name=view.name))
        self.query_one("#table-status", Static).update(" · ".join(parts))

    def action_reload(self) -> None:
        self.table.reload()

    def on_customers_changed(self, event: CustomersChanged) -> None:
        self.table.reload()

    def on_screen_resume(self) -> None:
        # Back from a customer's screen or form: what was saved there shows in the table.
        if self._reload_on_resume:
            self._reload_on_resume = False
            self.table.reload()

    # --- Search ------------------------------------------------------------------------------

    def action_search(self) -> None:
        search = self._search_line()
        self.add_class("-searching")
        # Once shown: focused while hidden, the terminal cursor (where an input method puts
        # its candidates) stays at the top left until the first key.
        self.call_after_refresh(search.focus)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._apply_search)

    def _apply_search(self) -> None:
        self._search_timer = None
        term = self.query_one("#search", Input).value  # mounted: it sent the change
        self.table.set_query(replace(self.table.query, search=term))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: back to the table, keeping the search."""
        if event.input.id != "search":
            return
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply_search()
        self._close_search()

    def action_clear_search(self) -> None:
        """Escape: clear the search and go back to the table."""
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        self._search_line("")
        self.table.set_query(replace(self.table.query, search=""))
        self._close_search()

    def _close_search(self) -> None:
        self.remove_class("-searching")
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_search":
            # Escape only means something while searching; else it is left to other uses.
            return self.has_class("-searching") or bool(self.table.query.search)
        return True

    # --- Filter, columns, views --------------------------------------------------------------

    def _owner_names(self) -> list[str]:
        try:
            return [user.name for user in users.list_users(self.actor) if user.active]
        except StoreError:
            return []  # a role that may not list users filters by the other fields

    @work(exclusive=True, group="dialog")
    async def action_filter(self) -> None:
        from crmtui.screens.customer_filter import FilterScreen  # when first opened (start-up time)

        query = await self.app.push_screen_wait(FilterScreen(self.table.query, self._owner_names()))
        if query is not None:
            self.table.set_query(query)

    @work(exclusive=True, group="dialog")
    async def action_columns(self) -> None:
        from crmtui.screens.columns import ColumnsScreen  # when first opened (start-up time)

        hidden = await self.app.push_screen_wait(ColumnsScreen(self.table.hidden))
        if hidden is not None:
            self._set_hidden(hidden)

    def _set_hidden(self, hidden: frozenset[str]) -> None:
        self.table.set_hidden(hidden)
        try:
            view_store.set_hidden_columns(self.actor, sorted(self.table.hidden))
        except StoreError as error:
            self.notify(str(error), severity="error")
        self.show_status()

    @work(exclusive=True, group="dialog")
    async def action_views(self) -> None:
        from crmtui.screens.views import ViewsScreen  # when first opened (start-up time)

        while True:  # after a delete the dialog comes back with the list as it is now
            try:
                saved = view_store.list_views(self.actor)
            except StoreError as error:
                self.notify(str(error), severity="error")
                return
            current = self._view.name if self._view is not None else ""
            request = await self.app.push_screen_wait(ViewsScreen(saved, current))
            if request is None or not self._do_view_request(request):
                return

    def _do_view_request(self, request: "ViewRequest") -> bool:
        """Do what the views dialog asked; True to show the dialog again."""
        table = self.table
        try:
            if request.action == "save":
                self._view = view_store.save_view(
                    self.actor, request.name, table.query, sorted(table.hidden)
                )
                self.notify(_("View “{name}” saved.").format(name=self._view.name))
            elif request.action == "delete" and request.view is not None:
                view_store.delete_view(self.actor, request.view.id)
                self.notify(_("View “{name}” deleted.").format(name=request.view.name))
                return True
            elif request.view is not None:
                self._view = request.view
                self._search_line(request.view.query.search)
                self._set_hidden(frozenset(request.view.hidden))
                table.set_query(request.view.query)
        except StoreError as error:
            self.notify(str(error), severity="error")
        self.show_status()
        return False

    # --- Export and import: crmtui.screens.transfers -----------------------------------------

    def _transfer_running(self) -> bool:
        from crmtui.screens.transfers import running  # when first used (start-up time)

        if running(self):
            self.notify(_("An import or export is running: wait for it to end."))
            return True
        return False

    def action_export_view(self) -> None:
        if not self._transfer_running():
            self._export_view()

    def action_import_file(self) -> None:
        if not self._transfer_running():
            self._import_file()

    # Not exclusive: a second one is refused above, never cancels the one running.
    @work(group=TRANSFER_GROUP)
    async def _export_view(self) -> None:
        from crmtui.screens.transfers import export_view

        await export_view(self)

    @work(group=TRANSFER_GROUP)
    async def _import_file(self) -> None:
        from crmtui.screens.transfers import import_file

        await import_file(self)

    # --- One customer ------------------------------------------------------------------------

    def on_customer_table_selected(self, event: CustomerTable.Selected) -> None:
        self._reload_on_resume = True
        self.post_message(OpenCustomer(event.customer.id))

    def action_new_customer(self) -> None:
        self._reload_on_resume = True
        self.post_message(NewCustomer())

    def action_edit_customer(self) -> None:
        customer = self.table.row_at(self.table.cursor_row)
        if customer is not None:
            self._reload_on_resume = True
            self.post_message(EditCustomer(customer.id))

    # --- Bulk actions: on the marked rows, or the row under the cursor -----------------------

    def _targets(self) -> list[Customer]:
        """The customers a bulk action works on; none (and a word why) if it cannot start."""
        if not allowed(self.actor, CUSTOMER_WRITE):
            self.notify(
                _("{user} may not change customers").format(user=self.actor.name),
                severity="error",
            )
            return []
        table = self.table
        if table.marked:
            return list(table.marked.values())
        customer = table.row_at(table.cursor_row)
        return [] if customer is None else [customer]

    @work(exclusive=True, group="dialog")
    async def action_bulk_menu(self) -> None:
        actions = [
            ("bulk_add_tag", _("t  Add a tag")),
            ("bulk_remove_tag", _("T  Remove a tag")),
            ("bulk_stage", _("p  Change the stage")),
            ("bulk_owner", _("o  Assign an owner")),
            ("bulk_delete", _("d  Delete")),
        ]
        count = len(self.table.marked) or 1
        title = ngettext(
            "Do what with {count} customer?", "Do what with {count} customers?", count
        ).format(count=count)
        from crmtui.screens.prompts import ChoiceScreen  # when first opened (start-up time)

        action = await self.app.push_screen_wait(ChoiceScreen(title, actions))
        if action is not None:
            await self.run_action(action)

    @work(exclusive=True, group="dialog")
    async def action_bulk_add_tag(self) -> None:
        await self._change_tags(adding=True)

    @work(exclusive=True, group="dialog")
    async def action_bulk_remove_tag(self) -> None:
        await self._change_tags(adding=False)

    async def _change_tags(self, *, adding: bool) -> None:
        targets = self._targets()
        if not targets:
            return
        count = len(targets)
        if adding:
            title = ngettext(
                "Tag to add to {count} customer:", "Tag to add to {count} customers:", count
            )
        else:
            title = ngettext(
                "Tag to remove from {count} customer:",
                "Tag to remove from {count} customers:",
                count,
            )
        from crmtui.screens.prompts import TextPromptScreen  # when first opened (start-up time)

        text = await self.app.push_screen_wait(
            TextPromptScreen(title.format(count=count), placeholder=_("tag"))
        )
        if not text:
            return
        try:
            tags = set(customer_store.clean_tags([text]))
        except StoreError as error:
            self.notify(str(error), severity="error")
            return
        if adding:
            changing = [c for c in targets if not tags <= set(c.tags)]
            question = ngettext(
                "Add the tag “{tag}” to {count} customer?",
                "Add the tag “{tag}” to {count} customers?",
                len(changing),
            )
        else:
            changing = [c for c in targets if tags & set(c.tags)]
            question = ngettext(
                "Remove the tag “{tag}” from {count} customer?",
                "Remove the tag “{tag}” from {count} customers?",
                len(changing),
            )
        question = question.format(tag=", ".join(sorted(tags)), count=len(changing))
        change = {"add": tags} if adding else {"remove": tags}
        await self._confirm_and_run(
            targets,
            changing,
            question,
            lambda versions: customer_store.bulk_tag(self.actor, versions, **change),
        )

    @work(exclusive=True, group="dialog")
    async def action_bulk_stage(self) -> None:
        targets = self._targets()
        if not targets:
            return
        title = ngettext(
            "New stage for {count} customer:", "New stage for {count} customers:", len(targets)
        ).format(count=len(targets))
        choices = [(stage, STAGE_LABELS[stage]) for stage in STAGES]
        from crmtui.screens.prompts import ChoiceScreen  # when first opened (start-up time)

        stage = await self.app.push_screen_wait(ChoiceScreen(title, choices))
        if stage is None:
            return
        changing = [c for c in targets if c.stage != stage]
        question = ngettext(
            "Set the stage of {count} customer to “{stage}”?",
            "Set the stage of {count} customers to “{stage}”?",
            len(changing),
        ).format(count=len(changing), stage=STAGE_LABELS[stage])
        await self._confirm_and_run(
            targets,
            changing,
            question,
            lambda versions: customer_store.bulk_update(self.actor, versions, {"stage": stage}),
        )

    @work(exclusive=True, group="dialog")
    async def action_bulk_owner(self) -> None:
        targets = self._targets()
        if not targets:
            return
        title = ngettext(
            "New owner for {count} customer:", "New owner for {count} customers:", len(targets)
        ).format(count=len(targets))
        choices = [(name, name) for name in self._owner_names()] + [("", _("(nobody)"))]
        from crmtui.screens.prompts import ChoiceScreen  # when first opened (start-up time)

        owner = await self.app.push_screen_wait(ChoiceScreen(title, choices))
        if owner is None:
            return
        changing = [c for c in targets if c.owner != owner]
        if owner:
            question = ngettext(
                "Make {owner} the owner of {count} customer?",
                "Make {owner} the owner of {count} customers?",
                len(changing),
            )
        else:
            question = ngettext(
                "Leave {count} customer without an owner?",
                "Leave {count} customers without an owner?",
                len(changing),
            )
        await self._confirm_and_run(
            targets,
            changing,
            question.format(owner=owner, count=len(changing)),
            lambda versions: customer_store.bulk_update(self.actor, versions, {"owner": owner}),
        )

    @work(exclusive=True, group="dialog")
    async def action_bulk_delete(self) -> None:
        targets = self._targets()
        if not targets:
            return
        question = ngettext(
            "Delete {count} customer and everything recorded about them? This cannot be undone.",
            "Delete {count} customers and everything recorded about them? This cannot be undone.",
            len(targets),
        ).format(count=len(targets))
        await self._confirm_and_run(
            targets,
            targets,
            question,
            lambda versions: customer_store.bulk_delete(self.actor, versions),
            danger=True,
        )

    async def _confirm_and_run(
        self,
        targets: Sequence[Customer],
        changing: Sequence[Customer],
        question: str,
        run: Callable[[Mapping[int, int]], int],
        *,
        danger: bool = False,
    ) -> None:
        """Ask, then change `changing` (the targets the change would alter) through `run`."""
        if not changing:
            self.notify(_("Nothing to change: they are all like that already."))
            return
        from crmtui.screens.confirm import ConfirmScreen  # when first opened (start-up time)

        confirmed = await self.app.push_screen_wait(
            ConfirmScreen(question, title=_("Change customers"), danger=danger)
        )
        if not confirmed:
            return
        try:
            # The versions seen when the rows were read: a customer changed by someone since
            # refuses the whole action, rather than overwriting their change.
            changed = run({customer.id: customer.version for customer in changing})
        except StoreError as error:
            self.notify(str(error), severity="error", title=_("Nothing was changed"))
            self._refresh_marks()
            self.table.reload()
            return
        self.table.unmark(customer.id for customer in targets)
        self.table.reload()
        self.notify(
            ngettext("{count} customer changed.", "{count} customers changed.", changed).format(
                count=changed
            )
        )

    def _refresh_marks(self) -> None:
        """Read the marked customers again, so the user sees (and acts on) what they are now."""
        table = self.table
        fresh: dict[int, Customer] = {}
        for customer_id in table.marked:
            try:
                fresh[customer_id] = customer_store.get_customer(self.actor, customer_id)
            except NotFoundError:
                continue  # deleted by someone else: nothing left to act on
        table.marked = fresh
        table.post_message(CustomerTable.MarksChanged(table, len(fresh)))
