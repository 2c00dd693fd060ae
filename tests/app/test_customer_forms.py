"""The customer form and the record form, driven by keys through Pilot on both backends.

Assertions are on what the user sees (the form, the problem at the field, the dialog) and on
what the database then holds.
"""

import datetime as dt
from decimal import Decimal

from textual.pilot import Pilot
from textual.widgets import DataTable

from crmtui.app import CrmApp
from crmtui.screens.conflict import ConflictScreen
from crmtui.screens.customer_detail import CustomerDetailScreen
from crmtui.screens.customer_form import CustomerFormScreen
from crmtui.screens.customers import CustomersScreen
from crmtui.screens.record_form import RecordFormScreen
from crmtui.store import custom_fields, customers, timeline, users
from crmtui.store import models as models
from crmtui.store.types import Actor
from crmtui.widgets.customer_table import CustomerTable
from crmtui.widgets.date_input import DateInput, date_hint
from tests.app.screen import screen_text, type_text

SIZE = (80, 24)


async def go_to_field(pilot: Pilot, name: str) -> None:
    """Put the focus on the field `name`.

    Tab reaches it too (`test_tab_and_shift_tab_move_between_fields`), but every key press
    costs Pilot a tenth of a second, so the other tests go straight to the field.
    """
    pilot.app.screen.row(name).focus_editor()
    await pilot.pause()


async def replace_field(pilot: Pilot, name: str, text: str) -> None:
    """Go to a one-line field, clear it and type `text`."""
    await go_to_field(pilot, name)
    await pilot.press("end", "ctrl+u")
    await type_text(pilot, text)


def names_in_database(actor: Actor) -> list[str]:
    return [c.name for c in customers.list_customers(actor, limit=None).rows]


