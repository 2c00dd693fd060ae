"""Logging in (`auth`): one message for every refusal, the lock-out, re-hashing, on both
backends; and the password hashes themselves (argon2id, never the password in the file)."""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from crmtui.store import accounts, auth, passwords, users
from crmtui.store import db as store_db
from crmtui.store import models as m
from crmtui.store.types import Actor, User
from tests.conftest import Clock

PASSWORD = "Geheim-密码-2026 horse"
NOW = dt.datetime(2026, 3, 1, 9, 0, 0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOW)
    monkeypatch.setattr(m, "utcnow", clock)
    return clock


@pytest.fixture
def admin(actor: Actor, clock: Clock) -> Actor:
    accounts.add_user(actor, "alice", "admin", PASSWORD)
    return auth.log_in("alice", PASSWORD)


def row(name: str) -> m.User:
    return m.User.get(m.User.name == name)


def refusal(name: str, password: str, code: str | None = None) -> str:
    with pytest.raises(auth.LoginFailedError) as caught:
        auth.log_in(name, password, code)
    return str(caught.value)


def listed(admin: Actor, name: str) -> User:
    return next(u for u in users.list_users(admin) if u.name == name)


def lock_state(name: str) -> tuple[int, int, dt.datetime | None]:
    found = row(name)
    return found.failed_logins, found.lock_level, found.locked_until


def test_the_real_hasher_is_argon2id_at_least_at_its_defaults() -> None:
    """The store hashes with argon2-cffi's defaults (RFC 9106, low memory), and the dummy a
    login for an unknown user verifies has the same costs, so it takes a real check's time."""
    defaults = PasswordHasher()
    made = passwords.hash_password("a password of some length")
    assert made.startswith("$argon2id$v=19$")
    assert not defaults.check_needs_rehash(made)
    assert not passwords.needs_rehash(passwords.DUMMY_HASH)
    assert (defaults.time_cost, defaults.memory_cost) >= (3, 65536)
    assert passwords.verify(made, "a password of some length") is True
    assert passwords.verify(made, "a password of some length!") is False
    assert passwords.verify(None, "a password of some length") is False
    assert passwords.verify("not a hash", "x") is False


def test_the_stored_hash_is_argon2id_and_the_password_is_nowhere_in_the_file(
    db: str, actor: Actor
) -> None:
    accounts.add_user(actor, "alice", "admin", PASSWORD)
    alice = auth.log_in("alice", PASSWORD)
    accounts.add_user(alice, "bob", "sales", PASSWORD + " too")
    accounts.set_password(alice, "bob", "bob's second one")
    stored = [r.password_hash for r in m.User.select().where(m.User.password_hash.is_null(False))]
    assert len(stored) == 2 and all(h.startswith("$argon2id$") for h in stored)
    if store_db.is_postgres():
        values = m.User.select().tuples()
        assert not any(PASSWORD in str(value) for value in values)
        return
    files = [Path(db), Path(db + "-wal")]
    assert files[1].stat().st_size > 0  # what was written is in the WAL: both are searched
    for path in files:
        data = path.read_bytes()
        for secret in (PASSWORD, "bob's second one", "Geheim", "密码"):
            assert secret.encode() not in data, (path.name, secret)
            assert secret.encode("utf-16-le") not in data, (path.name, secret)


