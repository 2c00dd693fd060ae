"""The login screen, driven by keys, on each backend: once users have passwords the app starts
there, refuses a wrong password (and says so), and opens the customer table for the right
one, asking for the two-step code in between when the user has one."""

import datetime as dt
from collections.abc import Awaitable, Callable

import pyotp
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from crmtui.app import CrmApp
from crmtui.screens.customers import CustomersScreen
from crmtui.screens.login import LoginScreen
from crmtui.store import accounts, auth, customers, totp
from crmtui.store import models as m
from crmtui.store.types import Actor
from crmtui.widgets.customer_table import CustomerTable
from tests.app.screen import screen_text, type_text
from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("quick_hashes")

SnapCompare = Callable[..., Awaitable[bool]]  # the fixture of tests/app/conftest.py
SIZE = (80, 24)
PASSWORD = "correct horse battery"
REFUSED = "login failed: wrong user name, password or code"


@pytest.fixture
def alice(actor: Actor) -> Actor:
    """The first user with a password, and a customer to see once logged in."""
    accounts.add_user(actor, "alice", "admin", PASSWORD)
    alice = auth.log_in("alice", PASSWORD)
    customers.add_customer(alice, {"name": "张伟", "company": "星河科技"})
    return alice


def failed_logins(name: str) -> int:
    return m.User.get(m.User.name == name).failed_logins


async def test_a_wrong_password_stays_on_the_login_screen_and_the_right_one_opens_the_table(
    db: str, alice: Actor
) -> None:
    app = CrmApp(actor=None, db_label=db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert app.focused is not None and app.focused.id == "user"
        text = await screen_text(pilot)
        assert "Log in to crmtui" in text and "Password" in text
        assert "Two-step code" not in text  # only once the password was right

        await type_text(pilot, "alice")
        await pilot.press("enter")
        assert app.focused.id == "password"
        await type_text(pilot, "not her password")
        text = await screen_text(pilot)
        assert "not her password" not in text and "•" * 4 in text  # masked
        await pilot.press("enter")
        text = await screen_text(pilot)
        assert REFUSED in " ".join(text.split())
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        assert app.screen.query_one("#password", Input).value == ""  # asked again
        assert app.focused.id == "password"
        assert failed_logins("alice") == 1
        # The queue and the command palette wait for a login.
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, LoginScreen)

        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen)
        assert app.actor == alice
        assert "张伟" in app.screen.query_one(CustomerTable).render_line(1).text
        assert app.screen.command.endswith(" --user alice")  # for the hints it shows
        assert failed_logins("alice") == 0
        assert [type(s) for s in app.screen_stack] == [CustomersScreen]  # no way back


async def test_the_user_name_given_and_the_two_step_code(
    db: str, alice: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime(2026, 3, 1, 9, 0, 10)
    monkeypatch.setattr(m, "utcnow", Clock(now))
    setup = accounts.start_two_step(alice, "alice")
    codes = pyotp.TOTP(setup.secret)
    accounts.enable_two_step(alice, "alice", setup.secret, codes.at(totp.unix_time(now)))
    used = codes.at(totp.unix_time(now))
    fresh = codes.at(totp.unix_time(now) + 30)

    app = CrmApp(actor=None, db_label=db, user_name="alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "password"  # the name is given
        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        text = await screen_text(pilot)
        assert "Two-step code" in text
        assert "enter the code your authenticator app shows" in text
        assert app.focused.id == "code"
        await type_text(pilot, used)  # the code that confirmed the set-up: used once already
        await pilot.press("enter")
        text = await screen_text(pilot)
        assert REFUSED in " ".join(text.split())
        assert isinstance(app.screen, LoginScreen) and "Two-step code" not in text
        assert failed_logins("alice") == 1

        await type_text(pilot, PASSWORD)
        await pilot.press("enter")
        await type_text(pilot, fresh)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomersScreen) and app.actor == alice
        assert m.User.get(m.User.name == "alice").totp_last_step == totp.unix_time(now) // 30 + 1


async def test_snapshot_of_a_refused_login(
    db: str, alice: Actor, snap_compare: SnapCompare, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The login screen at 80×24 after a wrong password: the message in the box, the password
    asked again (the database name is pinned: the screen must not show where tests run)."""
    monkeypatch.delenv("NO_COLOR", raising=False)

    async def wrong_password(pilot: Pilot) -> None:
        await type_text(pilot, "alice")
        await pilot.press("enter")
        await type_text(pilot, "not her password")
        await pilot.press("enter")

    app = CrmApp(actor=None, db_label="~/crm/customers.db")
    assert await snap_compare(app, terminal_size=SIZE, run_before=wrong_password)