async def test_a_bad_email_is_shown_at_the_field_and_nothing_is_saved(
    db: str, actor: Actor
) -> None:
    customers.add_customer(actor, {"name": "Bob Jones"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)
        assert "New customer" in await screen_text(pilot)
        await type_text(pilot, "王芳 Wang")  # the name field has the focus
        await replace_field(pilot, "email", "wang.fang@")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert app.screen is form  # refused: the form stays open with what was typed
        email = form.row("email")
        assert email.has_class("-invalid")
        assert "is not a valid email address" in email.problem
        assert not form.row("name").has_class("-invalid")
        text = await screen_text(pilot)
        email_line = next(n for n, line in enumerate(text.splitlines()) if "Email" in line)
        assert "is not a valid email address" in text.splitlines()[email_line + 1]
        assert "correct the fields marked" in text
        assert form.focused in email.editor.ancestors_with_self
        assert names_in_database(actor) == ["Bob Jones"]

        await pilot.press("end")
        await type_text(pilot, "example.cn")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        added = customers.list_customers(actor, limit=None).rows
        assert [(c.name, c.email, c.owner) for c in added] == [
            ("Bob Jones", "", ""),
            ("王芳 Wang", "wang.fang@example.cn", actor.name),  # the adder owns it
        ]
        await pilot.pause()
        table = app.screen.query_one(CustomerTable)
        assert table.total == 2
        assert "王芳 Wang" in await screen_text(pilot)


async def test_e_on_the_table_edits_the_customer_and_the_table_shows_it(
    db: str, actor: Actor
) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith", "tags": ["vip"]})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)
        assert form.row("name").value == "Alice Smith"
        assert form.row("tags").value == "vip"
        await replace_field(pilot, "company", "Acme")
        await replace_field(pilot, "tags", "vip, 重点")
        await go_to_field(pilot, "stage")
        await pilot.press("enter")  # opens the choices
        await type_text(pilot, "act")  # type to search
        await pilot.press("enter")
        assert form.row("stage").value == "active"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        saved = customers.get_customer(actor, customer.id)
        assert (saved.company, saved.stage, saved.tags) == ("Acme", "active", ("vip", "重点"))
        assert saved.version == customer.version + 1
        assert "Acme" in await screen_text(pilot)


async def test_tab_and_shift_tab_move_between_fields(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)

        def focused_field() -> str:
            return next(
                f.name for f in form.fields if form.focused in form.row(f.name).walk_children()
            )

        assert focused_field() == "name"
        visited = []
        for _ in range(9):
            await pilot.press("tab")
            visited.append(focused_field())
        assert visited == [
            "company",
            "title",
            "phone",
            "alt_phone",
            "email",
            "stage",
            "owner",
            "tags",
            "key_account",
        ]
        await pilot.press("shift+tab", "shift+tab")
        assert focused_field() == "owner"
        # The focused field is scrolled into view, far down the form too.
        for _ in range(len(form.fields) - 8):
            await pilot.press("tab")
        assert focused_field() == form.fields[-1].name
        assert form.row(form.fields[-1].name).region.bottom <= SIZE[1] - 1


async def test_escape_cancels_and_asks_again_before_dropping_typing(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")  # nothing typed: closes at once
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)

        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "Half typed")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomerFormScreen)
        assert "escape again discards them" in await screen_text(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
    assert names_in_database(actor) == []


async def test_custom_fields_are_typed_and_checked_at_their_field(db: str, actor: Actor) -> None:
    custom_fields.define_field(actor, "budget", "Budget", "number")
    custom_fields.define_field(actor, "renewal", "Renewal", "date")
    custom_fields.define_field(actor, "tier", "Tier", "choice", ("gold", "silver"))
    customer = customers.add_customer(actor, {"name": "Alice Smith"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)
        assert isinstance(form.row("custom.renewal").editor, DateInput)
        await replace_field(pilot, "custom.budget", "lots")
        await replace_field(pilot, "custom.renewal", "2025/3/5")
        assert form.row("custom.renewal").editor.hint == "→ 2025-03-05 Wed"
        await go_to_field(pilot, "custom.tier")
        await pilot.press("enter", "g", "enter")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert app.screen is form
        assert "is not a number" in form.row("custom.budget").problem
        assert customers.get_customer(actor, customer.id).custom == {}

        await replace_field(pilot, "custom.budget", "12500.5")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
    assert customers.get_customer(actor, customer.id).custom == {
        "budget": "12500.5",
        "renewal": "2025-03-05",
        "tier": "gold",
    }


def test_the_date_hint_shows_what_will_be_saved() -> None:
    in_three_days = dt.date.today() + dt.timedelta(days=3)
    assert date_hint("+3d", moment=False) == f"→ {in_three_days} {in_three_days:%a}"
    assert date_hint("today", moment=False).startswith(f"→ {dt.date.today()}")
    assert date_hint("2025-03-05", moment=True) == "→ 2025-03-05 09:00"
    assert date_hint("someday", moment=False) == "not a date"
    assert "today" in date_hint("", moment=False)


async def open_detail(pilot: Pilot) -> CustomerDetailScreen:
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    detail = pilot.app.screen
    assert isinstance(detail, CustomerDetailScreen)
    return detail


async def test_a_stale_customer_save_shows_their_values_beside_mine(db: str, actor: Actor) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith", "company": "Acme"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("e")  # on the overview: edits the customer
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)
        await replace_field(pilot, "company", "Mine Co")
        await replace_field(pilot, "title", "CTO")
        await replace_field(pilot, "city", "Beijing")

        # Someone else saves the customer meanwhile.
        theirs = customers.update_customer(
            actor, customer.id, {"company": "Theirs Co", "city": "Shanghai", "notes": "VIP"}, None
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConflictScreen)
        assert customers.get_customer(actor, customer.id) == theirs  # nothing saved yet
        text = await screen_text(pilot)
        for value in ("Theirs Co", "Mine Co", "Shanghai", "Beijing", "CTO", "VIP"):
            assert value in text
        # The fields that differ, with mine offered where I typed and theirs elsewhere.
        assert dialog.keep_mine == {"company": True, "title": True, "city": True, "notes": False}
        table = dialog.query_one(DataTable)
        assert [str(table.get_row_at(n)[0]) for n in range(table.row_count)] == [
            "Company",
            "Title",
            "City",
            "Notes",
        ]

        await pilot.press("t")  # company: take theirs
        await pilot.press("down", "down", "space")  # city: switch to theirs
        assert dialog.keep_mine == {"company": False, "title": True, "city": False, "notes": False}
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ConflictScreen | CustomerFormScreen)

    saved = customers.get_customer(actor, customer.id)
    assert (saved.company, saved.title, saved.city, saved.notes) == (
        "Theirs Co",
        "CTO",
        "Shanghai",
        "VIP",
    )
    assert saved.version == theirs.version + 1


