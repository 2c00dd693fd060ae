"""Table views on both backends: each user's hidden columns and saved views, kept across
restarts, private to the user, and open to every role that reads customers."""

from collections.abc import Callable

import pytest

from crmtui.store import db as store_db
from crmtui.store import views
from crmtui.store.errors import NotFoundError, PermissionDeniedError, ValidationError
from crmtui.store.permissions import CUSTOMER_READ, ROLE_PERMISSIONS, VIEW_KEEP
from crmtui.store.types import Actor, CustomerQuery

from .conftest import Counts

VIP = CustomerQuery(stage="active", tag="vip", owner="wang", key_account=True, sort="owner")


def test_hidden_columns_are_kept_per_user_across_restarts(
    db: str, actor: Actor, make_actor: Callable[..., Actor]
) -> None:
    other = make_actor("wang", "sales")
    assert views.hidden_columns(actor) is None  # never chose: the table's defaults apply
    assert views.set_hidden_columns(actor, ["company", "tags", "company", " "]) == (
        "company",
        "tags",
    )
    assert views.set_hidden_columns(other, []) == ()
    store_db.close_database()
    store_db.open_database(db)
    assert views.hidden_columns(actor) == ("company", "tags")
    assert views.hidden_columns(other) == ()
    assert views.list_views(actor) == []  # the remembered columns are not a saved view


def test_save_list_replace_and_delete_views(
    actor: Actor, make_actor: Callable[..., Actor], counts: Counts
) -> None:
    other = make_actor("wang", "sales")
    saved = views.save_view(actor, "  My  VIPs ", VIP, ["email"])
    assert (saved.name, saved.query, saved.hidden) == ("My VIPs", VIP, ("email",))
    views.save_view(actor, "Active", CustomerQuery(stage="active"), [])
    views.save_view(other, "Theirs", CustomerQuery(), [])
    assert [(v.name, v.query, v.hidden) for v in views.list_views(actor)] == [
        ("Active", CustomerQuery(stage="active"), ()),
        ("My VIPs", VIP, ("email",)),
    ]
    # Saving under a name in use replaces that view.
    again = views.save_view(actor, "My VIPs", CustomerQuery(search="张"), [])
    assert again.id == saved.id
    assert views.list_views(actor)[1].query == CustomerQuery(search="张")

    theirs = views.list_views(other)[0]
    before = counts()
    with pytest.raises(NotFoundError):
        views.delete_view(actor, theirs.id)  # nobody deletes another user's view
    assert counts() == before
    views.delete_view(actor, saved.id)
    assert [v.name for v in views.list_views(actor)] == ["Active"]
    assert [v.name for v in views.list_views(other)] == ["Theirs"]


@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("  ", CustomerQuery(), "name: must not be empty"),
        ("x" * 101, CustomerQuery(), "name: is longer than 100 characters"),
        ("bad sort", CustomerQuery(sort="notes"), "sort: cannot sort by 'notes'"),
        ("bad stage", CustomerQuery(stage="won"), "stage: no stage 'won'"),
    ],
)
def test_bad_views_are_refused(
    actor: Actor, counts: Counts, name: str, query: CustomerQuery, message: str
) -> None:
    before = counts()
    with pytest.raises(ValidationError, match=message):
        views.save_view(actor, name, query, [])
    assert counts() == before


def test_every_role_that_reads_customers_keeps_views(
    make_actor: Callable[..., Actor], counts: Counts
) -> None:
    readers = [role for role, granted in ROLE_PERMISSIONS.items() if CUSTOMER_READ in granted]
    assert set(readers) == set(ROLE_PERMISSIONS)
    for role in readers:
        assert VIEW_KEEP in ROLE_PERMISSIONS[role]
        user = make_actor(f"user-{role}", role)
        views.save_view(user, "mine", CustomerQuery(), ["email"])
        assert views.hidden_columns(user) is None
    stranger = Actor(id=0, name="ghost", role="nobody")
    before = counts()
    with pytest.raises(PermissionDeniedError, match="ghost may not keep table views"):
        views.save_view(stranger, "x", CustomerQuery(), [])
    assert counts() == before