@pytest.mark.usefixtures("quick_hashes")
def test_one_message_for_every_refusal_and_one_hash_check_each(
    admin: Actor, make_actor: Callable[..., Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.add_user(admin, "bob", "sales", PASSWORD)
    accounts.add_user(admin, "gone", "sales", PASSWORD)
    accounts.set_active(admin, "gone", False)
    accounts.add_user(admin, "locked", "sales", PASSWORD)
    m.User.update(locked_until=NOW + dt.timedelta(minutes=5)).where(
        m.User.name == "locked"
    ).execute()
    make_actor("nopass", "sales")
    checks: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
            checks.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(
        passwords, "_hasher", CountingHasher(time_cost=1, memory_cost=8, parallelism=1)
    )

    messages = {
        "unknown user": refusal("nobody", PASSWORD),
        "wrong password": refusal("bob", PASSWORD + "x"),
        "locked, right password": refusal("locked", PASSWORD),
        "disabled, right password": refusal("gone", PASSWORD),
        "no password": refusal("nopass", ""),
    }
    assert set(messages.values()) == {
        "login failed: wrong user name, password or code, or the account is locked or "
        "disabled (after 5 failures in a row it is locked for a while)"
    }
    # Each attempt verified one hash, the dummy's where the user has none.
    assert len(checks) == len(messages)
    assert checks[0] == checks[-1] == passwords.DUMMY_HASH
    # Only the wrong password counts towards a lock-out.
    assert [row(n).failed_logins for n in ("bob", "locked", "gone")] == [1, 0, 0]


@pytest.mark.usefixtures("quick_hashes")
def test_the_lock_out_grows_and_holds_across_processes(db: str, admin: Actor, clock: Clock) -> None:
    accounts.add_user(admin, "bob", "sales", PASSWORD)
    for _attempt in range(auth.LOCK_AFTER - 1):
        refusal("bob", "wrong password")
    assert lock_state("bob") == (4, 0, None)
    assert auth.log_in("bob", PASSWORD).name == "bob"  # not locked yet: a success resets
    assert lock_state("bob") == (0, 0, None)

    for _attempt in range(auth.LOCK_AFTER):
        refusal("bob", "wrong password")
    first_lock = NOW + dt.timedelta(minutes=1)
    assert lock_state("bob") == (0, 1, first_lock)
    # The lock is in the database: another connection (another process) finds it.
    store_db.close_database()
    store_db.open_database(db)
    assert listed(admin, "bob").locked_until == first_lock
    clock.now = NOW + dt.timedelta(seconds=59)
    refusal("bob", PASSWORD)  # locked: even the right password is refused …
    refusal("bob", "wrong again")
    assert lock_state("bob") == (0, 1, first_lock)  # … and attempts while locked do not count

    # Each failure after a lock locks again, for twice as long.
    expected = [2, 4, 8, 16, 32, 60, 60]
    for minutes in expected:
        clock.now = row("bob").locked_until
        refusal("bob", "wrong password")
        assert row("bob").locked_until == clock.now + dt.timedelta(minutes=minutes)
    assert row("bob").lock_level == 1 + len(expected)

    clock.now = row("bob").locked_until
    assert auth.log_in("bob", PASSWORD).name == "bob"
    assert lock_state("bob") == (0, 0, None)  # a login forgives the past
    refusal("bob", "wrong password")
    assert lock_state("bob") == (1, 0, None)


@pytest.mark.usefixtures("quick_hashes")
def test_an_admin_unlocks_at_once(admin: Actor, clock: Clock) -> None:
    accounts.add_user(admin, "bob", "sales", PASSWORD)
    for _attempt in range(auth.LOCK_AFTER):
        refusal("bob", "wrong password")
    assert listed(admin, "bob").locked_until == NOW + dt.timedelta(minutes=1)
    unlocked = accounts.unlock(admin, "bob")
    assert (unlocked.locked_until, unlocked.failed_logins) == (None, 0)
    assert lock_state("bob") == (0, 0, None)
    assert auth.log_in("bob", PASSWORD).name == "bob"


def test_lock_lengths_double_up_to_an_hour() -> None:
    assert [auth.lock_length(n).total_seconds() / 60 for n in (1, 2, 3, 6, 7, 50, 10**6)] == [
        1,
        2,
        4,
        32,
        60,
        60,
        60,
    ]


def test_a_weaker_hash_is_upgraded_at_login(admin: Actor) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    m.User.update(password_hash=weak).where(m.User.name == "alice").execute()
    refusal("alice", PASSWORD + "!")
    assert row("alice").password_hash == weak  # a wrong password changes nothing
    auth.log_in("alice", PASSWORD)
    upgraded = row("alice").password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not passwords.needs_rehash(upgraded)
    auth.log_in("alice", PASSWORD)
    assert row("alice").password_hash == upgraded  # hashed anew only when weaker


@pytest.mark.usefixtures("quick_hashes")
def test_logins_lockouts_and_role_changes_are_audited_without_secrets(
    admin: Actor, clock: Clock
) -> None:
    accounts.add_user(admin, "bob", "sales", PASSWORD)
    refusal("nobody-" + PASSWORD, "guess")  # a password typed into the name field
    for _ in range(auth.LOCK_AFTER):
        refusal("bob", "wrong guess")
    accounts.set_role(admin, "bob", "manager")
    rows = list(m.AuditEntry.select().order_by(m.AuditEntry.seq))
    seen = [(r.user_name, r.action, r.result, r.detail) for r in rows]
    bob = row("bob").id
    assert ("alice", "login", "ok", "") in seen
    assert ("", "login", "failed", "unknown user") in seen
    assert seen.count(("bob", "login", "failed", "wrong password")) == auth.LOCK_AFTER
    assert ("bob", "lockout", "locked", "") in seen
    assert ("alice", "user.role", "ok", "bob: sales → manager") in seen
    assert [r.target for r in rows if r.action == "lockout"] == [f"user:{bob}"]
    written = " ".join(f"{r.user_name} {r.target} {r.detail}" for r in rows)
    assert PASSWORD not in written and "wrong guess" not in written and "nobody" not in written