async def test_a_stale_record_save_keeps_mine_where_chosen(db: str, actor: Actor) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith"})
    purchase = timeline.add_record(
        actor,
        timeline.PURCHASE,
        customer.id,
        {"date": "2025-01-15", "product": "Widget", "amount": "100"},
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("3", "e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, RecordFormScreen)
        await replace_field(pilot, "amount", "120")
        timeline.update_record(
            actor, timeline.PURCHASE, purchase.id, {"amount": "110", "category": "Tools"}, None
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConflictScreen)
        assert app.screen.keep_mine == {"category": False, "amount": True}

        # Escape goes back to the form; the save is still refused until compared.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is form
        assert "changed by someone else" in await screen_text(pilot)
        assert timeline.get_record(actor, timeline.PURCHASE, purchase.id).amount == Decimal(110)

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConflictScreen)
        await pilot.press("m", "ctrl+s")  # category row: keep mine (empty) as well
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
    saved = timeline.get_record(actor, timeline.PURCHASE, purchase.id)
    assert (saved.amount, saved.category, saved.version) == (Decimal("120.00"), "", 3)


async def test_their_owner_is_kept_though_no_longer_offered(db: str, actor: Actor) -> None:
    customer = customers.add_customer(actor, {"name": "Alice Smith", "owner": actor.name})
    users.ensure_users([("old.hand", "Old Hand", "sales")])
    old_hand = models.User.update(active=False).where(models.User.name == "old.hand")
    old_hand.execute()  # disabled: the form does not offer this user
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        await replace_field(pilot, "company", "Mine Co")
        # Meanwhile the user is enabled, given the customer, and disabled again.
        models.User.update(active=True).where(models.User.name == "old.hand").execute()
        customers.update_customer(actor, customer.id, {"owner": "old.hand"}, None)
        old_hand.execute()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConflictScreen)
        assert app.screen.keep_mine == {"owner": False, "company": True}
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
    saved = customers.get_customer(actor, customer.id)
    assert (saved.owner, saved.company) == ("old.hand", "Mine Co")


async def test_a_possible_duplicate_is_warned_once_then_saved(db: str, actor: Actor) -> None:
    zhang = customers.add_customer(
        actor, {"name": "张伟", "company": "星河科技", "phone": "13812345678"}
    )
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CustomerFormScreen)
        await type_text(pilot, "Zhang Wei")
        await replace_field(pilot, "phone", "138 1234 5678")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # warned, not saved
        shown = await screen_text(pilot)
        assert f"#{zhang.id} 张伟 (星河科技): same phone" in shown
        assert "ctrl+s again saves anyway" in shown
        assert names_in_database(actor) == ["张伟"]

        await pilot.press("ctrl+s")  # the same values again: saved
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        assert sorted(names_in_database(actor)) == ["Zhang Wei", "张伟"]


async def test_an_edit_leaving_name_and_phones_alone_is_not_warned(db: str, actor: Actor) -> None:
    customers.add_customer(actor, {"name": "王芳"})
    twin = customers.add_customer(actor, {"name": "王芳", "company": "甲"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.push_screen(CustomerFormScreen.load(actor, twin.id))
        await pilot.pause()
        await replace_field(pilot, "company", "乙")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, CustomerFormScreen)
        assert customers.get_customer(actor, twin.id).company == "乙"


async def test_q_on_a_choice_in_a_form_does_not_quit(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        await type_text(pilot, "王芳")
        await go_to_field(pilot, "stage")  # a choice: `q` is not typed into it
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.screen is form
        assert form.row("name").value == "王芳"
        assert "Quit" not in await screen_text(pilot)  # nor offered in the footer
        await pilot.press("escape", "escape")  # discard, back on the table: q quits
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_the_label_of_the_focused_field_is_highlighted(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen

        def bold_labels() -> list[str]:
            return [
                row.field.name
                for row in form.query("FieldRow")
                if row.query_one(".field-label").rich_style.bold
            ]

        assert bold_labels() == ["name"]
        await pilot.press("tab")
        await pilot.pause()
        assert bold_labels() == ["company"]
