"""Users and the acting user. Logins are `auth`'s; adding and changing users, `accounts`'."""

import getpass

from crmtui.i18n import _
from crmtui.store import models as m
from crmtui.store.db import write_transaction
from crmtui.store.errors import StoreError, ValidationError
from crmtui.store.permissions import USER_READ, authorize
from crmtui.store.types import Actor, User


def _as_actor(row: m.User) -> Actor:
    return Actor(id=row.id, name=row.name, role=row.role)


def as_user(row: m.User) -> User:
    return User(
        row.id,
        row.version,
        row.name,
        row.full_name,
        row.role,
        row.active,
        has_password=row.password_hash is not None,
        two_step=row.totp_secret is not None,
        failed_logins=row.failed_logins,
        # A lock that has run out is no lock: only a current one is shown.
        locked_until=(
            row.locked_until
            if row.locked_until is not None and row.locked_until > m.utcnow()
            else None
        ),
    )


class LoginRequiredError(StoreError):
    """Users with passwords exist: whoever acts must log in (single-user mode is over)."""

    def __init__(self) -> None:
        super().__init__(_("this database has users with passwords: log in first"))


def login_required() -> bool:
    """Whether any user has a password: then every interface asks who is there."""
    return m.User.select().where(m.User.password_hash.is_null(False)).exists()


def local_actor() -> Actor:
    """The single-user-mode actor: the operating-system user, an admin of their own file.

    Refused once any user has a password: from then on only a login names the actor.
    """
    if login_required():
        raise LoginRequiredError()
    name = getpass.getuser() or "local"
    row = m.User.get_or_none(m.User.name == name)
    if row is None:
        with write_transaction():
            row, _created = m.User.get_or_create(name=name, defaults={"role": "admin"})
    if not row.active:
        raise StoreError(_("user {name} is disabled").format(name=name))
    return _as_actor(row)


def list_users(actor: Actor) -> list[User]:
    authorize(actor, USER_READ)
    return [as_user(row) for row in m.User.select().order_by(m.User.name)]


def user_id_by_name(name: str, *, field: str) -> int:
    """The id of the active user called `name`, or a validation error naming `field`."""
    row = m.User.get_or_none((m.User.name == name.strip()) & (m.User.active == True))  # noqa: E712
    if row is None:
        raise ValidationError.single(field, _("no active user named {name!r}").format(name=name))
    return row.id


def user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = m.User.select(m.User.id, m.User.name).where(m.User.id.in_(list(ids)))
    return {row.id: row.name for row in query}


def ensure_users(names_and_roles: list[tuple[str, str, str]]) -> dict[str, int]:
    """Create the users (name, full name, role) that do not exist yet; return name -> id."""
    with write_transaction():
        for name, full_name, role in names_and_roles:
            m.User.get_or_create(name=name, defaults={"full_name": full_name, "role": role})
        names = [n for n, _f, _r in names_and_roles]
        return {row.name: row.id for row in m.User.select().where(m.User.name.in_(names))}
