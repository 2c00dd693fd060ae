"""User administration (`accounts`): passwords, roles, disabling, on both backends."""

from collections.abc import Callable

import pytest

from crmtui.store import accounts, auth, passwords, users
from crmtui.store import models as m
from crmtui.store.errors import PermissionDeniedError, StoreError, ValidationError
from crmtui.store.types import Actor

pytestmark = pytest.mark.usefixtures("quick_hashes")

PASSWORD = "correct horse battery"
RULES = (
    "password: a password needs at least 10 characters (at most 256; any letters, digits, "
    "spaces or symbols), must not be the user name, and must not be one character repeated"
)


@pytest.fixture
def admin(actor: Actor) -> Actor:
    """The first user with a password, an admin, logged in."""
    accounts.add_user(actor, "alice", "admin", PASSWORD, full_name=" Alice Adams ")
    return auth.log_in("alice", PASSWORD)


def row(name: str) -> m.User:
    return m.User.get(m.User.name == name)


def test_the_first_user_with_a_password_must_be_an_admin(actor: Actor) -> None:
    assert users.login_required() is False
    for role in ("sales", "manager", "readonly"):
        with pytest.raises(ValidationError) as caught:
            accounts.add_user(actor, "bob", role, PASSWORD)
        assert str(caught.value) == (
            "role: the first user with a password must be an admin (who then adds the "
            "others); give this one the role admin"
        )
    # An existing user without a password (an owner an import made) cannot be the first either.
    users.ensure_users([("wang", "王芳", "sales")])
    with pytest.raises(ValidationError, match="the first user with a password must be an admin"):
        accounts.set_password(actor, "wang", PASSWORD)
    assert m.User.select().where(m.User.password_hash.is_null(False)).count() == 0

    added = accounts.add_user(actor, "alice", "admin", PASSWORD, full_name=" Alice Adams ")
    assert (added.name, added.full_name, added.role, added.has_password) == (
        "alice",
        "Alice Adams",
        "admin",
        True,
    )
    assert row("alice").password_hash.startswith("$argon2id$")
    assert users.login_required() is True
    # Single-user mode is over: nobody acts without logging in.
    with pytest.raises(users.LoginRequiredError, match="log in first"):
        users.local_actor()


def test_user_administration_takes_an_admin(admin: Actor) -> None:
    accounts.add_user(admin, "bob", "sales", "bob's own secret")
    bob = auth.log_in("bob", "bob's own secret")
    before = [(u.name, u.role, u.active, u.version) for u in users.list_users(admin)]
    refused = {
        "add": lambda: accounts.add_user(bob, "carol", "sales", PASSWORD),
        "check": lambda: accounts.check_new_user(bob, "carol", "sales"),
        "role": lambda: accounts.set_role(bob, "bob", "admin"),
        "disable": lambda: accounts.set_active(bob, "alice", False),
        "unlock": lambda: accounts.unlock(bob, "alice"),
        "others' password": lambda: accounts.set_password(bob, "alice", PASSWORD + "!"),
        "others' two-step": lambda: accounts.disable_two_step(bob, "alice"),
    }
    for name, call in refused.items():
        with pytest.raises(PermissionDeniedError) as caught:
            call()
        assert str(caught.value).startswith("bob may not "), name
    assert [(u.name, u.role, u.active, u.version) for u in users.list_users(admin)] == before
    # One's own password is one's own to change.
    changed = accounts.set_password(bob, "bob", "a new one for bob")
    assert changed.version == 2
    assert auth.log_in("bob", "a new one for bob") == bob


def test_passwords_that_break_the_rules_are_refused(admin: Actor) -> None:
    before = row("alice").password_hash
    for password in ["short", "123456789", "alice", " ALICE ", "x" * 12, "x" * 257]:
        with pytest.raises(ValidationError) as caught:
            accounts.set_password(admin, "alice", password)
        assert str(caught.value) == RULES, password
    assert row("alice").password_hash == before
    with pytest.raises(ValidationError, match="must not be the user name"):
        passwords.check_rules(" Administrator", "administrator")
    passwords.check_rules("ten chars!", "alice")  # the shortest allowed
    passwords.check_rules("é" * 9 + "密", "alice")  # characters, not bytes


def test_names_roles_and_existing_users(admin: Actor) -> None:
    cases = {
        ("bad name", "sales"): "name: a user name is one word of at most 64 characters",
        ("", "sales"): "name: a user name is one word",
        ("x" * 65, "sales"): "name: a user name is one word",
        ("bob", "boss"): "role: 'boss' is not a role; the roles are admin, manager, sales,",
        ("alice", "sales"): "name: user alice exists already",
    }
    for (name, role), message in cases.items():
        with pytest.raises(ValidationError) as caught:
            accounts.check_new_user(admin, name, role)
        assert str(caught.value).startswith(message), (name, role)
    users.ensure_users([("wang", "王芳", "sales")])
    with pytest.raises(ValidationError, match="user wang exists already, without a password"):
        accounts.add_user(admin, "wang", "sales", PASSWORD)
    assert accounts.set_password(admin, "wang", PASSWORD).has_password is True
    assert accounts.set_role(admin, " wang ", "manager").role == "manager"
    with pytest.raises(ValidationError, match="name: no user named 'nobody'"):
        accounts.set_role(admin, "nobody", "sales")


def test_disabled_users_cannot_log_in_until_enabled(admin: Actor) -> None:
    accounts.add_user(admin, "bob", "sales", "bob's own secret")
    disabled = accounts.set_active(admin, "bob", False)
    assert (disabled.active, disabled.version) == (False, 2)
    with pytest.raises(auth.LoginFailedError):
        auth.log_in("bob", "bob's own secret")
    assert accounts.set_active(admin, "bob", True).active is True
    assert auth.log_in("bob", "bob's own secret").name == "bob"


def test_the_last_admin_who_can_log_in_stays(
    admin: Actor, make_actor: Callable[..., Actor]
) -> None:
    make_actor("nopass", "admin")  # an admin without a password cannot log in: no help
    for change in (
        lambda: accounts.set_active(admin, "alice", False),
        lambda: accounts.set_role(admin, "alice", "manager"),
    ):
        with pytest.raises(StoreError) as caught:
            change()
        assert str(caught.value) == (
            "alice is the last active admin who can log in; make another user admin first"
        )
    assert (row("alice").role, row("alice").active) == ("admin", True)
    assert accounts.set_role(admin, "alice", "admin").role == "admin"  # no change is no loss
    accounts.add_user(admin, "root2", "admin", PASSWORD)
    assert accounts.set_role(admin, "alice", "manager").role == "manager"
