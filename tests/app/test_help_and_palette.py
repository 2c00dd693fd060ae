"""Finding keys: the help screen, the command palette, and the light/dark switch."""

from crmtui.app import CrmApp
from crmtui.screens.help import HelpScreen
from crmtui.store import customers
from crmtui.store.types import Actor

SIZE = (80, 24)


async def test_question_mark_lists_every_key_of_the_screen(db: str, actor: Actor) -> None:
    customers.add_customer(actor, {"name": "Help Me"})
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        listed = {k.description: k.keys for k in app.screen.keys}
        assert "q" in listed["Quit"].split(", ")
        assert listed["New"] == "n" and listed["Edit"] == "e"
        assert listed["Export view"] == "X" and listed["Import file"] == "i"
        assert set(listed["Down"].split(", ")) == {"j", "↓"}
        assert set(listed["Bottom"].split(", ")) >= {"G"}
        # The screen's keys first, the table's next, the app's, then Textual's own.
        order = [k.description for k in app.screen.keys]
        assert order[0] == "Search"
        assert order.index("New") < order.index("Down") < order.index("Quit")
        assert order.index("Quit") < order.index("Scroll Left")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_the_palette_offers_every_action_with_a_key(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        customers.add_customer(actor, {"name": "Palette Person"})  # after the table's first look
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Quit", "Help", "New", "Edit", "Reload", "Light/dark"} <= titles
        assert {"Export view", "Import file"} <= titles

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Reload")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        table = app.screen.query_one("CustomerTable")
        assert table.total == 1


async def test_ctrl_t_switches_between_light_and_dark(db: str, actor: Actor) -> None:
    app = CrmApp(actor=actor, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        was_dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not was_dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is was_dark
