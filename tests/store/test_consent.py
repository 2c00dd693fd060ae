"""Consent to marketing is recorded with its date and source, and can be withdrawn (SPEC F9,
issue 7): the store keeps the record whichever screen, command or import changes it."""

import datetime as dt

import pytest

from crmtui.store import customers, imports, scope
from crmtui.store.errors import ValidationError
from crmtui.store.imports import SourceRow
from crmtui.store.types import Actor

from .conftest import Counts


def test_consent_given_needs_a_source_and_is_dated_today(db: str, actor: Actor) -> None:
    added = customers.add_customer(
        actor, {"name": "张伟", "marketing_consent": True, "consent_source": "官网表单"}
    )
    assert (added.marketing_consent, added.consent_date, added.consent_source) == (
        True,
        dt.date.today(),
        "官网表单",
    )
    assert added.consent_withdrawn_on is None


def test_consent_without_a_source_is_refused_and_nothing_is_saved(
    db: str, actor: Actor, counts: Counts
) -> None:
    before = counts()
    with pytest.raises(ValidationError, match="consent_source: say where"):
        customers.add_customer(actor, {"name": "张伟", "marketing_consent": True})
    customer = customers.add_customer(actor, {"name": "李娜"})
    after_add = counts()
    with pytest.raises(ValidationError, match="consent_source"):
        customers.update_customer(actor, customer.id, {"marketing_consent": True}, None)
    assert counts() == after_add
    assert after_add["Customer"] == before["Customer"] + 1


def test_withdrawal_is_dated_and_keeps_when_and_where_it_was_given(db: str, actor: Actor) -> None:
    given = customers.add_customer(
        actor,
        {
            "name": "张伟",
            "phone": "13812345678",
            "marketing_consent": True,
            "consent_source": "电话确认",
            "consent_date": "2025-03-05",
        },
    )
    withdrawn = customers.update_customer(
        actor, given.id, {"marketing_consent": False}, given.version
    )
    assert (withdrawn.marketing_consent, withdrawn.consent_withdrawn_on) == (False, dt.date.today())
    assert (withdrawn.consent_date, withdrawn.consent_source) == (dt.date(2025, 3, 5), "电话确认")
    # Withdrawn, the customer's contacts are masked for marketing again.
    marketing = Actor(0, "mkt", "marketing")
    assert scope.shown(marketing, withdrawn).phone != withdrawn.phone
    again = customers.update_customer(
        actor,
        given.id,
        {"marketing_consent": True, "consent_source": "展会登记"},
        withdrawn.version,
    )
    assert (again.consent_source, again.consent_date, again.consent_withdrawn_on) == (
        "展会登记",
        dt.date.today(),
        None,
    )


def test_an_imported_consent_names_its_file_when_the_sheet_does_not(db: str, actor: Actor) -> None:
    rows = [
        SourceRow(2, {"name": "张伟", "marketing_consent": "是"}),
        SourceRow(3, {"name": "李娜", "marketing_consent": "是", "consent_source": "门店"}),
    ]
    summary = imports.import_customers(actor, rows, source="客户表.csv")
    assert summary.created == 2
    page = customers.list_customers(actor, customers.EVERYONE)
    sources = {c.name: (c.consent_source, c.consent_date) for c in page.rows}
    assert sources == {
        "张伟": ("import of 客户表.csv", dt.date.today()),
        "李娜": ("门店", dt.date.today()),
    }
