"""Logging in: a user name, a password and, when the user has turned it on, a TOTP code.

Every refusal reads the same (`LoginFailedError`) and takes the same time: an unknown user,
a user without a password, a disabled or locked account, a wrong password or code. Failed
logins are counted in the user's row, so a lock-out holds across processes: after
`LOCK_AFTER` failures in a row the account is locked for `FIRST_LOCK`, and each failure after
a lock, until a login succeeds, locks it again for twice as long as the last, at most
`LONGEST_LOCK`. Attempts while locked are refused without being counted. An admin ends a
lock with `accounts.unlock`.
"""

import datetime as dt
import enum
from dataclasses import dataclass

from crmtui.i18n import _
from crmtui.store import audit, passwords, totp
from crmtui.store import models as m
from crmtui.store.db import write_transaction
from crmtui.store.errors import StoreError
from crmtui.store.types import Actor

LOCK_AFTER = 5
FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(hours=1)


class LoginFailedError(StoreError):
    """The one message for every refused login: it does not tell which part was wrong."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "login failed: wrong user name, password or code, or the account is locked "
                "or disabled (after {count} failures in a row it is locked for a while)"
            ).format(count=LOCK_AFTER)
        )


class CodeRequiredError(StoreError):
    """The password was right and the user has two-step verification: ask for its code."""

    def __init__(self) -> None:
        super().__init__(_("enter the code your authenticator app shows for crmtui"))


class Outcome(enum.Enum):
    OK = "ok"
    UNKNOWN_USER = "unknown user"
    NO_PASSWORD = "no password"
    DISABLED = "disabled"
    LOCKED = "locked"
    WRONG_PASSWORD = "wrong password"
    WRONG_CODE = "wrong code"
    REUSED_CODE = "code used before"


# The failures that count towards a lock-out: guesses at a secret of an account that can log in.
_COUNTED = frozenset({Outcome.WRONG_PASSWORD, Outcome.WRONG_CODE, Outcome.REUSED_CODE})


@dataclass(frozen=True)
class _Attempt:
    row: m.User | None
    outcome: Outcome
    at: dt.datetime
    step: int | None = None  # the TOTP step of the code given
    new_hash: str | None = None  # the password hashed anew, when the old hash is weaker


def lock_length(level: int) -> dt.timedelta:
    """How long the `level`-th lock since the last successful login lasts."""
    return min(FIRST_LOCK * 2 ** min(level - 1, 20), LONGEST_LOCK)


def log_in(name: str, password: str, code: str | None = None) -> Actor:
    """The actor `name` when the password (and the code, with two-step verification) is right.

    Raises LoginFailedError, or CodeRequiredError when the password is right, the user has
    two-step verification and `code` is None (ask for it, then call again with it).
    """
    name = name.strip()
    row = m.User.get_or_none(m.User.name == name)
    now = m.utcnow()
    # Verified first, whatever the row: every attempt takes one argon2 verification.
    password_ok = passwords.verify(row.password_hash if row else None, password)
    if row is None:
        return _settle(_Attempt(row, Outcome.UNKNOWN_USER, now))
    if row.password_hash is None:
        return _settle(_Attempt(row, Outcome.NO_PASSWORD, now))
    if not row.active:
        return _settle(_Attempt(row, Outcome.DISABLED, now))
    if row.locked_until is not None and row.locked_until > now:
        return _settle(_Attempt(row, Outcome.LOCKED, now))
    if not password_ok:
        return _settle(_Attempt(row, Outcome.WRONG_PASSWORD, now))
    step = None
    if row.totp_secret is not None:
        if code is None:
            raise CodeRequiredError()
        step = totp.matching_step(row.totp_secret, code, now)
        if step is None:
            return _settle(_Attempt(row, Outcome.WRONG_CODE, now))
    new_hash = (
        passwords.hash_password(password) if passwords.needs_rehash(row.password_hash) else None
    )
    return _settle(_Attempt(row, Outcome.OK, now, step, new_hash))


def _settle(attempt: _Attempt) -> Actor:
    """Record how a login attempt ended, and end it: the one place every attempt passes
    (so the audit log's row for a login, ok or failed, and for a lock-out, goes here)."""
    outcome = attempt.outcome
    row = attempt.row
    locked = False
    with write_transaction():
        if outcome is Outcome.OK and attempt.step is not None and not _use_step(row, attempt.step):
            outcome = Outcome.REUSED_CODE
        if outcome is Outcome.OK:
            changes: dict[str, object] = {"failed_logins": 0, "lock_level": 0, "locked_until": None}
            if attempt.new_hash is not None:
                changes["password_hash"] = attempt.new_hash
            m.User.update(**changes).where(m.User.id == row.id).execute()
        elif outcome in _COUNTED:
            locked = _count_failure(row, attempt.at)
        # An unknown name is recorded as no one: what was typed may be a password typed into
        # the name field. The outcome is named for admins; the person trying is told nothing.
        who = None if row is None else Actor(id=row.id, name=row.name, role=row.role)
        result = "ok" if outcome is Outcome.OK else "failed"
        audit.record(
            who, "login", detail="" if outcome is Outcome.OK else outcome.value, result=result
        )
        if locked:
            audit.record(who, "lockout", target=f"user:{row.id}", result="locked")
    if outcome is not Outcome.OK:
        raise LoginFailedError()
    return Actor(id=row.id, name=row.name, role=row.role)


def _use_step(row: m.User, step: int) -> bool:
    """Mark the TOTP step used; False when it, or a later one, was used already.

    One conditional update, so two processes given the same code cannot both accept it.
    """
    newer = m.User.totp_last_step.is_null() | (m.User.totp_last_step < step)
    used = m.User.update(totp_last_step=step).where((m.User.id == row.id) & newer).execute()
    return used == 1


def _count_failure(row: m.User, now: dt.datetime) -> bool:
    """Count a failed login; True if it locked the account."""
    # Counted in the database (failed + 1), not from the row read before the password was
    # checked: failures made by other processes meanwhile count too.
    failed = m.User.failed_logins + 1
    m.User.update(failed_logins=failed).where(m.User.id == row.id).execute()
    counts = m.User.select(m.User.failed_logins, m.User.lock_level).where(m.User.id == row.id)
    failed_logins, lock_level = counts.tuples().get()
    if failed_logins >= LOCK_AFTER or lock_level > 0:
        level = lock_level + 1
        m.User.update(
            failed_logins=0, lock_level=level, locked_until=now + lock_length(level)
        ).where(m.User.id == row.id).execute()
        return True
    return False
