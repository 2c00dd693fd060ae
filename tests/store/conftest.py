"""Fixtures for the store tests: row counts (to prove a refused write wrote nothing), extra
users, and a customer to hang records on. The databases themselves come from tests/conftest.py.
"""

from collections.abc import Callable

import pytest

from crmtui.store import customers
from crmtui.store import models as m
from crmtui.store.types import Actor, Customer

Counts = Callable[[], dict[str, int]]


def _table_counts() -> dict[str, int]:
    found = {model.__name__: model.select().count() for model in m.ALL_MODELS}
    # A refusal's own audit row is what a refused call writes; the counts prove nothing else.
    refused = m.AuditEntry.select().where(m.AuditEntry.result == "refused").count()
    found["AuditEntry"] -= refused
    return found


def refused_rows() -> list[tuple[str, str]]:
    """(user, action) of each refused act in the audit log, oldest first."""
    rows = m.AuditEntry.select().where(m.AuditEntry.result == "refused").order_by(m.AuditEntry.seq)
    return [(row.user_name, row.action) for row in rows]


@pytest.fixture
def counts(db: str) -> Counts:
    """A function returning the number of rows of every table, history included, the audit
    rows of refused acts left out (see `refused_rows`)."""
    return _table_counts


@pytest.fixture
def make_actor(db: str) -> Callable[..., Actor]:
    """Create a user row with a role and return it as an acting user."""

    def make(name: str, role: str, *, active: bool = True) -> Actor:
        row = m.User.create(name=name, role=role, active=active)
        return Actor(row.id, row.name, role)

    return make


@pytest.fixture
def customer(actor: Actor) -> Customer:
    return customers.add_customer(actor, {"name": "张伟", "company": "北京星河科技有限公司"})
