"""`crmtui user …` and `crmtui --user NAME …`, run in-process on each backend."""

import datetime as dt
import json

import pyotp
import pytest
from click.testing import Result

from crmtui.store import models as m
from crmtui.store import totp
from crmtui.store.db import open_database
from tests.conftest import Clock

from .conftest import Run

pytestmark = pytest.mark.usefixtures("quick_hashes")

PASSWORD = "correct horse battery"
BOB_PASSWORD = "bob's own secret"
AS_ALICE = {"CRMTUI_PASSWORD": PASSWORD}
FAILED = (
    "Error: login failed: wrong user name, password or code, or the account is locked or "
    "disabled (after 5 failures in a row it is locked for a while)\n"
)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def users_in(db_target: str) -> dict[str, tuple[str, bool]]:
    """Each user's role and whether it has a password, read from the database."""
    open_database(db_target)
    return {u.name: (u.role, u.password_hash is not None) for u in m.User.select()}


@pytest.fixture
def alice(crm: Run) -> Run:
    """A database whose first user is the admin alice; runs crmtui logged in as her."""
    ok(crm("user", "add", "alice", "--role", "admin", "--password-stdin", input=PASSWORD + "\n"))

    def run(*args: str, input: str | None = None) -> Result:
        return crm("--user", "alice", *args, input=input, env=AS_ALICE)

    return run


