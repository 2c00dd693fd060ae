"""Users and the acting user of single-user mode."""

import getpass
from collections.abc import Callable

import pytest

from crmtui.store import models as m
from crmtui.store import users
from crmtui.store.errors import StoreError, ValidationError
from crmtui.store.types import Actor


def test_local_actor_is_an_admin_made_once(db: str) -> None:
    first = users.local_actor()
    again = users.local_actor()
    assert first == again
    assert (first.name, first.role) == (getpass.getuser(), "admin")
    assert m.User.select().count() == 1
    m.User.update(active=False).where(m.User.id == first.id).execute()
    with pytest.raises(StoreError, match=f"user {first.name} is disabled"):
        users.local_actor()


def test_users_listed_created_and_looked_up(actor: Actor, make_actor: Callable[..., Actor]) -> None:
    make_actor("gone", "sales", active=False)
    ids = users.ensure_users([("wang", "王芳", "sales"), ("gone", "X", "admin")])
    assert set(ids) == {"wang", "gone"}
    again = users.ensure_users([("wang", "Someone else", "admin")])
    assert again == {"wang": ids["wang"]}
    listed = users.list_users(actor)
    assert [u.name for u in listed] == sorted(["wang", "gone", actor.name])
    wang = next(u for u in listed if u.name == "wang")
    assert (wang.full_name, wang.role, wang.active) == ("王芳", "sales", True)
    gone = next(u for u in listed if u.name == "gone")
    assert (gone.role, gone.active) == ("sales", False)  # existing users are left alone
    assert users.user_id_by_name(" wang ", field="owner") == ids["wang"]
    with pytest.raises(ValidationError, match="assignee: no active user named 'gone'"):
        users.user_id_by_name("gone", field="assignee")
    assert users.user_names({ids["wang"], actor.id}) == {ids["wang"]: "wang", actor.id: actor.name}
    assert users.user_names(set()) == {}
