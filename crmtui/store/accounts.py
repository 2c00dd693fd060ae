"""User administration: adding users, their passwords, roles, locks and two-step verification.

Managing others takes USER_ADMIN (admins only); one's own password and two-step verification
take ACCOUNT_SELF (everyone). Two rules keep a database from locking everybody out: the first
user given a password must be an admin (the one who then adds the others), and the last
active admin who can log in cannot be disabled or given another role.
"""

import re

from crmtui.i18n import _
from crmtui.store import audit, passwords, totp
from crmtui.store import models as m
from crmtui.store.db import write_transaction
from crmtui.store.errors import StoreError, ValidationError
from crmtui.store.permissions import ACCOUNT_SELF, USER_ADMIN, authorize
from crmtui.store.types import Actor, TwoStepSetup, User
from crmtui.store.users import as_user, login_required
from crmtui.store.vocabulary import ROLES

NAME_MAX = 64
_NAME = re.compile(r"[^\s\x00-\x1f\x7f]+")  # one word, no control characters


def _check_name(name: str) -> str:
    name = name.strip()
    if not _NAME.fullmatch(name) or len(name) > NAME_MAX:
        raise ValidationError.single(
            "name",
            _("a user name is one word of at most {max} characters, without spaces").format(
                max=NAME_MAX
            ),
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError.single(
            "role",
            _("{role!r} is not a role; the roles are {roles}").format(
                role=role, roles=", ".join(ROLES)
            ),
        )
    return role


def _row(name: str) -> m.User:
    row = m.User.get_or_none(m.User.name == name.strip())
    if row is None:
        raise ValidationError.single("name", _("no user named {name!r}").format(name=name))
    return row


def _authorize_for(actor: Actor, row: m.User) -> None:
    """One's own account takes ACCOUNT_SELF; anyone else's, USER_ADMIN."""
    authorize(actor, ACCOUNT_SELF if row.id == actor.id else USER_ADMIN)


def _first_login_is_an_admin(role: str) -> None:
    if role != "admin" and not login_required():
        raise ValidationError.single(
            "role",
            _(
                "the first user with a password must be an admin (who then adds the others); "
                "give this one the role admin"
            ),
        )


def _keep_an_admin(row: m.User) -> None:
    """Refuse to take away the last active admin who can log in."""
    if not (row.role == "admin" and row.active and row.password_hash is not None):
        return
    others = m.User.select().where(
        (m.User.role == "admin")
        & (m.User.active == True)  # noqa: E712
        & m.User.password_hash.is_null(False)
        & (m.User.id != row.id)
    )
    if not others.exists():
        raise StoreError(
            _(
                "{name} is the last active admin who can log in; make another user admin first"
            ).format(name=row.name)
        )


def _save(actor: Actor, action: str, row: m.User, detail: str = "", **changes: object) -> User:
    """Change the user's row, with its audit row (`detail` never holds a secret)."""
    changes["version"] = m.User.version + 1
    m.User.update(**changes).where(m.User.id == row.id).execute()
    audit.record(actor, action, target=f"user:{row.id}", detail=detail or row.name)
    return as_user(m.User.get_by_id(row.id))


def check_new_user(actor: Actor, name: str, role: str) -> None:
    """Refuse a user `add_user` would refuse whatever the password (so that an interface can
    say so before asking for one)."""
    authorize(actor, USER_ADMIN)
    name, role = _check_name(name), _check_role(role)
    _first_login_is_an_admin(role)
    existing = m.User.get_or_none(m.User.name == name)
    if existing is not None:
        hint = (
            _("user {name} exists already")
            if existing.password_hash is not None
            else _("user {name} exists already, without a password: set one instead")
        )
        raise ValidationError.single("name", hint.format(name=name))


def add_user(actor: Actor, name: str, role: str, password: str, *, full_name: str = "") -> User:
    """A new user who logs in with `password` (which must meet `passwords.rules()`)."""
    check_new_user(actor, name, role)
    name = name.strip()
    passwords.check_rules(password, name)
    password_hash = passwords.hash_password(password)  # slow: before the write lock
    with write_transaction():
        check_new_user(actor, name, role)  # again: another process may have added it meanwhile
        row = m.User.create(
            name=name, role=role, full_name=full_name.strip(), password_hash=password_hash
        )
        audit.record(actor, "user.add", target=f"user:{row.id}", detail=f"{name} ({role})")
        return as_user(row)


def set_password(actor: Actor, name: str, password: str) -> User:
    """Give the user `name` a new password (its own, or anyone's for an admin)."""
    row = _row(name)
    _authorize_for(actor, row)
    passwords.check_rules(password, row.name)
    password_hash = passwords.hash_password(password)
    with write_transaction():
        row = _row(name)
        if row.password_hash is None:
            _first_login_is_an_admin(row.role)
        return _save(actor, "user.password", row, password_hash=password_hash)


def set_role(actor: Actor, name: str, role: str) -> User:
    authorize(actor, USER_ADMIN)
    role = _check_role(role)
    with write_transaction():
        row = _row(name)
        if role != row.role:
            _keep_an_admin(row)
        return _save(actor, "user.role", row, f"{row.name}: {row.role} → {role}", role=role)


def set_active(actor: Actor, name: str, active: bool) -> User:
    """Disable a user (who can no longer log in or be given customers) or enable it again."""
    authorize(actor, USER_ADMIN)
    with write_transaction():
        row = _row(name)
        if not active:
            _keep_an_admin(row)
        return _save(actor, "user.enable" if active else "user.disable", row, active=active)


def unlock(actor: Actor, name: str) -> User:
    """End the user's lock-out at once, and forget its failed logins."""
    authorize(actor, USER_ADMIN)
    with write_transaction():
        return _save(
            actor, "user.unlock", _row(name), failed_logins=0, lock_level=0, locked_until=None
        )


def _check_two_step_can_start(row: m.User) -> None:
    if row.password_hash is None:
        raise StoreError(
            _("{name} has no password; set one before two-step verification").format(name=row.name)
        )
    if row.totp_secret is not None:
        raise StoreError(
            _("two-step verification is on for {name} already; turn it off first").format(
                name=row.name
            )
        )


def start_two_step(actor: Actor, name: str) -> TwoStepSetup:
    """A new secret for the user's authenticator app; `enable_two_step` turns it on.

    Nothing is stored yet: a user who never confirms a code keeps logging in as before.
    """
    row = _row(name)
    _authorize_for(actor, row)
    _check_two_step_can_start(row)
    secret = totp.new_secret()
    return TwoStepSetup(row.name, secret, totp.provisioning_uri(secret, row.name))


def enable_two_step(actor: Actor, name: str, secret: str, code: str) -> User:
    """Turn on two-step verification with `secret`, once `code` shows the user's app has it.

    The confirming code's step counts as used: it cannot then log in.
    """
    row = _row(name)
    _authorize_for(actor, row)
    with write_transaction():
        row = _row(name)
        _check_two_step_can_start(row)
        step = totp.matching_step(secret, code, m.utcnow())
        if step is None:
            raise ValidationError.single(
                "code", _("that is not the code the app shows now; nothing was changed")
            )
        return _save(actor, "user.two_step_on", row, totp_secret=secret, totp_last_step=step)


def disable_two_step(actor: Actor, name: str) -> User:
    """Turn off two-step verification (its own, or anyone's for an admin: a lost phone)."""
    row = _row(name)
    _authorize_for(actor, row)
    with write_transaction():
        return _save(actor, "user.two_step_off", _row(name), totp_secret=None, totp_last_step=None)