def test_the_first_user_needs_no_login_and_must_be_an_admin(crm: Run, db_target: str) -> None:
    refused = crm("user", "add", "bob", "--role", "sales", "--password-stdin", input=PASSWORD)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: role: the first user with a password must be an admin (who then adds the "
        "others); give this one the role admin\n"
    )
    assert "bob" not in users_in(db_target)

    # Asked twice at the prompt, with the rules said first.
    added = ok(crm("user", "add", "alice", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n"))
    assert added.stdout == (
        "added user alice (admin)\n"
        "From now on crmtui asks who you are: `crmtui --user alice …`, and the app opens on a "
        "login screen.\n"
    )
    assert "Rules: a password needs at least 10 characters" in added.stderr
    assert "New password: \nRepeat the new password: \n" in added.stderr
    assert PASSWORD not in added.output
    assert users_in(db_target)["alice"] == ("admin", True)


def test_two_prompts_that_differ_set_nothing(crm: Run, db_target: str) -> None:
    result = crm("user", "add", "alice", "--role", "admin", input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code == 1
    assert "Error: The two entered values do not match." in result.stderr
    assert "alice" not in users_in(db_target)


def test_once_a_user_has_a_password_every_command_needs_a_login(
    alice: Run, crm: Run, db_target: str
) -> None:
    for args in (("customer", "list"), ("user", "list")):
        refused = crm(*args)
        assert refused.exit_code == 1
        assert refused.stderr == (
            "Error: this database has users with passwords: log in with `crmtui --user NAME …` "
            "(the password is asked, or read from CRMTUI_PASSWORD)\n"
        )
    # The password from CRMTUI_PASSWORD …
    listed = json.loads(ok(alice("user", "list", "--json")).stdout)
    alice_row = next(u for u in listed if u["name"] == "alice")
    assert (alice_row["role"], alice_row["has_password"], alice_row["two_step"]) == (
        "admin",
        True,
        False,
    )
    assert all("hash" not in key and "secret" not in key for key in alice_row)
    # … or from a prompt, on stderr, so the output stays clean.
    prompted = ok(crm("--user", "alice", "customer", "list", "--json", input=PASSWORD + "\n"))
    assert (prompted.stdout, prompted.stderr) == ("[]\n", "Password for alice: \n")
    # CRMTUI_USER names the user as --user does.
    ok(crm("customer", "list", env={"CRMTUI_USER": "alice", **AS_ALICE}))


def test_the_same_message_for_an_unknown_user_a_wrong_password_and_a_locked_account(
    alice: Run, crm: Run, db_target: str
) -> None:
    ok(alice("user", "add", "bob", "--role", "sales", "--password-stdin", input=BOB_PASSWORD))
    ok(alice("user", "disable", "bob"))
    ok(alice("user", "add", "carol", "--role", "admin", "--password-stdin", input=BOB_PASSWORD))

    def as_(name: str, password: str) -> Result:
        return crm("--user", name, "customer", "list", env={"CRMTUI_PASSWORD": password})

    failures = {
        "unknown user": as_("nobody", PASSWORD),
        "disabled": as_("bob", BOB_PASSWORD),
        "wrong password": as_("alice", "not her password"),
    }
    for _attempt in range(4):
        as_("alice", "not her password")
    failures["locked, right password"] = as_("alice", PASSWORD)
    for name, result in failures.items():
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", FAILED), name

    # Each command is a process of its own: the lock holds from one to the next, until
    # another admin unlocks her.
    assert as_("alice", PASSWORD).stderr == FAILED
    unlocked = ok(
        crm("--user", "carol", "user", "unlock", "alice", env={"CRMTUI_PASSWORD": BOB_PASSWORD})
    )
    assert unlocked.stdout == "unlocked user alice\n"
    ok(alice("customer", "list"))


def test_user_administration_takes_an_admin_login(alice: Run, crm: Run, db_target: str) -> None:
    added = ok(
        alice(
            "user", "add", "bob", "--role", "sales", "--full-name", "Bob Li", "--password-stdin",
            input=BOB_PASSWORD + "\n",
        )
    )  # fmt: skip
    assert added.stdout == "added user bob (sales)\n"
    as_bob = {"CRMTUI_PASSWORD": BOB_PASSWORD}
    for args in (
        ("user", "add", "carol", "--role", "sales", "--password-stdin"),
        ("user", "role", "bob", "admin"),
        ("user", "disable", "alice"),
        ("user", "unlock", "alice"),
        ("user", "passwd", "alice", "--password-stdin"),
    ):
        refused = crm("--user", "bob", *args, env=as_bob, input="carol's password\n")
        assert refused.exit_code == 1, args
        assert refused.stderr.startswith("Error: bob may not "), args
    assert users_in(db_target)["bob"] == ("sales", True)
    assert "carol" not in users_in(db_target)
    # Bob may change his own password.
    changed = crm("--user", "bob", "user", "passwd", "bob", "--password-stdin", env=as_bob,
                  input="bob's newer secret\n")  # fmt: skip
    assert ok(changed).stdout == "new password set for bob\n"

    assert ok(alice("user", "role", "bob", "manager")).stdout == "bob is now manager\n"
    assert ok(alice("user", "disable", "bob")).stdout == "disabled user bob\n"
    assert ok(alice("user", "enable", "bob")).stdout == "enabled user bob\n"
    listing = ok(alice("user", "list")).stdout.splitlines()
    assert listing[0].split() == [
        "name", "full", "name", "role", "active", "password", "two-step", "locked", "until",
    ]  # fmt: skip
    assert [line.split()[:6] for line in listing[1:] if line.startswith(("alice", "bob"))] == [
        ["alice", "admin", "yes", "yes", "no"],
        ["bob", "Bob", "Li", "manager", "yes", "yes"],
    ]
    last_admin = alice("user", "disable", "alice")
    assert last_admin.stderr == (
        "Error: alice is the last active admin who can log in; make another user admin first\n"
    )
    too_short = alice("user", "passwd", "bob", "--password-stdin", input="short\n")
    assert too_short.stderr.startswith("Error: password: a password needs at least 10 characters")


def test_user_option_is_refused_in_single_user_mode(crm: Run) -> None:
    for args in (("customer", "list"), ()):
        result = crm("--user", "alice", *args)
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: --user: no user of this database has a password")


def test_the_app_opens_on_the_login_screen_once_users_have_passwords(
    alice: Run, crm: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmtui.app

    opened: list[tuple[object, str]] = []
    monkeypatch.setattr(
        crmtui.app.CrmApp, "run", lambda app: opened.append((app.actor, app.user_name))
    )
    ok(crm())
    ok(crm("--user", "alice"))  # the name fills in the login screen; no password is asked
    assert opened == [(None, ""), (None, "alice")]


SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = dt.datetime(2026, 3, 1, 9, 0, 10)


def code_at(when: dt.datetime) -> str:
    return pyotp.TOTP(SECRET).at(totp.unix_time(when))


def test_two_step_from_the_command_line(
    alice: Run, crm: Run, db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(NOW)
    monkeypatch.setattr(m, "utcnow", clock)
    # A known secret, so the test can be the authenticator app.
    monkeypatch.setattr(totp, "new_secret", lambda: SECRET)
    wrong = alice("user", "totp", "enable", input="000000\n")
    assert wrong.exit_code == 1
    assert wrong.stderr.endswith(
        "Code the app shows now: 000000\nError: code: that is not the code the app shows now; "
        "nothing was changed\n"
    )

    enabled = ok(alice("user", "totp", "enable", input=code_at(NOW) + "\n"))
    assert enabled.stdout.startswith(
        "Scan this QR code with an authenticator app (or type the secret into it):\n"
    )
    assert "secret: JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP\n" in enabled.stdout
    qr_lines = [line for line in enabled.stdout.splitlines() if set(line) <= set(" █▀▄")]
    assert len(qr_lines) > 10 and len({len(line) for line in qr_lines}) == 1  # a square of blocks
    assert enabled.stdout.endswith(
        "two-step verification is on for alice: each login asks for a code\n"
    )
    open_database(db_target)
    assert m.User.get(m.User.name == "alice").totp_secret == SECRET

    # A login now asks for the code (or takes it from CRMTUI_TOTP), once per step.
    clock.now = NOW + dt.timedelta(seconds=30)
    asked = ok(alice("customer", "list", input=code_at(clock.now) + "\n"))
    assert asked.stderr == f"Two-step code from your authenticator app: {code_at(clock.now)}\n"
    replayed = crm(
        "--user", "alice", "customer", "list",
        env={**AS_ALICE, "CRMTUI_TOTP": code_at(clock.now)},
    )  # fmt: skip
    assert (replayed.exit_code, replayed.stderr) == (1, FAILED)
    clock.now = NOW + dt.timedelta(seconds=60)
    from_env = crm(
        "--user", "alice", "customer", "list",
        env={**AS_ALICE, "CRMTUI_TOTP": code_at(clock.now)},
    )  # fmt: skip
    assert (ok(from_env).stderr, from_env.stdout) == ("", "")

    off = ok(alice("user", "totp", "disable", input=code_at(NOW + dt.timedelta(seconds=90))))
    assert off.stdout == "two-step verification is off for alice\n"
    assert ok(alice("customer", "list")).stderr == ""  # no code asked


def test_every_user_command_has_help() -> None:
    """tests/cli/test_help.py checks each command's help; these are the ones issue 7 adds."""
    from tests.cli.test_help import ALL_COMMANDS

    names = {" ".join(path) for path in ALL_COMMANDS}
    assert {
        "user add", "user list", "user passwd", "user role", "user disable", "user enable",
        "user unlock", "user totp enable", "user totp disable",
    } <= names  # fmt: skip
